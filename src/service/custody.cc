#include "service/custody.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "service/downloads.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

constexpr unsigned char kFileKekFormat = 1;   // [1][nonce][sealed]
constexpr unsigned char kTokenKekFormat = 2;  // [2][nonce][length:2][RSA-OAEP(data key)][sealed]
constexpr std::size_t kHeader = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kDataKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;

std::string associated_data(std::string_view serial_hex) {
  return fmt::format("llavero-custodia-v1:{}", serial_hex);
}

Error unusable() {
  return make_error(errc::kErrorInterno,
                    "La llave guardada para firmar automáticamente no se pudo abrir.");
}

// RSA-OAEP with SHA-256 (and MGF1-SHA-256) on `ctx`, set up for one operation.
bool use_oaep(EVP_PKEY_CTX* ctx) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1;
}

}  // namespace

KeyCustody::KeyCustody(Store& store, CaKeyring& keyring, SecretString kek)
    : store_(store), keyring_(keyring), kek_(std::move(kek)) {}

KeyCustody::KeyCustody(Store& store, CaKeyring& keyring, ossl::PKey token_key)
    : store_(store), keyring_(keyring), token_key_(std::move(token_key)) {
  // The public half as a plain OpenSSL key: encrypting needs no token.
  unsigned char* der = nullptr;
  const int length = token_key_ ? i2d_PUBKEY(token_key_.get(), &der) : -1;
  if (length > 0) {
    const unsigned char* p = der;
    token_public_.reset(d2i_PUBKEY(nullptr, &p, length));
  }
  OPENSSL_free(der);
}

Result<Bytes> KeyCustody::wrap(const EVP_PKEY& key, std::string_view serial_hex) const {
  const bool token = static_cast<bool>(token_public_);
  if ((!token && kek_.size() != kDataKeyBytes) || sodium_init() < 0)
    return make_error(errc::kErrorInterno, "La llave de custodia no es válida.");
  // The key that seals: the file's KEK, or a fresh one sealed to the token.
  SecretString data_key = kek_;
  Bytes sealed_key;
  if (token) {
    std::string fresh(kDataKeyBytes, '\0');
    randombytes_buf(fresh.data(), fresh.size());
    data_key = SecretString(std::move(fresh));
    ossl::PKeyCtx ctx(EVP_PKEY_CTX_new(token_public_.get(), nullptr));
    std::size_t length = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(data_key.c_str());
    if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) != 1 || !use_oaep(ctx.get()) ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &length, in, data_key.size()) != 1)
      return ossl::internal_error("cifrar la llave de datos");
    sealed_key.resize(length);
    if (EVP_PKEY_encrypt(ctx.get(), sealed_key.data(), &length, in, data_key.size()) != 1)
      return ossl::internal_error("cifrar la llave de datos");
    sealed_key.resize(length);
  }
  unsigned char* der = nullptr;
  const int length = i2d_PrivateKey(&key, &der);
  if (length <= 0) return make_error(errc::kErrorInterno, "No se pudo guardar la llave.");
  const std::size_t prefix = token ? 2 + sealed_key.size() : 0;
  Bytes box(kHeader + prefix + static_cast<std::size_t>(length) +
            crypto_aead_xchacha20poly1305_ietf_ABYTES);
  box[0] = token ? kTokenKekFormat : kFileKekFormat;
  randombytes_buf(box.data() + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  if (token) {
    box[kHeader] = static_cast<std::uint8_t>(sealed_key.size() >> 8);
    box[kHeader + 1] = static_cast<std::uint8_t>(sealed_key.size() & 0xff);
    std::copy(sealed_key.begin(), sealed_key.end(), box.begin() + kHeader + 2);
  }
  const std::string ad = associated_data(serial_hex);
  unsigned long long sealed = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      box.data() + kHeader + prefix, &sealed, der, static_cast<unsigned long long>(length),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, box.data() + 1,
      reinterpret_cast<const unsigned char*>(data_key.c_str()));
  OPENSSL_clear_free(der, static_cast<std::size_t>(length));
  box.resize(kHeader + prefix + sealed);
  return box;
}

