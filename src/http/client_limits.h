// What one client (one remote address) may take of the server: connections
// held at once and requests per second for each class of work. The server
// asks before it reads or queues anything, so a single address with bad
// intent cannot fill the connection slots or the worker queues that every
// other client shares (issue 12; docs/operacion.md).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace llavero::http {

// The classes of work a route does; each has its own queue and its own
// request rate per address.
enum class Work {
  kPublic,   // OCSP, CRL, CA certificates, health: cheap and read-only
  kGeneral,  // pages, the reception, key generation
  kHashing,  // a password is hashed (Argon2id): the token and login routes
};
inline constexpr std::size_t kWorkClasses = 3;
std::string_view work_name(Work work);  // "publico" | "general" | "contrasenas"

// A token bucket: `per_second` requests on average, `burst` at once.
// per_second = 0 means no limit.
struct Rate {
  double per_second = 0;
  double burst = 0;
};

struct ClientLimitOptions {
  std::size_t connections_per_address = 64;  // of the server's 2 048
  std::array<Rate, kWorkClasses> rates = {
      Rate{2000, 4000},  // kPublic: cheap, cached; a busy relying party asks a lot
      Rate{100, 200},    // kGeneral
      Rate{5, 20},       // kHashing: a handful of logins at once, then 5/s
  };
  std::size_t max_addresses = 100000;  // memory bound of the tables
};

class ClientLimits {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ClientLimits(ClientLimitOptions options) : options_(options) {}

  // A connection from `address` opens; false when that address already holds
  // its share (the connection is then refused). Every true is paired with
  // one release().
  bool open_connection(const std::string& address);
  void release_connection(const std::string& address);

  // Whether `address` may make one more request of class `work` now; when
  // not, `retry_after` says in how many whole seconds a token comes back.
  struct Admission {
    bool allowed = true;
    int retry_after = 0;
  };
  Admission admit(const std::string& address, Work work, Clock::time_point now = Clock::now());

  std::size_t connections(const std::string& address) const;

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated{};
    bool started = false;
  };
  struct Client {
    std::size_t connections = 0;
    std::array<Bucket, kWorkClasses> buckets;
  };
  void forget_idle(Clock::time_point now);  // called with mu_ held

  const ClientLimitOptions options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Client> clients_;
};

}  // namespace llavero::http
