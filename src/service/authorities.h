// The CAs of an installation as the key service sees them: certificates read
// from the store, private keys unlocked with the CA passphrase on first use
// and kept in memory for the life of the process.
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

  // The CA, unlocked. Errors: "frase_incorrecta" for a wrong passphrase.
  Result<Unlocked> unlocked(Environment env, CaKind kind);
  // A CA certificate without unlocking its key (for chains).
  Result<const Authority*> certificate(Environment env, CaKind kind);

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
  Result<Entry*> load(Environment env, CaKind kind);

  CertificateStore& store_;
  SecretString passphrase_;
  std::mutex mu_;
  std::map<std::pair<Environment, CaKind>, Entry> entries_;
};

}  // namespace llavero::service
