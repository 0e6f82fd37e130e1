// The keys kept in custody for the Herramienta Gratuita (docs/herramienta.md,
// SPEC §7). When a taxpayer ticks "Soy usuario del Facturador Gratuito de
// Hacienda" at Generar, the new private key is also kept, sealed with
// XChaCha20-Poly1305 under a key-encryption key that lives in a file of the
// data directory (llave-custodia.key, mode 0600), never in the database: a
// copy of the database alone opens nothing. The certificate's serial is the
// associated data, so a sealed key moved to another certificate's row does
// not open.
//
// When the CA keys live in a PKCS#11 token, the key-encryption key does too:
// an RSA key made inside the token at `init` (label "llavero-custodia",
// decrypt only, not extractable). Each key is then sealed under its own
// random data key, which is kept encrypted to the token's key (RSA-OAEP,
// SHA-256); only the token can open it.
//
// A sealed key is opened only in memory, for one signature, and the clear
// bytes are wiped right after; the store deletes it when its certificate is
// revoked or superseded (migration 8), and stop() deletes it on request
// without revoking anything.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pki/openssl.h"
#include "service/authorities.h"
#include "store/store.h"
#include "util/result.h"
#include "util/secret.h"
#include "xades/xades.h"

namespace llavero::service {

class KeyCustody {
 public:
  // `kek` is 32 bytes (load_or_create_custody_key).
  KeyCustody(Store& store, CaKeyring& keyring, SecretString kek);
  // `token_key`: the custody key of a PKCS#11 token (open_token_custody_key).
  KeyCustody(Store& store, CaKeyring& keyring, ossl::PKey token_key);

  // Seals a private key for the certificate with `serial_hex`.
  Result<Bytes> wrap(const EVP_PKEY& key, std::string_view serial_hex) const;

  // The key in custody of a taxpayer's active key in `env`, if any. Call it
  // before sign(), outside any store transaction: it also loads the chain.
  Result<std::optional<CustodyRecord>> find(std::int64_t taxpayer_id, Environment env);

  // Opens `record`'s key in memory, signs `xml` with it (XAdES-EPES, with
  // the certificate's chain) and wipes it. Writes nothing: the caller
  // records the signature's audit row with what it signed.
  Result<std::string> sign(const CustodyRecord& record, std::string_view xml,
                           const xades::SignOptions& options = {}) const;

  // "Dejar de firmar automáticamente": deletes the key in custody, leaving
  // the certificate active. Error "sin_llave_custodia" when there is none.
  Status stop(const TaxpayerRecord& taxpayer, Environment env, const std::string& actor);

 private:
  // The data key that opens `box` (its format says which KEK made it).
  Result<SecretString> data_key(const Bytes& box, std::size_t& sealed_at) const;

  Store& store_;
  CaKeyring& keyring_;
  SecretString kek_;      // a file's KEK (format 1), or
  ossl::PKey token_key_;  // the token's (format 2), and its public half
  ossl::PKey token_public_;
};

inline constexpr const char* kCustodyKeyLabel = "llavero-custodia";
// Makes (at init) and opens the custody key of a token.
Result<ossl::PKey> create_token_custody_key(KeyStore& token);
Result<ossl::PKey> open_token_custody_key(KeyStore& token);

// The key-encryption key file (32 random bytes, mode 0600), created on first
// use; `configured` (llave_custodia in llavero.conf) or
// `<data>/llave-custodia.key`.
Result<SecretString> load_or_create_custody_key(const std::filesystem::path& data_dir,
                                                const std::string& configured);

}  // namespace llavero::service
