#include "service/key_pool.h"

#include <pthread.h>
#include <sched.h>

#include <chrono>

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
  stop_refilling();
  gauge_ = {};  // no scrape reads the pool from here on
  std::lock_guard lock(mu_);
  keys_.clear();  // EVP_PKEY_free: the RSA private numbers are cleared (BN_clear_free)
}

std::optional<ossl::PKey> KeyPool::take() {
  std::lock_guard lock(mu_);
  if (keys_.empty()) return std::nullopt;
  ossl::PKey key = std::move(keys_.back());
  keys_.pop_back();
  wanted_.notify_one();
  return key;
}

namespace {

// The calling thread gets only what no other thread of the machine wants
// (Linux's SCHED_IDLE); where that is refused, it stays as it is.
void run_at_idle_priority() {
  sched_param none{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
}

}  // namespace

void KeyPool::start_refilling(std::function<void(const Error&)> on_error) {
  if (target_ == 0 || refiller_.joinable()) return;
  refiller_ = std::thread([this, on_error = std::move(on_error)] {
    run_at_idle_priority();
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (keys_.size() >= target_) {
        wanted_.wait(lock, [this] { return stopping_ || keys_.size() < target_; });
        continue;
      }
      lock.unlock();
      auto made = refill_one();
      lock.lock();
      if (!made) {
        lock.unlock();
        on_error(made.error());
        lock.lock();
        wanted_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
      } else if (!*made) {
        // A test's refill_one() was making the pair; look again shortly.
        wanted_.wait_for(lock, std::chrono::milliseconds(20), [this] { return stopping_; });
      }
    }
  });
}

void KeyPool::stop_refilling() {
  if (!refiller_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  sched_param normal{};
  pthread_setschedparam(refiller_.native_handle(), SCHED_OTHER, &normal);
  wanted_.notify_all();
  refiller_.join();
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
