#include "util/throttle.h"

namespace llavero {

bool FailureThrottle::throttled(const std::string& key, UnixSeconds now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  if (it->second.window_start + window_ < now) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= limit_;
}

void FailureThrottle::failure(const std::string& key, UnixSeconds now) {
  std::lock_guard lock(mu_);
  if (failures_.size() >= max_keys_ && !failures_.contains(key)) failures_.clear();
  Entry& entry = failures_[key];
  if (entry.window_start + window_ < now) entry = {0, now};
  ++entry.count;
}

void FailureThrottle::reset(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

}  // namespace llavero
