#include "app/application.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "api/metrics_routes.h"
#include "api/publication_routes.h"
#include "api/routes.h"
#include "app/data_dir.h"
#include "app/extra_roots.h"
#include "http/server.h"
#include "portal/operator_console.h"
#include "portal/portal.h"
#include "service/accounts.h"
#include "service/authorities.h"
#include "service/ca_lifecycle.h"
#include "service/callbacks.h"
#include "service/custody.h"
#include "service/downloads.h"
#include "service/emission.h"
#include "service/key_pool.h"
#include "service/key_service.h"
#include "service/mailer.h"
#include "service/processing.h"
#include "service/publication.h"
#include "service/receiver.h"
#include "service/reception.h"
#include "service/revocation_check.h"
#include "service/token_service.h"
#include "service/tool_lists.h"
#include "util/error_codes.h"
#include "util/json_log.h"
#include "util/metrics.h"
#include "xml/schema.h"

namespace llavero::app {

using namespace llavero::service;

// Declared in the order they are built: each part may refer to the ones
// above it, and they are destroyed in reverse.
struct Application::Parts {
  std::unique_ptr<DataDir> dir;
  std::unique_ptr<CaKeyring> keyring;
  std::unique_ptr<KeyCustody> custody;
  std::unique_ptr<KeyPool> key_pool;
  std::unique_ptr<KeyService> keys;
  std::unique_ptr<RevocationPublisher> publisher;
  std::unique_ptr<AccountService> accounts;
  std::unique_ptr<DownloadVault> downloads;
  std::unique_ptr<TokenService> tokens;
  std::unique_ptr<xml::SchemaValidator> schemas;
  std::unique_ptr<RevocationChecker> revocation;
  std::unique_ptr<ComprobanteProcessor> processor;
  std::unique_ptr<ReceptionService> reception;
  std::unique_ptr<EmissionService> emission;
  std::unique_ptr<ReceiverService> receiver;
  std::unique_ptr<ToolLists> lists;
  std::unique_ptr<CallbackSender> callbacks;
  std::unique_ptr<ComprobanteMailer> mailer;
  std::unique_ptr<OperatorService> operators;
  std::unique_ptr<CaLifecycle> lifecycle;
  std::unique_ptr<Supervision> supervision;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::Server> metrics_server;  // ServeOptions::metrics_listen
  std::string metrics_address;
  std::string scheme;
  std::string address;
};

namespace {

struct ListenAddress {
  std::string address;
  unsigned short port = 0;
};

Result<ListenAddress> parse_listen(std::string_view listen, std::string_view flag = "--listen") {
  const auto colon = listen.rfind(':');
  int port = -1;
  if (colon != std::string_view::npos) {
    try {
      port = std::stoi(std::string(listen.substr(colon + 1)));
    } catch (...) {
    }
  }
  if (colon == std::string_view::npos || port < 0 || port > 65535)
    return make_error(
        errc::kListenInvalido,
        fmt::format("{} \"{}\" no es DIRECCIÓN:PUERTO (p. ej. 127.0.0.1:8080).", flag, listen));
  return ListenAddress{std::string(listen.substr(0, colon)), static_cast<unsigned short>(port)};
}

http::Router make_routes(Application::Parts& p, std::size_t baseline_bytes) {
  http::Router router;
  api::add_publication_routes(router, *p.publisher);
  portal::add_portal_routes(
      router,
      portal::PortalServices{*p.keys, *p.accounts, *p.downloads, p.emission.get(), p.custody.get(),
                             p.mailer.get(), p.receiver.get(), p.lists.get()});
  api::add_api_routes(router, *p.tokens, *p.reception);
  portal::add_operator_console_routes(
      router, portal::ConsoleServices{*p.operators, *p.supervision, *p.keys, *p.accounts,
                                      *p.lifecycle, p.dir->config().operator_addresses});
  if (baseline_bytes > 0) {
    // The benchmark's yardstick: the same server answering a fixed body of
    // the OCSP response's size, so the ratio measures only our OCSP work.
    router.add(http::verb::get, "/_baseline",
               http::Route{[body = std::string(baseline_bytes, 'x')](
                               const http::Request& request,
                               const http::RouteContext&) -> std::optional<http::Response> {
                             return http::make_response(request, http::status::ok, body,
                                                        "application/octet-stream");
                           },
                           nullptr});
  }
  return router;
}

void schedule_tasks(Application::Parts& p) {
  // Revocations made by other processes are noticed within a second even
  // with no request asking; requests check on their own as well.
  p.server->every(std::chrono::seconds(1), [&p] {
    if (Status refreshed = p.publisher->refresh(); !refreshed)
      spdlog::error("actualización de CRL/OCSP: {}", refreshed.error().message);
  });
  // Comprobantes answered 202 are decided here: two workers, each taking one
  // at a time until none is waiting (or a second has passed, to let the
  // timer see a shutdown), then looking again 50 ms later.
  auto decide_waiting = [&p] {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < until) {
      auto done = p.reception->process_next(
          [&p](const ComprobanteRecord& c) { return p.processor->process(c); });
      if (!done) {
        spdlog::error("procesamiento de comprobantes: {}", done.error().message);
        break;
      }
      if (!*done) break;
    }
  };
  p.server->every(std::chrono::milliseconds(50), decide_waiting);
  p.server->every(std::chrono::milliseconds(50), decide_waiting);
  // What a server sharing the store died deciding goes back to the queue
  // once its claim is old (ReceptionService::kClaimLease).
  p.server->every(std::chrono::seconds(10), [&p] {
    if (Status requeued = p.reception->requeue_unfinished(); !requeued)
      spdlog::error("recepción: devolver a la cola: {}", requeued.error().message);
  });
  // Callbacks of decided comprobantes, and their retries (stored, so a
  // restart resumes them).
  p.server->every(std::chrono::milliseconds(200), [&p] {
    if (auto sent = p.callbacks->deliver_due(); !sent)
      spdlog::error("callbacks de la recepción: {}", sent.error().message);
  });
  // The correo to the receptor of aceptado comprobantes of the Herramienta
  // Gratuita, and its retries (stored, so a restart resumes them).
  p.server->every(std::chrono::milliseconds(500), [&p] {
    if (auto sent = p.mailer->deliver_due(); !sent)
      spdlog::error("correo al receptor: {}", sent.error().message);
  });
  // Portal keys whose download window passed are annulled; the active key
  // they would have replaced stays active.
  p.server->every(std::chrono::seconds(30), [&p] {
    if (auto annulled = p.keys->expire_pending(now_seconds()); !annulled)
      spdlog::error("anular llaves no descargadas: {}", annulled.error().message);
  });
  // Key pairs for Generar, made ahead on the pool's own idle-priority
  // thread (service/key_pool.h).
  p.key_pool->start_refilling(
      [](const Error& e) { spdlog::error("llaves pregeneradas: {}", e.message); });
  p.server->every(std::chrono::seconds(60), [&p] {
    if (Status purged = p.operators->purge_expired(); !purged)
      spdlog::error("purga de sesiones de operadores: {}", purged.error().message);
    if (Status purged = p.accounts->purge_expired(); !purged)
      spdlog::error("limpieza de sesiones y descargas: {}", purged.error().message);
  });
}

// The settings of llavero.conf (service::ClientLimitSettings) as the
// server's options. A burst is twice the rate, at least 20; 0 is no limit.
void apply_client_limits(const service::ClientLimitSettings& s, http::ServerOptions& o) {
  auto rate = [](int per_second) {
    return http::Rate{static_cast<double>(per_second),
                      per_second == 0 ? 0.0 : std::max(20.0, 2.0 * per_second)};
  };
  o.client_limits.connections_per_address = static_cast<std::size_t>(s.connections_per_address);
  o.client_limits.rates[static_cast<std::size_t>(http::Work::kPublic)] = rate(s.public_per_second);
  o.client_limits.rates[static_cast<std::size_t>(http::Work::kGeneral)] =
      rate(s.general_per_second);
  o.client_limits.rates[static_cast<std::size_t>(http::Work::kHashing)] =
      rate(s.hashing_per_second);
  o.hashing_queue = static_cast<std::size_t>(s.hashing_queue);
  o.hashing_per_address = static_cast<std::size_t>(s.hashing_queue_per_address);
  o.access_log_lines_per_second = static_cast<std::size_t>(s.access_log_lines_per_second);
}

}  // namespace

