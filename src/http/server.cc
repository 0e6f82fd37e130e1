#include "http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "http/access_log.h"
#include "util/error_codes.h"
#include "util/metrics.h"

namespace llavero::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct SessionBase {
  virtual ~SessionBase() = default;
  virtual void close_if_idle() = 0;
};

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Router r)
      : options(std::move(o)),
        router(std::move(r)),
        ioc(options.io_threads),
        pools{
            std::make_unique<asio::thread_pool>(static_cast<std::size_t>(options.public_threads)),
            std::make_unique<asio::thread_pool>(static_cast<std::size_t>(options.worker_threads)),
            std::make_unique<asio::thread_pool>(static_cast<std::size_t>(options.hashing_threads))},
        limits(options.client_limits),
        access_log(options.access_log_lines_per_second, options.access_log),
        acceptor(ioc),
        signals(ioc) {
    if (options.publish_metrics) count_in(metrics::process());
  }

  // Requests by class of work ("ninguna": refused before a route was found)
  // and status, and their latency from the header's arrival to the last
  // byte written; the queues and connections are read at each scrape.
  void count_in(metrics::Registry& registry);
  void count(std::optional<Work> work, unsigned status, std::chrono::microseconds took);

  void accept();
  void shutdown();
  void track(const std::shared_ptr<SessionBase>& session) {
    std::lock_guard lock(sessions_mu);
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(session);
  }
  void schedule(asio::steady_timer& timer, std::chrono::milliseconds period,
                std::function<void()> task);

  std::size_t capacity(Work work) const {
    return work == Work::kHashing ? options.hashing_queue : options.max_queued_jobs;
  }
  asio::thread_pool& pool_for(Work work) { return *pools[static_cast<std::size_t>(work)]; }
  // Takes a place in the queue of `work` for `address`; false when the queue
  // (or, for hashing, that address's share of it) is full.
  bool enqueue(Work work, const std::string& address);
  void dequeue(Work work, const std::string& address);
  // Runs `job` on the pool of `work`. Hashing jobs take turns by address
  // (round robin), so a stranger's queued jobs never stand in front of the
  // first job of another address.
  void run_later(Work work, const std::string& address, std::function<void()> job);
  void run_next_hashing_job();
  Server::Readiness readiness() const;

  ServerOptions options;
  Router router;
  asio::io_context ioc;
  // One pool per http::Work (public, general, hashing) and its queue length.
  std::array<std::unique_ptr<asio::thread_pool>, kWorkClasses> pools;
  std::array<std::atomic<std::size_t>, kWorkClasses> queued{};
  std::mutex hashing_mu;
  std::unordered_map<std::string, std::size_t> hashing_by_address;
  // The hashing jobs waiting, per address, and the turn of the addresses.
  std::unordered_map<std::string, std::deque<std::function<void()>>> hashing_jobs;
  std::deque<std::string> hashing_turns;
  // Hashing jobs running now, per address (at most hashing_threads − 1 each).
  std::unordered_map<std::string, std::size_t> hashing_running;
  ClientLimits limits;
  AccessLog access_log;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::optional<asio::ssl::context> tls;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> connections{0};
  std::mutex sessions_mu;
  std::vector<std::weak_ptr<SessionBase>> sessions;
  std::vector<std::unique_ptr<asio::steady_timer>> timers;
  metrics::CounterFamily* requests = nullptr;                      // null: not counted
  std::array<metrics::Histogram*, kWorkClasses + 1> latency = {};  // the last: no route
  metrics::Registry::GaugeHandle queue_gauge, capacity_gauge, connections_gauge;
};

void Server::Impl::count_in(metrics::Registry& registry) {
  requests = &registry.counters("llavero_http_requests",
                                "Solicitudes HTTP respondidas, por clase de trabajo y estado.",
                                {"class", "status"});
  auto& histograms = registry.histograms(
      "llavero_http_request_duration_seconds",
      "Segundos desde que llega el encabezado hasta el último byte de la respuesta.", {"class"},
      metrics::latency_buckets());
  for (std::size_t i = 0; i <= kWorkClasses; ++i)
    latency[i] = &histograms.with({i < kWorkClasses ? work_name(static_cast<Work>(i)) : "ninguna"});
  auto per_class = [this](bool room) {
    std::vector<metrics::GaugeSample> out;
    for (Work work : {Work::kPublic, Work::kGeneral, Work::kHashing})
      out.push_back({{std::string(work_name(work))},
                     static_cast<double>(room ? capacity(work)
                                              : queued[static_cast<std::size_t>(work)].load())});
    return out;
  };
  queue_gauge = registry.gauge("llavero_http_queue_depth",
                               "Solicitudes esperando o en curso en cada cola de trabajo.",
                               {"class"}, [per_class] { return per_class(false); });
  capacity_gauge =
      registry.gauge("llavero_http_queue_capacity",
                     "Lugares de cada cola de trabajo; llena, sus rutas responden 503.", {"class"},
                     [per_class] { return per_class(true); });
  connections_gauge = registry.gauge(
      "llavero_http_connections", "Conexiones abiertas.", {}, [this] {
        return std::vector<metrics::GaugeSample>{{{}, static_cast<double>(connections.load())}};
      });
}

