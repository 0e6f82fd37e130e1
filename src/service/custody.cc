#include "service/custody.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "service/downloads.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

constexpr unsigned char kFormatVersion = 1;
constexpr std::size_t kHeader = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

std::string associated_data(std::string_view serial_hex) {
  return fmt::format("llavero-custodia-v1:{}", serial_hex);
}

Error unusable() {
  return make_error(errc::kErrorInterno,
                    "La llave guardada para firmar automáticamente no se pudo abrir.");
}

}  // namespace

KeyCustody::KeyCustody(Store& store, CaKeyring& keyring, SecretString kek)
    : store_(store), keyring_(keyring), kek_(std::move(kek)) {}

Result<Bytes> KeyCustody::wrap(const EVP_PKEY& key, std::string_view serial_hex) const {
  if (kek_.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES || sodium_init() < 0)
    return make_error(errc::kErrorInterno, "La llave de custodia no es válida.");
  unsigned char* der = nullptr;
  const int length = i2d_PrivateKey(&key, &der);
  if (length <= 0) return make_error(errc::kErrorInterno, "No se pudo guardar la llave.");
  Bytes box(kHeader + static_cast<std::size_t>(length) + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  box[0] = kFormatVersion;
  randombytes_buf(box.data() + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const std::string ad = associated_data(serial_hex);
  unsigned long long sealed = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      box.data() + kHeader, &sealed, der, static_cast<unsigned long long>(length),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, box.data() + 1,
      reinterpret_cast<const unsigned char*>(kek_.c_str()));
  OPENSSL_clear_free(der, static_cast<std::size_t>(length));
  box.resize(kHeader + sealed);
  return box;
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
  if (kek_.size() != crypto_aead_xchacha20poly1305_ietf_KEYBYTES || sodium_init() < 0 ||
      box.size() < kHeader + crypto_aead_xchacha20poly1305_ietf_ABYTES || box[0] != kFormatVersion)
    return unusable();
  auto cert = ossl::x509_from_der(record.certificate_der);
  if (!cert) return cert.error();
  const std::string ad = associated_data(record.serial_hex);
  // The clear key exists only in this buffer and in the EVP_PKEY made from
  // it; both are wiped before returning, on every path.
  Bytes clear(box.size() - kHeader);
  unsigned long long opened = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          clear.data(), &opened, nullptr, box.data() + kHeader, box.size() - kHeader,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), box.data() + 1,
          reinterpret_cast<const unsigned char*>(kek_.c_str())) != 0) {
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

Result<SecretString> load_or_create_custody_key(const std::filesystem::path& data_dir,
                                                const std::string& configured) {
  const std::filesystem::path path =
      configured.empty() ? data_dir / "llave-custodia.key" : std::filesystem::path(configured);
  return load_or_create_server_key(path);
}

}  // namespace llavero::service
