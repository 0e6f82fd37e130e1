#include "service/rate_limit.h"

#include <algorithm>

namespace llavero::service {

RateDecision RateLimiter::decide(Window& w, UnixSeconds now, bool count) {
  if (now >= w.start + window_) w = Window{now, 0};
  RateDecision d;
  d.limit = limit_;
  d.reset = std::max<UnixSeconds>(1, w.start + window_ - now);
  if (count) {
    if (w.count >= limit_) {
      d.allowed = false;
    } else {
      ++w.count;
    }
  }
  d.remaining = std::max(0, limit_ - w.count);
  return d;
}

RateDecision RateLimiter::take(const std::string& subject, UnixSeconds now) {
  std::lock_guard lock(mutex_);
  // Old windows are dropped now and then so the map stays small.
  if (windows_.size() > 10000)
    std::erase_if(windows_, [&](const auto& kv) { return now >= kv.second.start + window_; });
  return decide(windows_[subject], now, true);
}

RateDecision RateLimiter::peek(const std::string& subject, UnixSeconds now) {
  std::lock_guard lock(mutex_);
  auto it = windows_.find(subject);
  Window none;
  return decide(it == windows_.end() ? none : it->second, now, false);
}

}  // namespace llavero::service