void Server::Impl::count(std::optional<Work> work, unsigned status,
                         std::chrono::microseconds took) {
  if (requests == nullptr) return;
  requests->with({work ? work_name(*work) : "ninguna", std::to_string(status)}).add();
  latency[work ? static_cast<std::size_t>(*work) : kWorkClasses]->observe(
      static_cast<double>(took.count()) / 1e6);
}

namespace {

template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  // The caller has counted the connection against `remote` (ClientLimits);
  // the session gives it back when it ends.
  Session(Server::Impl& server, Stream stream, std::string remote)
      : server_(server), stream_(std::move(stream)), remote_(std::move(remote)) {
    ++server_.connections;
  }
  ~Session() override {
    --server_.connections;
    server_.limits.release_connection(remote_);
  }

  void start() {
    auto self = this->shared_from_this();
    asio::dispatch(stream_.get_executor(), [self] {
      if constexpr (kTls) {
        beast::get_lowest_layer(self->stream_).expires_after(self->server_.options.header_timeout);
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return;  // a failed handshake is not a request
          self->read_request(self->server_.options.header_timeout);
        });
      } else {
        self->read_request(self->server_.options.header_timeout);
      }
    });
  }

  void close_if_idle() override {
    auto self = this->shared_from_this();
    asio::post(stream_.get_executor(), [self] {
      if (self->waiting_ && self->buffer_.size() == 0) {
        beast::error_code ec;
        beast::get_lowest_layer(self->stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(self->stream_).close();
      }
    });
  }

 private:
  void read_request(std::chrono::seconds timeout) {
    if (server_.stopping && buffer_.size() == 0) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    // No limit while the header is read: Beast would judge Content-Length
    // against it before the route is known. on_header sets the real one.
    parser_->body_limit(boost::none);
    waiting_ = true;
    // One deadline for the whole header: a client trickling a byte at a time
    // cannot stretch it.
    beast::get_lowest_layer(stream_).expires_after(timeout);
    // The header first: the route it names may allow a larger body.
    beast_http::async_read_header(stream_, buffer_, *parser_,
                                  [self = this->shared_from_this()](
                                      beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    waiting_ = false;
    started_ = Clock::now();
    work_.reset();
    const auto& header = parser_->get();
    if (auto problem = http::framing_problem(header); !problem.empty()) {
      method_ = std::string(header.method_string());
      path_ = "-";
      Request dummy;
      dummy.version(11);
      dummy.keep_alive(false);  // what follows on this stream cannot be trusted
      return send(error_response(dummy, http::status::bad_request, problem));
    }
    std::size_t limit = server_.router.body_limit(header.method(), header.target());
    if (limit == 0) limit = server_.options.body_limit;
    if (auto length = parser_->content_length(); length && *length > limit)
      return on_read(beast_http::error::body_limit);
    parser_->body_limit(limit);  // also bounds a chunked body as it arrives
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                             self->on_read(ec);
                           });
  }

  void on_read(beast::error_code ec) {
    waiting_ = false;
    started_ = Clock::now();
    if (ec == beast_http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
      return close();
    if (ec) {
      Request dummy;
      dummy.version(11);
      dummy.keep_alive(false);
      method_ = "-";
      path_ = "-";
      if (ec == beast_http::error::body_limit)
        return send(error_response(dummy, http::status::payload_too_large,
                                   "El cuerpo de la solicitud es demasiado grande."));
      if (ec == beast_http::error::header_limit)
        return send(error_response(dummy, http::status::request_header_fields_too_large,
                                   "Los encabezados de la solicitud son demasiado grandes."));
      return send(error_response(dummy, http::status::bad_request, "Solicitud HTTP mal formada."));
    }
    dispatch(parser_->release());
  }

  void dispatch(Request request) {
    RouteContext context;
    context.remote_address = remote_;
    context.tls = kTls;
    after_send_ = context.after_send;
    context.path = std::string(target_path(request.target()));
    method_ = std::string(request.method_string());
    path_ = context.path.substr(0, 200);
    if (!safe_target(context.path))
      return send(error_response(request, http::status::bad_request, "Ruta inválida."));
    if (context.path == "/readyz" && request.method() == http::verb::get)
      return send(readyz(request));
    const Router::Match match = server_.router.find(request.method(), context.path);
    const Route* found = match.route;
    if (!found) {
      if (match.path_known) {
        Response refused =
            error_response(request, http::status::method_not_allowed, "Método no permitido.");
        refused.set(http::field::allow, match.allow);
        return send(std::move(refused));
      }
      found = server_.router.not_found();
      if (!found) return send(error_response(request, http::status::not_found, "No encontrado."));
    }
    context.rest = std::string(match.rest);
    const Route& route = *found;
    work_ = route.work;
    if (auto admission = server_.limits.admit(remote_, route.work); !admission.allowed) {
      Response refused = error_response(request, http::status::too_many_requests,
                                        "Demasiadas solicitudes; intente de nuevo en un momento.");
      refused.set(http::field::retry_after, std::to_string(admission.retry_after));
      // Answered after a pause of a second: a client that ignores Retry-After
      // and asks again at once is slowed to a request a second per
      // connection it may hold, instead of the server spending its cores on
      // thousands of refusals a second (the token flood of issue 12).
      return send_after(std::chrono::seconds(1), std::move(refused));
    }
    if (route.fast) {
      std::optional<Response> answer;
      try {
        answer = route.fast(request, context);
      } catch (const std::exception& e) {
        spdlog::error("error en {}: {}", path_, e.what());
        wipe_body(request);
        return send(error_response(request, http::status::internal_server_error, "Error interno."));
      }
      if (answer) {
        wipe_body(request);
        return send(std::move(*answer), std::move(context.shared_body));
      }
      context.shared_body.reset();
    }
    if (!route.slow)
      return send(error_response(request, http::status::internal_server_error, "Error interno."));
    if (!server_.enqueue(route.work, remote_)) {
      Response busy = error_response(request, http::status::service_unavailable,
                                     "El servidor está ocupado; intente de nuevo.");
      busy.set(http::field::retry_after, "1");
      return send(std::move(busy));
    }
    // The work guard keeps the I/O loop alive while the pool holds the request.
    server_.run_later(
        route.work, remote_,
        [self = this->shared_from_this(), request = std::move(request),
         context = std::move(context), &route,
         guard = asio::make_work_guard(server_.ioc)]() mutable {
          Response answer;
          try {
            answer = route.slow(request, context);
          } catch (const std::exception& e) {
            spdlog::error("error en {}: {}", self->path_, e.what());
            answer = error_response(request, http::status::internal_server_error, "Error interno.");
            context.shared_body.reset();
          }
          wipe_body(request);  // it may hold a PIN or a password
          self->server_.dequeue(route.work, self->remote_);
          asio::post(self->stream_.get_executor(),
                     [self, answer = std::move(answer),
                      shared = std::move(context.shared_body)]() mutable {
                       self->send(std::move(answer), std::move(shared));
                     });
        });
  }

  void send_after(std::chrono::steady_clock::duration pause, Response response) {
    auto timer = std::make_shared<asio::steady_timer>(stream_.get_executor(), pause);
    timer->async_wait([self = this->shared_from_this(), timer,
                       response = std::move(response)](beast::error_code) mutable {
      self->send(std::move(response));
    });
  }

  // With `shared`, the response's headers go out with those bytes as the
  // body, written from the shared buffer itself.
  void send(Response response, SharedBytes shared = nullptr) {
    if (server_.stopping) response.keep_alive(false);
    status_ = response.result_int();
    keep_alive_ = response.keep_alive();
    if (!shared) return write(std::make_shared<Response>(std::move(response)));
    auto message = std::make_shared<beast_http::response<SharedBytesBody>>(
        std::move(response.base()), std::move(shared));
    message->prepare_payload();
    write(std::move(message));
  }

  template <class Message>
  void write(std::shared_ptr<Message> message) {
    beast::get_lowest_layer(stream_).expires_after(server_.options.request_timeout);
    Message& m = *message;
    beast_http::async_write(
        stream_, m,
        [self = this->shared_from_this(), message = std::move(message)](
            beast::error_code ec, std::size_t bytes) mutable {
          message.reset();  // the shared body is no longer ours
          self->on_write(ec, bytes);
        });
  }

  void on_write(beast::error_code ec, std::size_t bytes) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_).count();
    server_.access_log.write(fmt::format("{} {} {} {} {} {}us", remote_, method_, path_,
                                         status_, bytes, micros));
    server_.count(work_, status_, std::chrono::microseconds(micros));
    const bool keep_alive = keep_alive_ && !server_.stopping;
    if (after_send_) {
      auto hook = std::move(after_send_);
      if (*hook) (*hook)(!ec);
    }
    if (ec || !keep_alive) return close();
    read_request(server_.options.idle_timeout);
  }

  void close() {
    beast::error_code ec;
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::get_lowest_layer(self->stream_).close();
      });
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  Response readyz(const Request& request) {
    const Server::Readiness r = server_.readiness();
    Response answer =
        make_response(request, r.ready ? http::status::ok : http::status::service_unavailable,
                      fmt::format("{}\n{}\n", r.ready ? "listo" : "saturado", r.detail),
                      "text/plain; charset=utf-8");
    answer.set(http::field::cache_control, "no-store");
    if (!r.ready) answer.set(http::field::retry_after, "1");
    return answer;
  }

  Server::Impl& server_;
  Stream stream_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  unsigned status_ = 0;  // of the response being written
  bool keep_alive_ = false;
  std::shared_ptr<std::function<void(bool)>> after_send_;
  bool waiting_ = false;
  Clock::time_point started_;
  std::optional<Work> work_;  // the route's class, for /metrics
  std::string method_, path_;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (!ec) {
      std::string remote = "?";
      auto endpoint = socket.remote_endpoint(ec);
      if (!ec) remote = endpoint.address().to_string();
      if (connections.load() >= options.max_connections || !limits.open_connection(remote)) {
        // Refused before a byte is read: closing at once costs the least.
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
      } else {
        if (tls) {
          using TlsStream = beast::ssl_stream<beast::tcp_stream>;
          auto session = std::make_shared<Session<TlsStream>>(
              *this, TlsStream(beast::tcp_stream(std::move(socket)), *tls), remote);
          track(session);
          session->start();
        } else {
          auto session = std::make_shared<Session<beast::tcp_stream>>(
              *this, beast::tcp_stream(std::move(socket)), remote);
          track(session);
          session->start();
        }
      }
    }
    accept();
  });
}

