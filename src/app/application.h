// The assembled server: one data directory opened, every service built on
// its store, the public, portal and API routes mounted, and the periodic
// tasks (revocation refresh, deciding comprobantes, purging sessions)
// scheduled. `llavero serve`, the tests and the benchmarks all start the
// server through this one place, so none of them wires services by hand.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace llavero::app {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";  // ADDRESS:PORT; port 0 picks a free one
  std::string tls_certificate;            // PEM paths; both empty: plain HTTP
  std::string tls_private_key;
  // Only for benchmarks: GET /_baseline answers this many fixed bytes from
  // memory, the yardstick that OCSP throughput is compared with.
  std::size_t baseline_bytes = 0;
  bool handle_signals = true;  // SIGTERM/SIGINT stop the server gracefully
  // ADDRESS:PORT of a second listener that serves only GET /metrics (and
  // /readyz) to the operator's Prometheus; empty: /metrics is served nowhere.
  std::string metrics_listen;
  bool json_logs = false;  // each log line a JSON object (util/json_log.h)
};

class Application {
 public:
  // Opens the data directory, builds the services and binds the listening
  // socket; nothing is served until run().
  static Result<std::unique_ptr<Application>> open(const std::filesystem::path& data_dir,
                                                   const ServeOptions& options);
  ~Application();

  unsigned short port() const;
  unsigned short metrics_port() const;  // 0 without a metrics listener
  // e.g. "llavero sirviendo en http://127.0.0.1:8080 (datos: …)" for the operator.
  std::string banner() const;

  // Serves until stop() or a signal; returns once everything in flight ended.
  void run();
  void stop();

  struct Parts;  // the services and the server, defined in application.cc

 private:
  explicit Application(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace llavero::app
