// RAII owners for the OpenSSL handles llavero uses, and the few helpers that
// turn OpenSSL's error queue and encodings into our types. Every OpenSSL
// object in the project is held by one of these; nothing calls *_free by hand.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/hash.h"
#include "util/result.h"
#include "util/secret.h"

namespace llavero::ossl {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using Bio = Owned<BIO, BIO_free_all>;
using Bignum = Owned<BIGNUM, BN_free>;
using PKey = Owned<EVP_PKEY, EVP_PKEY_free>;
using PKeyCtx = Owned<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using X509Ptr = Owned<X509, X509_free>;
using X509Name = Owned<X509_NAME, X509_NAME_free>;
using X509Ext = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using Asn1Integer = Owned<ASN1_INTEGER, ASN1_INTEGER_free>;
using Pkcs12 = Owned<PKCS12, PKCS12_free>;
using X509Store = Owned<X509_STORE, X509_STORE_free>;
using X509StoreCtx = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509Crl = Owned<X509_CRL, X509_CRL_free>;
using OcspResponse = Owned<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicResponse = Owned<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertId = Owned<OCSP_CERTID, OCSP_CERTID_free>;
using CrlDistPoints = Owned<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;
using Asn1Enumerated = Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;

inline void free_openssl_string(char* s) {
  OPENSSL_free(s);
}
using OpensslString = Owned<char, free_openssl_string>;

inline void free_x509_stack(STACK_OF(X509) * s) {
  sk_X509_pop_free(s, X509_free);
}
using X509Stack = Owned<STACK_OF(X509), free_x509_stack>;
// The OCSP URLs of a certificate, as X509_get1_ocsp returns them.
using UrlStack = Owned<STACK_OF(OPENSSL_STRING), X509_email_free>;

// Pushes another reference to `cert` onto `stack` (which then owns it).
// False, with nothing leaked, if OpenSSL refuses.
bool push_shared(STACK_OF(X509) * stack, const X509* cert);

// The oldest error on OpenSSL's queue as text (and the queue cleared).
std::string last_error();
// An Error carrying `message` and OpenSSL's reason, for faults that are not
// the user's (a failed allocation, a broken library).
Error internal_error(std::string_view what);

// Encodings.
Result<Bytes> x509_to_der(const X509& cert);
Result<X509Ptr> x509_from_der(const Bytes& der);
Result<std::string> x509_to_pem(const X509& cert);
Result<X509Ptr> x509_from_pem(std::string_view pem);

// A private key as PKCS#8 PEM encrypted with AES-256-CBC under `passphrase`
// (PBKDF2), and back. A wrong passphrase gives the error code "frase_incorrecta".
Result<std::string> private_key_to_encrypted_pem(const EVP_PKEY& key,
                                                 const SecretString& passphrase);
Result<PKey> private_key_from_encrypted_pem(std::string_view pem, const SecretString& passphrase);

// An RSA key of `bits` bits with e = 65537, from OpenSSL's CSPRNG.
Result<PKey> generate_rsa(int bits);
// Another owner of `key` (a reference, not a copy: a token's key stays in it).
Result<PKey> share_key(const EVP_PKEY& key);

// The subject as one RFC 4514 line, UTF-8 kept as it is ("CN=PEÑA,...").
std::string subject_line(const X509& cert);

// A certificate serial number as upper-case hex without leading zeros.
std::string serial_hex(const X509& cert);

}  // namespace llavero::ossl
