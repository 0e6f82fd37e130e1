#include "http/client_limits.h"

#include <algorithm>
#include <cmath>

namespace llavero::http {

std::string_view work_name(Work work) {
  switch (work) {
    case Work::kPublic: return "publico";
    case Work::kGeneral: return "general";
    case Work::kHashing: return "contrasenas";
  }
  return "general";
}

bool ClientLimits::open_connection(const std::string& address) {
  std::lock_guard lock(mu_);
  Client& client = clients_[address];
  if (options_.connections_per_address != 0 &&
      client.connections >= options_.connections_per_address)
    return false;
  ++client.connections;
  return true;
}

void ClientLimits::release_connection(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(address);
  if (it != clients_.end() && it->second.connections > 0) --it->second.connections;
}

std::size_t ClientLimits::connections(const std::string& address) const {
  std::lock_guard lock(mu_);
  auto it = clients_.find(address);
  return it == clients_.end() ? 0 : it->second.connections;
}

ClientLimits::Admission ClientLimits::admit(const std::string& address, Work work,
                                            Clock::time_point now) {
  const Rate rate = options_.rates[static_cast<std::size_t>(work)];
  if (rate.per_second <= 0) return {};
  std::lock_guard lock(mu_);
  if (clients_.size() >= options_.max_addresses && !clients_.contains(address)) forget_idle(now);
  Bucket& bucket = clients_[address].buckets[static_cast<std::size_t>(work)];
  const double burst = std::max(rate.burst, 1.0);
  if (!bucket.started) {
    bucket = Bucket{burst, now, true};
  } else {
    const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(burst, bucket.tokens + std::max(elapsed, 0.0) * rate.per_second);
    bucket.updated = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return {};
  }
  const double wait = (1 - bucket.tokens) / rate.per_second;
  return {false, std::max(1, static_cast<int>(std::ceil(wait)))};
}

// Past the memory bound, addresses without connections whose buckets have
// refilled are forgotten: forgetting them changes nothing they could notice.
// If every address is busy, the table grows past the bound rather than let
// an attacker reset someone's limits by flooding it.
void ClientLimits::forget_idle(Clock::time_point now) {
  std::erase_if(clients_, [&](const auto& entry) {
    const Client& c = entry.second;
    if (c.connections != 0) return false;
    for (std::size_t i = 0; i < kWorkClasses; ++i) {
      const Bucket& b = c.buckets[i];
      const Rate& rate = options_.rates[i];
      if (!b.started || rate.per_second <= 0) continue;
      const double elapsed = std::chrono::duration<double>(now - b.updated).count();
      if (b.tokens + elapsed * rate.per_second < std::max(rate.burst, 1.0)) return false;
    }
    return true;
  });
}

}  // namespace llavero::http
