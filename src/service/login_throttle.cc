#include "service/login_throttle.h"

#include <algorithm>

namespace llavero::service {
namespace {

std::string pair_key(std::string_view account, std::string_view address) {
  std::string key;
  key.reserve(account.size() + address.size() + 1);
  key.append(account).push_back('\n');
  key.append(address);
  return key;
}

}  // namespace

LoginThrottle::Counter* LoginThrottle::find(std::map<std::string, Counter, std::less<>>& map,
                                            std::string_view key, UnixSeconds now) {
  auto it = map.find(key);
  if (it == map.end()) return nullptr;
  if (it->second.last_failure + settings_.forget_after <= now && it->second.wait_until <= now) {
    map.erase(it);
    return nullptr;
  }
  return &it->second;
}

void LoginThrottle::count(Counter& counter, int free, UnixSeconds now) const {
  ++counter.failures;
  counter.last_failure = now;
  // The free-th failure starts the first wait; each one after it doubles it.
  const int past = counter.failures - free + 1;
  if (past <= 0) return;
  // 30 s, 1 min, 2 min, …: doubling, without overflowing for a patient attacker.
  UnixSeconds wait = settings_.first_wait;
  for (int i = 1; i < past && wait < settings_.longest_wait; ++i) wait *= 2;
  counter.wait_until = now + std::min(wait, settings_.longest_wait);
}

void LoginThrottle::make_room(UnixSeconds now) {
  if (pairs_.size() + addresses_.size() + watch_.size() < settings_.max_keys) return;
  // First what has nothing left to say: no wait running and nothing recent.
  for (auto* map : {&pairs_, &addresses_})
    std::erase_if(*map, [&](const auto& entry) {
      return entry.second.wait_until <= now &&
             entry.second.last_failure + settings_.first_wait * 4 <= now;
    });
  std::erase_if(watch_, [&](const auto& entry) {
    return entry.second.window_start + settings_.alarm_window <= now;
  });
  if (pairs_.size() + addresses_.size() + watch_.size() < settings_.max_keys) return;
  // Still full: an attacker with very many addresses. Forgetting the pairs
  // that are not waiting keeps every wait already running.
  std::erase_if(pairs_, [&](const auto& entry) { return entry.second.wait_until <= now; });
  std::erase_if(addresses_, [&](const auto& entry) { return entry.second.wait_until <= now; });
  watch_.clear();
}

std::optional<UnixSeconds> LoginThrottle::wait_until(std::string_view account,
                                                     std::string_view address, UnixSeconds now) {
  std::lock_guard lock(mu_);
  UnixSeconds until = 0;
  if (const Counter* pair = find(pairs_, pair_key(account, address), now))
    until = std::max(until, pair->wait_until);
  if (const Counter* whole = find(addresses_, address, now))
    until = std::max(until, whole->wait_until);
  if (until <= now) return std::nullopt;
  return until;
}

LoginThrottle::Failure LoginThrottle::failure(std::string_view account, std::string_view address,
                                              UnixSeconds now) {
  std::lock_guard lock(mu_);
  make_room(now);
  const std::string key = pair_key(account, address);
  Counter* pair = find(pairs_, key, now);
  if (!pair) pair = &pairs_[key];
  count(*pair, settings_.free_failures_per_account, now);
  Counter* whole = find(addresses_, address, now);
  if (!whole) whole = &addresses_[std::string(address)];
  count(*whole, settings_.free_failures_per_address, now);

  Failure out;
  out.free_left = std::max(0, settings_.free_failures_per_account - pair->failures);
  const UnixSeconds until = std::max(pair->wait_until, whole->wait_until);
  if (until > now) out.wait_until = until;

  auto watch = watch_.find(account);
  if (watch == watch_.end()) watch = watch_.emplace(std::string(account), AccountWatch{}).first;
  AccountWatch& w = watch->second;
  if (w.window_start + settings_.alarm_window <= now) {
    w = AccountWatch{};
    w.window_start = now;
  }
  ++w.failures;
  if (w.addresses.size() < settings_.alarm_addresses * 4) w.addresses.emplace(address);
  out.account_failures = w.failures;
  out.account_addresses = w.addresses.size();
  if (!w.alarmed && w.failures >= settings_.alarm_failures &&
      w.addresses.size() >= settings_.alarm_addresses) {
    w.alarmed = true;
    out.alarm = true;
  }
  return out;
}

void LoginThrottle::success(std::string_view account, std::string_view address) {
  std::lock_guard lock(mu_);
  if (auto it = pairs_.find(pair_key(account, address)); it != pairs_.end()) pairs_.erase(it);
}

int LoginThrottle::free_left(std::string_view account, std::string_view address, UnixSeconds now) {
  std::lock_guard lock(mu_);
  const Counter* pair = find(pairs_, pair_key(account, address), now);
  return std::max(0, settings_.free_failures_per_account - (pair ? pair->failures : 0));
}

std::map<std::string, UnixSeconds> LoginThrottle::waits(std::string_view account, UnixSeconds now) {
  std::lock_guard lock(mu_);
  std::map<std::string, UnixSeconds> out;
  const std::string prefix = pair_key(account, "");
  for (auto it = pairs_.lower_bound(prefix); it != pairs_.end() && it->first.starts_with(prefix);
       ++it)
    if (it->second.wait_until > now)
      out.emplace(it->first.substr(prefix.size()), it->second.wait_until);
  return out;
}

void LoginThrottle::forget(std::string_view account) {
  std::lock_guard lock(mu_);
  const std::string prefix = pair_key(account, "");
  auto it = pairs_.lower_bound(prefix);
  while (it != pairs_.end() && it->first.starts_with(prefix)) it = pairs_.erase(it);
  if (auto w = watch_.find(account); w != watch_.end()) watch_.erase(w);
}

}  // namespace llavero::service
