// Where the private keys that sign for the installation are made and kept:
// the CAs' (roots, issuing CAs), the OCSP responders', the token service's
// RS256 key and the MensajeHacienda seal's.
//
// A key comes back as an ossl::PKey whichever store made it: either the key
// itself, decrypted from the store with the CA passphrase (the default), or a
// handle whose every private operation runs inside a PKCS#11 token
// (pki/pkcs11.h). Everything that signs takes that EVP_PKEY (X509_sign,
// X509_CRL_sign, OCSP_basic_sign, EVP_DigestSign, xmlsec), so no signer knows
// or cares where its key lives.
//
// What the store database keeps for a key is its `reference`: the encrypted
// PEM for the passphrase store, a pkcs11: URI naming the token object for a
// token. A key opened from a token is only usable while its KeyStore lives.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "pki/openssl.h"
#include "util/secret.h"

namespace llavero {

// What a new key may do. A token enforces it (CKA_SIGN / CKA_DECRYPT); the
// passphrase store cannot.
enum class KeyUse { kSign, kDecrypt };

class KeyStore {
 public:
  struct NewKey {
    ossl::PKey key;         // ready to sign (or decrypt) with
    std::string reference;  // what to keep to open it again
  };

  virtual ~KeyStore() = default;

  // A fresh RSA key of `bits`. `label` names it in a token (CKA_LABEL), so an
  // operator listing the token sees what each object is for.
  // This is the key-generation hook for anything that makes a CA key
  // (init, a CA rollover).
  virtual Result<NewKey> generate_rsa(int bits, std::string_view label,
                                      KeyUse use = KeyUse::kSign) = 0;

  // The key a reference made by this kind of store names.
  // Errors: "frase_incorrecta" (passphrase store), "llave_no_encontrada".
  virtual Result<ossl::PKey> open(std::string_view reference) = 0;

  // True when private keys never leave a token.
  virtual bool in_token() const = 0;
  // For the operator (Spanish): "cifradas con la frase de paso", "en el token …".
  virtual std::string description() const = 0;
};

// Keys kept in the store, encrypted (AES-256, PKCS#8) with `passphrase`.
std::unique_ptr<KeyStore> passphrase_key_store(SecretString passphrase);

}  // namespace llavero