bool Server::Impl::enqueue(Work work, const std::string& address) {
  const auto i = static_cast<std::size_t>(work);
  if (work == Work::kHashing) {
    std::lock_guard lock(hashing_mu);
    std::size_t& mine = hashing_by_address[address];
    if (queued[i].load() >= capacity(work) || mine >= options.hashing_per_address) {
      if (mine == 0) hashing_by_address.erase(address);
      return false;
    }
    ++mine;
    ++queued[i];
    return true;
  }
  if (queued[i].load() >= capacity(work)) return false;
  ++queued[i];
  return true;
}

void Server::Impl::dequeue(Work work, const std::string& address) {
  const auto i = static_cast<std::size_t>(work);
  if (work == Work::kHashing) {
    std::lock_guard lock(hashing_mu);
    if (auto it = hashing_by_address.find(address);
        it != hashing_by_address.end() && --it->second == 0)
      hashing_by_address.erase(it);
  }
  --queued[i];
}

void Server::Impl::run_later(Work work, const std::string& address, std::function<void()> job) {
  if (work != Work::kHashing) {
    asio::post(pool_for(work), std::move(job));
    return;
  }
  {
    std::lock_guard lock(hashing_mu);
    auto& waiting = hashing_jobs[address];
    if (waiting.empty()) hashing_turns.push_back(address);
    waiting.push_back(std::move(job));
  }
  asio::post(pool_for(work), [this] { run_next_hashing_job(); });
}

