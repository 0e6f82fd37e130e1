#include "pki/key_store.h"

namespace llavero {

namespace {

// The default: keys made in memory and kept, encrypted, in the store.
class PassphraseKeyStore final : public KeyStore {
 public:
  explicit PassphraseKeyStore(SecretString passphrase) : passphrase_(std::move(passphrase)) {}

  Result<NewKey> generate_rsa(int bits, std::string_view, KeyUse) override {
    auto key = ossl::generate_rsa(bits);
    if (!key) return key.error();
    auto pem = ossl::private_key_to_encrypted_pem(**key, passphrase_);
    if (!pem) return pem.error();
    return NewKey{std::move(*key), std::move(*pem)};
  }

  Result<ossl::PKey> open(std::string_view reference) override {
    return ossl::private_key_from_encrypted_pem(reference, passphrase_);
  }

  bool in_token() const override { return false; }
  std::string description() const override {
    return "cifradas (AES-256) con la frase de paso de las CA";
  }

 private:
  SecretString passphrase_;
};

}  // namespace

std::unique_ptr<KeyStore> passphrase_key_store(SecretString passphrase) {
  return std::make_unique<PassphraseKeyStore>(std::move(passphrase));
}

}  // namespace llavero
