// The HTTP(S) server: Boost.Beast on a few I/O threads, a bounded worker pool
// for CPU work, limits against abusive clients, an access log, periodic
// tasks, and a graceful stop on SIGTERM/SIGINT (requests in flight finish,
// idle connections close, then run() returns).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "http/access_log.h"
#include "http/client_limits.h"
#include "http/http.h"
#include "util/result.h"

namespace llavero::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 8080;  // 0: any free port (see Server::port())
  int io_threads = 2;
  // Each class of work (http::Work) has its own threads and bounded queue, so
  // that OCSP and CRL answers never wait behind password hashing or key
  // generation. Beyond a queue's bound its routes answer 503 with Retry-After.
  int worker_threads = 2;             // kGeneral
  int public_threads = 1;             // kPublic
  int hashing_threads = 2;            // kHashing
  std::size_t max_queued_jobs = 256;  // kGeneral and kPublic, each
  std::size_t hashing_queue = 32;
  std::size_t hashing_per_address = 4;  // one address's share of hashing_queue
  std::size_t header_limit = 8 * 1024;
  std::size_t body_limit = 64 * 1024;
  std::chrono::seconds header_timeout{10};   // a new connection's first header, all of it
  std::chrono::seconds request_timeout{15};  // the body, once the header is in
  std::chrono::seconds idle_timeout{30};     // keep-alive wait for the next request
  std::size_t max_connections = 2048;
  ClientLimitOptions client_limits;               // per remote address: connections, requests/s
  std::size_t access_log_lines_per_second = 200;  // 0: every line
  std::shared_ptr<spdlog::logger> access_log;     // null: spdlog's default (standard error)
  std::string tls_certificate;                    // PEM paths; both empty: plain HTTP
  std::string tls_private_key;
  bool handle_signals = true;
  // Counts requests by class and status, their latency, the queues and the
  // connections into metrics::process() (util/metrics.h). The metrics
  // listener itself is not counted.
  bool publish_metrics = false;
};

class Server {
 public:
  Server(ServerOptions options, Router router);
  ~Server();

  // Binds and listens; with port 0, port() tells which one.
  Status listen();
  unsigned short port() const;

  // Runs `task` on the worker pool every `period` until the server stops.
  void every(std::chrono::milliseconds period, std::function<void()> task);

  // Whether every work queue has room: GET /readyz answers this (503 when a
  // queue is full), while /healthz only says the process is alive.
  struct Readiness {
    bool ready = true;
    std::string detail;  // e.g. "contrasenas: 32/32"
  };
  Readiness readiness() const;

  // Requests of `work` waiting for a worker or running now. Background work
  // that must yield to requests (the refill of pre-generated keys) runs only
  // while the general class has none.
  std::size_t queued(Work work) const;

  // Serves until stop() or a signal; returns once everything in flight ended.
  void run();
  void stop();

  struct Impl;  // defined in server.cc; public only so its sessions can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llavero::http