Result<SecretString> KeyCustody::data_key(const Bytes& box, std::size_t& sealed_at) const {
  if (box.size() < kHeader + crypto_aead_xchacha20poly1305_ietf_ABYTES) return unusable();
  if (box[0] == kFileKekFormat) {
    if (kek_.size() != kDataKeyBytes) return unusable();
    sealed_at = kHeader;
    return kek_;
  }
  if (box[0] != kTokenKekFormat || !token_key_ || box.size() < kHeader + 2) return unusable();
  const std::size_t length = (std::size_t{box[kHeader]} << 8) | box[kHeader + 1];
  sealed_at = kHeader + 2 + length;
  if (box.size() < sealed_at + crypto_aead_xchacha20poly1305_ietf_ABYTES) return unusable();
  // The token opens the data key; it is wiped with the SecretString.
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new(token_key_.get(), nullptr));
  std::string clear(static_cast<std::size_t>(EVP_PKEY_get_size(token_key_.get())), '\0');
  std::size_t opened = clear.size();
  if (!ctx || EVP_PKEY_decrypt_init(ctx.get()) != 1 || !use_oaep(ctx.get()) ||
      EVP_PKEY_decrypt(ctx.get(), reinterpret_cast<unsigned char*>(clear.data()), &opened,
                       box.data() + kHeader + 2, length) != 1 ||
      opened != kDataKeyBytes) {
    ERR_clear_error();
    OPENSSL_cleanse(clear.data(), clear.size());
    return unusable();
  }
  clear.resize(opened);
  return SecretString(std::move(clear));
}

Result<std::optional<CustodyRecord>> KeyCustody::find(std::int64_t taxpayer_id, Environment env) {
  // The keyring reads the store on first use; load the chain now, so that
  // sign() never does while the caller holds a store transaction (the
  // emission signs inside the one that takes its consecutivo).
  for (CaKind kind : kAllCaKinds)
    if (auto ca = keyring_.certificate(env, kind); !ca) return ca.error();
  return store_.custody_key(taxpayer_id, env);
}

Result<std::string> KeyCustody::sign(const CustodyRecord& record, std::string_view xml,
                                     const xades::SignOptions& options) const {
  const Bytes& box = record.wrapped_key;
  if (sodium_init() < 0) return unusable();
  std::size_t sealed_at = 0;
  auto key_of_box = data_key(box, sealed_at);
  if (!key_of_box) return key_of_box.error();
  auto cert = ossl::x509_from_der(record.certificate_der);
  if (!cert) return cert.error();
  const std::string ad = associated_data(record.serial_hex);
  // The clear key exists only in this buffer and in the EVP_PKEY made from
  // it; both are wiped before returning, on every path.
  Bytes clear(box.size() - sealed_at);
  unsigned long long opened = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          clear.data(), &opened, nullptr, box.data() + sealed_at, box.size() - sealed_at,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), box.data() + 1,
          reinterpret_cast<const unsigned char*>(key_of_box->c_str())) != 0) {
    OPENSSL_cleanse(clear.data(), clear.size());
    return unusable();
  }
  const unsigned char* p = clear.data();
  ossl::PKey key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(opened)));
  OPENSSL_cleanse(clear.data(), clear.size());
  if (!key) return unusable();  // EVP_PKEY_free clears RSA's numbers (BN_clear_free)

  std::vector<const X509*> chain;
  for (CaKind kind : {CaKind::kPersonaFisica, CaKind::kPersonaJuridica}) {
    auto generations = keyring_.certificates(record.environment, kind);
    if (!generations) continue;
    for (const Authority* ca : *generations)
      if (X509_check_issued(ca->certificate.get(), cert->get()) == X509_V_OK)
        chain.push_back(ca->certificate.get());
  }
  if (auto root = keyring_.certificate(record.environment, CaKind::kRoot); root)
    chain.push_back((*root)->certificate.get());
  return xades::sign(xml, *key, **cert, chain, options);
}

Status KeyCustody::stop(const TaxpayerRecord& taxpayer, Environment env, const std::string& actor) {
  return store_.delete_custody_key(
      taxpayer.id, env,
      AuditEvent{actor, "herramienta.dejar_de_firmar", taxpayer.identification,
                 fmt::format("ambiente={}", environment_name(env))});
}

Result<ossl::PKey> create_token_custody_key(KeyStore& token) {
  auto made = token.generate_rsa(3072, kCustodyKeyLabel, KeyUse::kDecrypt);
  if (!made) return made.error();
  return std::move(made->key);
}

Result<ossl::PKey> open_token_custody_key(KeyStore& token) {
  return token.open(fmt::format("pkcs11:object={}", kCustodyKeyLabel));
}

Result<SecretString> load_or_create_custody_key(const std::filesystem::path& data_dir,
                                                const std::string& configured) {
  const std::filesystem::path path =
      configured.empty() ? data_dir / "llave-custodia.key" : std::filesystem::path(configured);
  return load_or_create_server_key(path);
}

}  // namespace llavero::service