// One posted call per job queued, and one more each time a job ends; each
// call runs the job of the next address in turn that is not already using
// its share of the hashing threads. So one address never holds every thread:
// a newcomer's password is hashed as soon as one thread is free of it,
// instead of after the stranger's queue (issue 12, the token flood).
void Server::Impl::run_next_hashing_job() {
  std::function<void()> job;
  std::string address;
  {
    std::lock_guard lock(hashing_mu);
    const std::size_t share =
        std::max<std::size_t>(1, static_cast<std::size_t>(options.hashing_threads) - 1);
    auto turn = std::find_if(hashing_turns.begin(), hashing_turns.end(), [&](const std::string& a) {
      auto r = hashing_running.find(a);
      return r == hashing_running.end() || r->second < share;
    });
    if (turn == hashing_turns.end()) return;  // a job that ends will call again
    address = std::move(*turn);
    hashing_turns.erase(turn);
    auto it = hashing_jobs.find(address);
    job = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty())
      hashing_jobs.erase(it);
    else
      hashing_turns.push_back(address);
    ++hashing_running[address];
  }
  struct Done {
    Impl* self;
    const std::string& address;
    ~Done() {
      bool waiting = false;
      {
        std::lock_guard lock(self->hashing_mu);
        if (auto r = self->hashing_running.find(address);
            r != self->hashing_running.end() && --r->second == 0)
          self->hashing_running.erase(r);
        waiting = !self->hashing_turns.empty();
      }
      if (waiting)
        asio::post(self->pool_for(Work::kHashing), [self = self] { self->run_next_hashing_job(); });
    }
  } done{this, address};
  job();
}

