#include "pki/openssl.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "util/error_codes.h"

namespace llavero::ossl {

bool push_shared(STACK_OF(X509) * stack, const X509* cert) {
  if (X509_up_ref(const_cast<X509*>(cert)) != 1) return false;
  X509Ptr reference(const_cast<X509*>(cert));
  if (sk_X509_push(stack, reference.get()) <= 0) return false;
  reference.release();  // the stack owns it now
  return true;
}

std::string last_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "sin detalle";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

Error internal_error(std::string_view what) {
  return make_error(errc::kErrorInterno,
                    fmt::format("Error interno de criptografía ({}): {}", what, last_error()));
}

Result<Bytes> x509_to_der(const X509& cert) {
  int len = i2d_X509(&cert, nullptr);
  if (len <= 0) return internal_error("codificar certificado");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509(&cert, &p);
  return der;
}

Result<X509Ptr> x509_from_der(const Bytes& der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) return internal_error("leer certificado DER");
  return cert;
}

Result<std::string> x509_to_pem(const X509& cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), &cert) != 1) return internal_error("escribir PEM");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<X509Ptr> x509_from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return internal_error("leer certificado PEM");
  return cert;
}

Result<std::string> private_key_to_encrypted_pem(const EVP_PKEY& key,
                                                 const SecretString& passphrase) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), &key, EVP_aes_256_cbc(), passphrase.c_str(),
                                    static_cast<int>(passphrase.size()), nullptr, nullptr) != 1)
    return internal_error("cifrar llave privada");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

Result<PKey> private_key_from_encrypted_pem(std::string_view pem, const SecretString& passphrase) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  // The passphrase goes in as the callback's user data; a NULL callback makes
  // OpenSSL use it as the password string.
  PKey key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, const_cast<char*>(passphrase.c_str())));
  if (!key) {
    ERR_clear_error();
    return make_error(errc::kFraseIncorrecta,
                      "La frase de paso de las llaves de las CA es incorrecta "
                      "(revise LLAVERO_CA_PASSPHRASE o el archivo de frase de paso).");
  }
  return key;
}

Result<PKey> generate_rsa(int bits) {
  PKeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1)
    return internal_error("preparar RSA");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) return internal_error("generar RSA");
  return PKey(raw);
}

Result<PKey> share_key(const EVP_PKEY& key) {
  EVP_PKEY* raw = const_cast<EVP_PKEY*>(&key);
  if (EVP_PKEY_up_ref(raw) != 1) return internal_error("referencia a la llave");
  return PKey(raw);
}

std::string subject_line(const X509& cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), X509_get_subject_name(&cert), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string serial_hex(const X509& cert) {
  Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(&cert), nullptr));
  OpensslString hex(BN_bn2hex(bn.get()));
  return std::string(hex.get());
}

}  // namespace llavero::ossl
