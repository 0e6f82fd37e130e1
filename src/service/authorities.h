// The CAs of an installation as the key service sees them: certificates read
// from the store, private keys opened from the key store on first use (the
// default decrypts them with the CA passphrase; a PKCS#11 token gives handles
// whose signatures the token makes, pki/pkcs11.h) and kept for the life of
// the process.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "pki/authority.h"
#include "pki/key_store.h"
#include "store/certificate_store.h"
#include "util/secret.h"

namespace llavero::service {

class CaKeyring {
 public:
  CaKeyring(CertificateStore& store, std::unique_ptr<KeyStore> keys)
      : store_(store), keys_(std::move(keys)) {}
  // The default key store: keys encrypted with `passphrase`.
  CaKeyring(CertificateStore& store, SecretString passphrase)
      : CaKeyring(store, passphrase_key_store(std::move(passphrase))) {}

  struct Unlocked {
    std::int64_t authority_id;
    const Authority* authority;
  };

  // The CA, unlocked. Errors: "frase_incorrecta" for a wrong passphrase.
  Result<Unlocked> unlocked(Environment env, CaKind kind);
  // A CA certificate without unlocking its key (for chains).
  Result<const Authority*> certificate(Environment env, CaKind kind);

  // Keys that live beside the CA keys (OCSP responders, the token service's
  // key, the MensajeHacienda seal) are made and opened by the same key store.
  // Keep the reference; `label` names the key in a token.
  Result<KeyStore::NewKey> new_key(int bits, std::string_view label);
  Result<ossl::PKey> open_key(std::string_view reference);

  KeyStore& key_store() { return *keys_; }

 private:
  struct Entry {
    std::int64_t id = 0;
    Authority authority;
    std::string key_pem;
  };
  Result<Entry*> load(Environment env, CaKind kind);

  CertificateStore& store_;
  // Before entries_: a token's keys must not outlive it.
  std::unique_ptr<KeyStore> keys_;
  std::mutex mu_;
  std::map<std::pair<Environment, CaKind>, Entry> entries_;
};

}  // namespace llavero::service
