// The CAs of an installation as the key service sees them: certificates read
// from the store, private keys unlocked with the CA passphrase on first use
// and kept in memory for the life of the process.
//
// An issuing CA may have several generations (`llavero ca renovar`): the
// newest issues, every one is published. The generations are read once, so
// a process sees a rollover approved after it started only when restarted.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "pki/authority.h"
#include "store/certificate_store.h"
#include "util/secret.h"

namespace llavero::service {

class CaKeyring {
 public:
  CaKeyring(CertificateStore& store, SecretString passphrase)
      : store_(store), passphrase_(std::move(passphrase)) {}

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

  // Keys that live beside the CA keys (OCSP responders) are wrapped with
  // the same passphrase.
  Result<std::string> wrap_key(const EVP_PKEY& key);
  Result<ossl::PKey> unwrap_key(std::string_view pem);

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
  SecretString passphrase_;
  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::int64_t, Entry> entries_;  // by authority id
};

}  // namespace llavero::service
