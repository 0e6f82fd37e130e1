// The reception's request limit per token subject (docs/recepcion.md): a
// fixed window of `window` seconds holding at most `limit` requests. Every
// answer carries X-Ratelimit-Limit, -Remaining and -Reset from it; a request
// beyond the limit is answered 429 with Retry-After.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "util/clock.h"

namespace llavero::service {

struct RateDecision {
  bool allowed = true;
  int limit = 0;
  int remaining = 0;
  UnixSeconds reset = 0;  // seconds until the window starts again
};

class RateLimiter {
 public:
  RateLimiter(int limit, int window_seconds) : limit_(limit), window_(window_seconds) {}

  // Counts one request of `subject` at `now`.
  RateDecision take(const std::string& subject, UnixSeconds now);
  // The state without counting (for answers refused before the count).
  RateDecision peek(const std::string& subject, UnixSeconds now);

 private:
  struct Window {
    UnixSeconds start = 0;
    int count = 0;
  };
  RateDecision decide(Window& w, UnixSeconds now, bool count);

  const int limit_;
  const int window_;
  std::mutex mutex_;
  std::map<std::string, Window, std::less<>> windows_;
};

}  // namespace llavero::service