Result<std::unique_ptr<Application>> Application::open(const std::filesystem::path& data_dir,
                                                       const ServeOptions& options) {
  auto listen = parse_listen(options.listen);
  if (!listen) return listen.error();
  if (options.json_logs) spdlog::set_formatter(json_log_formatter());
  if (options.tls_certificate.empty() != options.tls_private_key.empty())
    return make_error(errc::kTlsInvalido, "Indique --tls-cert y --tls-key juntos.");

  auto p = std::make_unique<Parts>();
  auto dir = DataDir::open(data_dir);
  if (!dir) return dir.error();
  p->dir = std::move(*dir);
  auto ca_keys = p->dir->ca_key_store();
  if (!ca_keys) return ca_keys.error();
  Store& store = p->dir->store();
  const Config& config = p->dir->config();
  p->keyring = std::make_unique<CaKeyring>(store, std::move(*ca_keys));
  if (p->keyring->key_store().in_token()) {
    auto custody_key = open_token_custody_key(p->keyring->key_store());
    if (!custody_key) return custody_key.error();
    p->custody = std::make_unique<KeyCustody>(store, *p->keyring, std::move(*custody_key));
  } else {
    auto custody_key = load_or_create_custody_key(p->dir->path(), config.custody_key_file);
    if (!custody_key) return custody_key.error();
    p->custody = std::make_unique<KeyCustody>(store, *p->keyring, std::move(*custody_key));
  }
  p->keys = std::make_unique<KeyService>(store, config, *p->keyring);
  p->keys->keep_in_custody_with(p->custody.get());
  p->key_pool = std::make_unique<KeyPool>(static_cast<std::size_t>(config.key_pool_size));
  p->keys->draw_keys_from(p->key_pool.get());

  PublicationOptions publication;
  publication.crl_validity = config.crl_validity_days * 86400;
  p->publisher = std::make_unique<RevocationPublisher>(store, *p->keyring, publication);
  if (Status started = p->publisher->start(); !started) return started.error();
  p->accounts = std::make_unique<AccountService>(store, config);
  auto portal_key = load_or_create_server_key(p->dir->path() / "portal.key");
  if (!portal_key) return portal_key.error();
  p->operators = std::make_unique<OperatorService>(store, *portal_key);
  p->lifecycle =
      std::make_unique<CaLifecycle>(store, *p->keyring, config, active_administrators(store));
  p->supervision = std::make_unique<Supervision>(store, *p->keys, *p->accounts, p->publisher.get());
  p->downloads = std::make_unique<DownloadVault>(store, std::move(*portal_key));

  p->tokens = std::make_unique<TokenService>(store, *p->accounts, *p->keyring, config);
  if (Status started = p->tokens->start(); !started) return started.error();
  p->schemas = std::make_unique<xml::SchemaValidator>(xml::schema_directory(config.xsd_directory));
  if (Status loaded = p->schemas->load(); !loaded) return loaded.error();
  p->revocation = std::make_unique<RevocationChecker>(&store);
  p->processor = std::make_unique<ComprobanteProcessor>(store, *p->keyring, *p->revocation,
                                                        *p->schemas, config);
  if (Status started = p->processor->start(); !started) return started.error();
  auto extra_roots = extra_trust_roots(p->dir->path());
  if (!extra_roots) return extra_roots.error();
  p->processor->trust_also(std::move(*extra_roots));
  p->reception = std::make_unique<ReceptionService>(store, *p->tokens, config);
  if (Status requeued = p->reception->requeue_unfinished(); !requeued) return requeued.error();
  p->emission =
      std::make_unique<EmissionService>(store, config, *p->custody, *p->reception, *p->schemas);
  p->receiver = std::make_unique<ReceiverService>(store, config, *p->custody, *p->reception,
                                                  *p->schemas, *p->emission);
  p->lists = std::make_unique<ToolLists>(store);
  p->callbacks = std::make_unique<CallbackSender>(store, config);
  SecretString smtp_password;
  if (!config.mail.password_file.empty()) {
    auto read = read_smtp_password(p->dir->path() / config.mail.password_file);
    if (!read) return read.error();
    smtp_password = std::move(*read);
  }
  p->mailer =
      std::make_unique<ComprobanteMailer>(store, config, *p->emission, std::move(smtp_password));

  http::ServerOptions server_options;
  server_options.address = listen->address;
  server_options.port = listen->port;
  server_options.tls_certificate = options.tls_certificate;
  server_options.tls_private_key = options.tls_private_key;
  server_options.handle_signals = options.handle_signals;
  apply_client_limits(config.client_limits, server_options);
  server_options.publish_metrics = true;
  if (const auto& limits = config.client_limits; !limits.access_log_file.empty()) {
    auto log = http::open_rotating_access_log(
        p->dir->path() / limits.access_log_file,
        static_cast<std::size_t>(limits.access_log_max_megabytes) * 1024 * 1024,
        static_cast<std::size_t>(limits.access_log_files));
    if (!log) return log.error();
    if (options.json_logs) (*log)->set_formatter(json_log_formatter());
    server_options.access_log = std::move(*log);
  }
  p->server =
      std::make_unique<http::Server>(server_options, make_routes(*p, options.baseline_bytes));
  if (Status bound = p->server->listen(); !bound) return bound.error();
  if (!options.metrics_listen.empty()) {
    auto where = parse_listen(options.metrics_listen, "--metricas");
    if (!where) return where.error();
    http::ServerOptions metrics_options;
    metrics_options.address = where->address;
    metrics_options.port = where->port;
    metrics_options.io_threads = metrics_options.worker_threads = 1;
    metrics_options.public_threads = metrics_options.hashing_threads = 1;
    metrics_options.handle_signals = false;  // run() stops it with the main listener
    http::Router routes;
    api::add_metrics_routes(routes, metrics::process());
    p->metrics_server = std::make_unique<http::Server>(metrics_options, std::move(routes));
    if (Status bound = p->metrics_server->listen(); !bound) return bound.error();
    p->metrics_address = where->address;
  }
  schedule_tasks(*p);
  p->scheme = options.tls_certificate.empty() ? "http" : "https";
  p->address = listen->address;
  return std::unique_ptr<Application>(new Application(std::move(p)));
}

Application::Application(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Application::~Application() = default;

unsigned short Application::port() const {
  return parts_->server->port();
}

unsigned short Application::metrics_port() const {
  return parts_->metrics_server ? parts_->metrics_server->port() : 0;
}

std::string Application::banner() const {
  return fmt::format(
             "llavero sirviendo en {}://{}:{} (datos: {}; URL pública en los "
             "certificados: {})",
             parts_->scheme, parts_->address, port(), parts_->dir->path().string(),
             parts_->dir->config().base_url) +
         (parts_->metrics_server ? fmt::format("; métricas en http://{}:{}/metrics",
                                               parts_->metrics_address, metrics_port())
                                 : std::string());
}

void Application::run() {
  std::thread metrics;
  if (parts_->metrics_server) metrics = std::thread([this] { parts_->metrics_server->run(); });
  parts_->server->run();
  if (metrics.joinable()) {
    parts_->metrics_server->stop();
    metrics.join();
  }
}
void Application::stop() {
  parts_->server->stop();
}

}  // namespace llavero::app
