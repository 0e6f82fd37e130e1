// The reception API (docs/recepcion.md): POST …/recepcion takes a signed
// comprobante with its JSON envelope, checks what can be checked at once
// (token, JSON, clave, emisor, consecutivo) and answers 202 with a Location,
// or 400 with X-Error-Cause (and validation-exception). Each comprobante is
// then processed on its own (recibido → procesando → aceptado | rechazado |
// error) and GET …/recepcion/{clave} reports its state and, once decided,
// the signed MensajeHacienda; the same JSON is POSTed to its callbackUrl
// (service/callbacks.h). GET …/comprobantes lists what a token's owner sent
// or received. Every answer carries the X-Ratelimit-* headers of the token's
// subject. In pruebas, scenarios make the outcomes integrators cannot force
// on Hacienda's sandbox reproducible. State lives in the store, so a restart
// loses nothing that was answered 202.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <variant>

#include "service/rate_limit.h"
#include "service/token_service.h"
#include "store/store.h"

namespace llavero::service {

// The sentence every answer of the pruebas environment carries (docs/api.md).
inline constexpr std::string_view kSandboxNotice =
    "Este comprobante fue recibido en el ambiente de pruebas, por lo cual no tiene validez para "
    "fines tributarios.";

struct ReceptionAnswer {
  unsigned status = 200;
  std::map<std::string, std::string> headers;
  std::string body;  // JSON, possibly empty
};

// What a route passes on from an HTTP request.
struct ReceptionRequest {
  std::string_view authorization;
  std::string_view body;
  std::string_view escenario;  // X-Llavero-Escenario
  std::string_view query;      // the target's query string, without '?'
};

// The outcome of processing one comprobante: the MensajeHacienda to store.
struct ProcessingResult {
  bool accepted = false;
  bool unprocessable = false;             // state "error": not XML, not a known document
  Bytes mensaje_hacienda;                 // signed XML
  std::optional<std::string> referencia;  // the clave a nota references
};

// A scenario of pruebas (docs/recepcion.md): rechazar:<codigo>,
// procesando:<segundos>, no-indexado:<consultas>, error-5xx:<veces>, limite.
struct Scenario {
  enum class Kind { kRechazar, kProcesando, kNoIndexado, kError5xx, kLimite } kind;
  int value = 0;
};
std::optional<Scenario> parse_scenario(std::string_view text);

// The JSON of GET …/recepcion/{clave}, also POSTed to the callbackUrl.
std::string estado_json(const ComprobanteRecord& c);
std::string_view state_name(ComprobanteState s);

class ReceptionService {
 public:
  ReceptionService(Store& store, const TokenService& tokens, const Config& config);

  ReceptionAnswer receive(Environment env, const ReceptionRequest& request);
  ReceptionAnswer query(Environment env, const ReceptionRequest& request, const std::string& clave);
  // GET …/comprobantes (rest empty) and …/comprobantes/{clave}.
  ReceptionAnswer list(Environment env, const ReceptionRequest& request, const std::string& rest);

  // The Herramienta Gratuita's way in (service/emission.h): the same POST
  // with the same checks, from a taxpayer the portal already authenticated
  // instead of a bearer token: no rate limit and no X-Llavero-Escenario
  // header (a scenario configured for the taxpayer still applies).
  ReceptionAnswer submit(Environment env, const ApiCaller& api, const std::string& identification,
                         std::string_view json_body);

  // Takes one waiting comprobante, if any, runs `process` on it and records
  // the answer. Returns whether there was one. For a worker-pool timer.
  using Processor = std::function<Result<ProcessingResult>(const ComprobanteRecord&)>;
  Result<bool> process_next(const Processor& process);
  // Puts back in the queue what a stopped server was deciding: what was
  // claimed at least `claimed_at_least` seconds ago and is still not
  // decided. Deciding one takes well under kClaimLease, so with several
  // servers on one store, a claim older than that belongs to a server that
  // died; a younger one may be a live server's work. At start-up and then
  // periodically.
  static constexpr UnixSeconds kClaimLease = 30;
  Status requeue_unfinished(UnixSeconds claimed_at_least = kClaimLease);

  // The body limit of POST …/recepcion (recepcion_max_bytes).
  std::size_t max_body() const { return config_.reception_max_body; }

  // The path of the reception endpoint of an environment.
  static std::string_view path(Environment env);
  // The environment a request to Hacienda's production path reaches given its
  // Host header: pruebas for the configured sandbox host names.
  Environment environment_for_host(std::string_view host) const;

 private:
  struct Caller {
    ApiCaller api;
    std::string identification;  // the token owner's digits
  };
  // The caller, or the 401/403 answer; counts the request against the
  // subject's limit (429 beyond it).
  std::variant<Caller, ReceptionAnswer> authorize(Environment env, const ReceptionRequest& request);
  std::optional<Scenario> scenario_for(Environment env, const ReceptionRequest& request,
                                       const std::string& identification, ReceptionAnswer& refused);
  void add_rate_headers(ReceptionAnswer& a, const std::string& subject);
  static bool visible_to(const ComprobanteRecord& c, Environment env, const Caller& caller);
  // Every answer of an authorized request: `serve` with the caller, then the
  // X-Ratelimit-* headers of its subject. A refused one is answered as is.
  ReceptionAnswer with_caller(Environment env, const ReceptionRequest& request,
                              const std::function<ReceptionAnswer(const Caller&)>& serve);
  ReceptionAnswer receive_as(Environment env, const ReceptionRequest& request,
                             const Caller& caller);
  ReceptionAnswer query_as(Environment env, const Caller& caller, const std::string& clave);
  ReceptionAnswer list_as(Environment env, const ReceptionRequest& request, const Caller& caller,
                          const std::string& rest);
  // Counts down a scenario counter; true while it has not run out.
  bool count_down(const std::string& key, int times);

  Store& store_;
  const TokenService& tokens_;
  const Config& config_;
  RateLimiter limiter_;
  std::mutex counters_mutex_;
  std::map<std::string, int> counters_;  // scenario counters (no-indexado, error-5xx)
};

// Text fit for an HTTP header: Spanish accents folded to ASCII.
std::string header_safe(std::string_view text);

}  // namespace llavero::service
