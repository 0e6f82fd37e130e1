// Counting failures per key (an address, a user name) in memory: after
// `limit` failures within `window` seconds the key is throttled until the
// window that began with its first failure has passed. The portal throttles
// wrong passwords per address, the token endpoint per API user; the store's
// lockout per account is a separate, durable rule.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "util/clock.h"

namespace llavero {

class FailureThrottle {
 public:
  FailureThrottle(int limit, UnixSeconds window, std::size_t max_keys = 100000)
      : limit_(limit), window_(window), max_keys_(max_keys) {}

  // Whether `key` has reached the limit within its current window.
  bool throttled(const std::string& key, UnixSeconds now = now_seconds());
  // Counts one failure of `key`.
  void failure(const std::string& key, UnixSeconds now = now_seconds());
  // Forgets the failures of `key`, after it succeeded.
  void reset(const std::string& key);

 private:
  struct Entry {
    int count = 0;
    UnixSeconds window_start = 0;
  };
  const int limit_;
  const UnixSeconds window_;
  const std::size_t max_keys_;  // memory bound: past it, every count starts again
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> failures_;
};

}  // namespace llavero
