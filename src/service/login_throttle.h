// Throttling of wrong passwords (portal log-in and the API's password grant)
// that a stranger cannot turn into a weapon. Identifications are public, so a
// rule "five wrong passwords lock the account" lets anyone lock anyone out;
// and a rule per address alone blocks a whole accounting office behind one
// address. So failures are counted per (account, address): the fifth makes
// that pair wait 30 s, each one after it twice as long, up to 15 min.
// A correct password from another address is never refused, whatever a
// stranger did. The account itself is never locked: when one account fails
// from many addresses the operator is warned instead (Failure::alarm).
//
// The key is the account as typed (normalised identification or API user
// name) whether or not it is registered, so a registered identification and
// an unknown one behave and answer alike: nothing here tells which exist.
//
// One address trying many accounts (password spraying) is bounded twice: by
// the hashing queue's rate per address (http/client_limits.h) and, from the
// 100th failure on, by the same growing wait for the whole address.
//
// In memory: a restart or another server forgets the counts (docs/operacion.md).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "util/clock.h"

namespace llavero::service {

struct LoginThrottleSettings {
  int free_failures_per_account = 5;     // per (account, address): this one starts a wait
  int free_failures_per_address = 100;   // per address, all accounts together
  UnixSeconds first_wait = 30;           // after the first failure past the free ones
  UnixSeconds longest_wait = 15 * 60;    // the wait doubles up to this
  UnixSeconds forget_after = 24 * 3600;  // a key without failures for this long starts over
  int alarm_failures = 20;               // one account, within alarm_window,
  std::size_t alarm_addresses = 3;       // from at least this many addresses:
  UnixSeconds alarm_window = 3600;       // the operator is told (once per window)
  std::size_t max_keys = 200000;         // memory bound
};

class LoginThrottle {
 public:
  explicit LoginThrottle(LoginThrottleSettings settings = {}) : settings_(settings) {}

  // When `account` may be tried again from `address`; nullopt when it may
  // be tried now. Asking costs nothing and counts nothing.
  std::optional<UnixSeconds> wait_until(std::string_view account, std::string_view address,
                                        UnixSeconds now);

  struct Failure {
    int free_left = 0;                      // failures left before the pair must wait
    std::optional<UnixSeconds> wait_until;  // set when this failure starts a wait
    // The first failure that makes this account look attacked (many failures
    // from many addresses within the alarm window): warn the operator.
    bool alarm = false;
    int account_failures = 0;  // in the alarm window, all addresses
    std::size_t account_addresses = 0;
  };
  // Counts a wrong password of `account` from `address`.
  Failure failure(std::string_view account, std::string_view address, UnixSeconds now);

  // A right password: the pair (and nothing else) starts over.
  void success(std::string_view account, std::string_view address);

  // The addresses from which `account` must wait now, and until when: the
  // lock state an operator sees.
  std::map<std::string, UnixSeconds> waits(std::string_view account, UnixSeconds now);
  // An operator's unlock: every address of `account` starts over, and the
  // account's alarm window with them.
  void forget(std::string_view account);

  // Failures left from `address` before `account` must wait.
  int free_left(std::string_view account, std::string_view address, UnixSeconds now);

 private:
  struct Counter {
    int failures = 0;
    UnixSeconds last_failure = 0;
    UnixSeconds wait_until = 0;
  };
  struct AccountWatch {
    UnixSeconds window_start = 0;
    int failures = 0;
    std::set<std::string, std::less<>> addresses;
    bool alarmed = false;
  };

  Counter* find(std::map<std::string, Counter, std::less<>>& map, std::string_view key,
                UnixSeconds now);
  // Counts one failure on `counter`; the wait it starts once past `free`.
  void count(Counter& counter, int free, UnixSeconds now) const;
  void make_room(UnixSeconds now);  // called with mu_ held, before adding keys

  const LoginThrottleSettings settings_;
  std::mutex mu_;
  std::map<std::string, Counter, std::less<>> pairs_;       // "<account>\n<address>"
  std::map<std::string, Counter, std::less<>> addresses_;   // per address
  std::map<std::string, AccountWatch, std::less<>> watch_;  // per account
};

}  // namespace llavero::service
