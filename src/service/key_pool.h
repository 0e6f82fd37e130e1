// Key pairs generated before Generar asks for them (issue 13): an RSA-2048
// generation takes ~160 ms with a long tail past 350 ms, which the taxpayer
// would otherwise wait for. The pool holds a few pairs in memory only (never
// written anywhere), hands each one out once, and is refilled by a thread of
// its own that runs at the lowest CPU priority (SCHED_IDLE): a refill only
// uses a core no request wants, so it never delays the Generar it is
// preparing for. Its keys are freed on exit, and OpenSSL clears an RSA key's
// private numbers as it frees them.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "pki/openssl.h"
#include "util/metrics.h"
#include "util/result.h"

namespace llavero::service {

class KeyPool {
 public:
  // Makes one key pair; RSA-2048 unless a test says otherwise.
  using Generator = std::function<Result<ossl::PKey>()>;

  // `target` pairs at most (llaves_pregeneradas); 0 disables the pool: take()
  // always answers nothing and refill() makes nothing.
  explicit KeyPool(std::size_t target, Generator generate = rsa_2048);
  ~KeyPool();
  KeyPool(const KeyPool&) = delete;
  KeyPool& operator=(const KeyPool&) = delete;

  // A pair never handed out before, removed from the pool; nullopt when the
  // pool is empty (the caller generates its own). Never waits for a
  // generation: keys are made outside the lock.
  std::optional<ossl::PKey> take();

  // Starts the refill thread (nothing when the target is 0): it keeps the
  // pool at its target, one pair at a time, at idle priority, and is woken
  // by take(). A failed generation goes to `on_error` and is tried again a
  // second later. Called once.
  void start_refilling(std::function<void(const Error&)> on_error);

  // Stops the refill thread, waiting for the pair it is making: its priority
  // is raised back to normal first, so a busy machine cannot starve the stop.
  // The destructor calls it.
  void stop_refilling();

  // Generates one pair if the pool is below its target (what the refill
  // thread does each turn; tests call it directly). One generation runs at a
  // time: a second caller returns false at once. Returns whether a pair was
  // added.
  Result<bool> refill_one();

  std::size_t available() const;
  std::size_t target() const { return target_; }

  static Result<ossl::PKey> rsa_2048();

 private:
  const std::size_t target_;
  const Generator generate_;
  mutable std::mutex mu_;
  std::vector<ossl::PKey> keys_;
  bool refilling_ = false;
  std::condition_variable wanted_;  // take() or a stop: the refill thread looks again
  bool stopping_ = false;
  std::thread refiller_;
  metrics::Registry::GaugeHandle gauge_;  // llavero_key_pool_available, while the pool lives
};

}  // namespace llavero::service
