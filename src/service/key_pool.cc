#include "service/key_pool.h"

namespace llavero::service {

Result<ossl::PKey> KeyPool::rsa_2048() {
  return ossl::generate_rsa(2048);
}

KeyPool::KeyPool(std::size_t target, Generator generate)
    : target_(target), generate_(std::move(generate)) {
  keys_.reserve(target_);
  gauge_ = metrics::process().gauge(
      "llavero_key_pool_available",
      "Pares de llaves pregenerados listos para Generar (llaves_pregeneradas es el máximo).", {},
      [this] {
        return std::vector<metrics::GaugeSample>{{{}, static_cast<double>(available())}};
      });
}

KeyPool::~KeyPool() {
  gauge_ = {};  // no scrape reads the pool from here on
  std::lock_guard lock(mu_);
  keys_.clear();  // EVP_PKEY_free: the RSA private numbers are cleared (BN_clear_free)
}

std::optional<ossl::PKey> KeyPool::take() {
  std::lock_guard lock(mu_);
  if (keys_.empty()) return std::nullopt;
  ossl::PKey key = std::move(keys_.back());
  keys_.pop_back();
  return key;
}

Result<bool> KeyPool::refill_one() {
  {
    std::lock_guard lock(mu_);
    if (refilling_ || keys_.size() >= target_) return false;
    refilling_ = true;
  }
  auto key = generate_();  // the slow part, with the lock free
  std::lock_guard lock(mu_);
  refilling_ = false;
  if (!key) return key.error();
  keys_.push_back(std::move(*key));
  return true;
}

std::size_t KeyPool::available() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

}  // namespace llavero::service
