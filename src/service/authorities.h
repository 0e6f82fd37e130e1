// The CAs of an installation as the key service sees them: certificates read
// from the store, private keys opened from the key store on first use (the
// default decrypts them with the CA passphrase; a PKCS#11 token gives handles
// whose signatures the token makes, pki/pkcs11.h) and kept for the life of
// the process.
//
//
// An issuing CA may have several generations (`llavero ca renovar`): the
// newest issues, every one is published. The generations are read once, so
// a process sees a rollover approved after it started only when restarted.
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

  // The CA (its newest generation), unlocked. Errors: "frase_incorrecta"
  // for a wrong passphrase.
  Result<Unlocked> unlocked(Environment env, CaKind kind);
  // Every generation of the CA, oldest first, unlocked.
  Result<std::vector<Unlocked>> generations(Environment env, CaKind kind);
  // A CA certificate (the newest generation) without unlocking its key.
  Result<const Authority*> certificate(Environment env, CaKind kind);
  // The certificates of every generation, oldest first (for chains and trust).
  Result<std::vector<const Authority*>> certificates(Environment env, CaKind kind);

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
  // Every generation of the CA, oldest first; the store is read once.
  Result<std::vector<Entry*>> load(Environment env, CaKind kind);
  Status unlock(Entry& entry);

  CertificateStore& store_;
  // Before entries_: a token's keys must not outlive it.
  std::unique_ptr<KeyStore> keys_;
  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::int64_t, Entry> entries_;  // by authority id
};

}  // namespace llavero::service