void Server::Impl::shutdown() {
  if (stopping.exchange(true)) return;
  spdlog::info("deteniendo: se terminan las solicitudes en curso");
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  for (auto& timer : timers) timer->cancel();
  std::lock_guard lock(sessions_mu);
  for (auto& weak : sessions)
    if (auto session = weak.lock()) session->close_if_idle();
}

void Server::Impl::schedule(asio::steady_timer& timer, std::chrono::milliseconds period,
                            std::function<void()> task) {
  timer.expires_after(period);
  timer.async_wait([this, &timer, period, task = std::move(task)](beast::error_code ec) mutable {
    if (ec || stopping) return;
    asio::post(pool_for(Work::kGeneral), [this, &timer, period, task = std::move(task),
                                          guard = asio::make_work_guard(ioc)]() mutable {
      try {
        task();
      } catch (const std::exception& e) {
        spdlog::error("tarea periódica: {}", e.what());
      }
      asio::post(ioc, [this, &timer, period, task = std::move(task)]() mutable {
        if (!stopping) schedule(timer, period, std::move(task));
      });
    });
  });
}

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() = default;

Status Server::listen() {
  auto& o = impl_->options;
  try {
    if (!o.tls_certificate.empty() || !o.tls_private_key.empty()) {
      impl_->tls.emplace(asio::ssl::context::tls_server);
      impl_->tls->set_options(asio::ssl::context::default_workarounds |
                              asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                              asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      impl_->tls->use_certificate_chain_file(o.tls_certificate);
      impl_->tls->use_private_key_file(o.tls_private_key, asio::ssl::context::pem);
    }
    tcp::endpoint endpoint(asio::ip::make_address(o.address), o.port);
    impl_->acceptor.open(endpoint.protocol());
    impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
    impl_->acceptor.bind(endpoint);
    impl_->acceptor.listen(asio::socket_base::max_listen_connections);
  } catch (const std::exception& e) {
    return make_error(errc::kServidor,
                      fmt::format("No se pudo escuchar en {}:{}: {}", o.address, o.port, e.what()));
  }
  return Ok{};
}

unsigned short Server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void Server::every(std::chrono::milliseconds period, std::function<void()> task) {
  impl_->timers.push_back(std::make_unique<asio::steady_timer>(impl_->ioc));
  impl_->schedule(*impl_->timers.back(), period, std::move(task));
}

void Server::run() {
  Impl& s = *impl_;
  if (s.options.handle_signals) {
    s.signals.add(SIGINT);
    s.signals.add(SIGTERM);
    s.signals.async_wait([&s](beast::error_code ec, int) {
      if (!ec) s.shutdown();
    });
  }
  s.accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < s.options.io_threads; ++i) threads.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (auto& t : threads) t.join();
  for (auto& pool : s.pools) pool->join();
}

Server::Readiness Server::readiness() const {
  return impl_->readiness();
}

std::size_t Server::queued(Work work) const {
  return impl_->queued[static_cast<std::size_t>(work)].load();
}

Server::Readiness Server::Impl::readiness() const {
  Server::Readiness r;
  for (Work work : {Work::kPublic, Work::kGeneral, Work::kHashing}) {
    const std::size_t waiting = queued[static_cast<std::size_t>(work)].load();
    const std::size_t room = capacity(work);
    if (waiting >= room) r.ready = false;
    r.detail +=
        fmt::format("{}{}: {}/{}", r.detail.empty() ? "" : ", ", work_name(work), waiting, room);
  }
  return r;
}

void Server::stop() {
  asio::post(impl_->ioc, [this] { impl_->shutdown(); });
}

}  // namespace llavero::http
