#include "service/reception.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <charconv>

#include "id/clave.h"
#include "id/identification.h"
#include "service/callbacks.h"
#include "service/fecha.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/metrics.h"
#include "xades/xades.h"

namespace llavero::service {

namespace {

// Hacienda's own text, which clients compare to decide to poll instead of
// sending again (odoocr/l10n_cr, account_invoice.py: `find("ya fue recibido
// anteriormente")`).
std::string duplicate_cause(std::string_view clave) {
  return fmt::format("El comprobante [{}] ya fue recibido anteriormente.", clave);
}

ReceptionAnswer refuse(unsigned status, std::string_view cause) {
  ReceptionAnswer a;
  a.status = status;
  a.headers["X-Error-Cause"] = header_safe(cause);
  a.body = boost::json::serialize(boost::json::object{{"error", cause}});
  return a;
}

// The store did not answer: try again.
ReceptionAnswer unavailable() {
  return refuse(503, "El servicio no está disponible; intente de nuevo.");
}

// 404: unknown here, or not the caller's to see.
ReceptionAnswer not_received(std::string_view clave) {
  return refuse(404, fmt::format("El comprobante [{}] no ha sido recibido.", clave));
}

// A 400 that comes from validating the request: Hacienda adds a
// validation-exception header to these.
ReceptionAnswer invalid(std::string_view cause) {
  ReceptionAnswer a = refuse(400, cause);
  a.headers["validation-exception"] = header_safe(cause);
  return a;
}

const boost::json::string* string_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->as_string() : nullptr;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// A party of the envelope. Types 01–04 are parsed as identifications; 05
// (extranjero no domiciliado) and 06 (no contribuyente) are free text of up
// to 20 characters, receptor only.
struct Party {
  std::string tipo, numero;
};

Result<Party> party(const boost::json::object& json, std::string_view name, bool receptor) {
  const auto* v = json.if_contains(name);
  if (!v || !v->is_object())
    return make_error(errc::kJson, fmt::format("Falta el campo {}.", name));
  const auto* type = string_field(v->as_object(), "tipoIdentificacion");
  const auto* number = string_field(v->as_object(), "numeroIdentificacion");
  if (!type || !number)
    return make_error(
        errc::kJson, fmt::format("{} debe tener tipoIdentificacion y numeroIdentificacion.", name));
  if (receptor && (*type == "05" || *type == "06")) {
    if (number->empty() || number->size() > 20)
      return make_error(errc::kJson, fmt::format("El numeroIdentificacion de {} debe tener de 1 "
                                                 "a 20 caracteres.",
                                                 name));
    return Party{std::string(*type), std::string(*number)};
  }
  auto id = Identification::parse(*number);
  if (id && id_type_code(id->type()) == *type) return Party{std::string(*type), id->digits()};
  // A NITE may look like a Jurídica; the declared type decides.
  if (*type == "04") {
    auto nite = Identification::parse("NITE-" + std::string(*number));
    if (nite && nite->type() == IdType::kNite) return Party{"04", nite->digits()};
  }
  if (!id) return id.error();
  return make_error(errc::kJson,
                    fmt::format("El tipoIdentificacion {} de {} no corresponde al número {}.",
                                std::string(*type), name, std::string(*number)));
}

// A callbackUrl: http(s), at most 2048 characters.
bool plausible_url(std::string_view url) {
  return url.size() <= 2048 && (url.starts_with("http://") || url.starts_with("https://")) &&
         url.find_first_of(" \r\n\t") == std::string_view::npos;
}

// The value of `key` in a query string (no decoding: the values are digits).
std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key)
      return std::string(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::int64_t> to_int(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "01" + 12 digits: a filter of /comprobantes; the digits without padding.
std::optional<std::string> party_filter(std::string_view text) {
  if (text.size() != 14 || !all_digits(text)) return std::nullopt;
  std::string digits(text.substr(2));
  const auto first = digits.find_first_not_of('0');
  return first == std::string::npos ? std::string() : digits.substr(first);
}

std::string padded12(std::string_view digits) {
  return std::string(12 - std::min<std::size_t>(12, digits.size()), '0') + std::string(digits);
}

}  // namespace

namespace {
// Comprobantes entering a state (recibido, then aceptado, rechazado or
// error), for /metrics.
metrics::CounterFamily& states = metrics::process().counters(
    "llavero_comprobantes",
    "Comprobantes de la recepción que llegaron a cada estado (recibido al aceptarse el envío; "
    "aceptado, rechazado o error al decidirse).",
    {"state"}, {{"recibido"}, {"aceptado"}, {"rechazado"}, {"error"}});

void count_state(ComprobanteState state) {
  states.with({state_name(state)}).add();
}
}  // namespace

std::string_view state_name(ComprobanteState s) {
  switch (s) {
    case ComprobanteState::kRecibido: return "recibido";
    case ComprobanteState::kProcesando: return "procesando";
    case ComprobanteState::kAceptado: return "aceptado";
    case ComprobanteState::kRechazado: return "rechazado";
    case ComprobanteState::kError: return "error";
  }
  return "recibido";
}

std::string estado_json(const ComprobanteRecord& c) {
  boost::json::object out{
      {"clave", c.clave}, {"fecha", c.fecha}, {"ind-estado", state_name(c.state)}};
  if (!c.respuesta_xml.empty()) out["respuesta-xml"] = base64_encode(c.respuesta_xml);
  return boost::json::serialize(out);
}

std::optional<Scenario> parse_scenario(std::string_view text) {
  if (text == "limite") return Scenario{Scenario::Kind::kLimite, 0};
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view name = text.substr(0, colon);
  auto value = to_int(text.substr(colon + 1));
  if (!value || *value < -1000000 || *value > 1000000) return std::nullopt;
  const int v = static_cast<int>(*value);
  if (name == "rechazar" && v != 0) return Scenario{Scenario::Kind::kRechazar, v};
  if (v < 0) return std::nullopt;
  if (name == "procesando") return Scenario{Scenario::Kind::kProcesando, v};
  if (name == "no-indexado") return Scenario{Scenario::Kind::kNoIndexado, v};
  if (name == "error-5xx") return Scenario{Scenario::Kind::kError5xx, v};
  return std::nullopt;
}

std::string header_safe(std::string_view text) {
  static const std::pair<std::string_view, std::string_view> kFold[] = {
      {"á", "a"}, {"é", "e"}, {"í", "i"}, {"ó", "o"}, {"ú", "u"},
      {"ü", "u"}, {"ñ", "n"}, {"Á", "A"}, {"É", "E"}, {"Í", "I"},
      {"Ó", "O"}, {"Ú", "U"}, {"Ñ", "N"}, {"¿", ""},  {"¡", ""}};
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    bool folded = false;
    for (const auto& [from, to] : kFold) {
      if (text.substr(i, from.size()) == from) {
        out += to;
        i += from.size();
        folded = true;
        break;
      }
    }
    if (folded) continue;
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    ++i;
  }
  return out;
}

std::string_view ReceptionService::path(Environment env) {
  return env == Environment::kProduccion ? "/recepcion/v1/recepcion"
                                         : "/recepcion-sandbox/v1/recepcion";
}

Environment ReceptionService::environment_for_host(std::string_view host) const {
  // "Host: api-sandbox.comprobanteselectronicos.go.cr:443" → the name only.
  if (const auto colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']') == std::string_view::npos)
    host = host.substr(0, colon);
  for (const std::string& name : config_.sandbox_hosts) {
    if (name.size() != host.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) ==
             std::tolower(static_cast<unsigned char>(host[i]));
    if (same) return Environment::kPruebas;
  }
  return Environment::kProduccion;
}

ReceptionService::ReceptionService(Store& store, const TokenService& tokens, const Config& config)
    : store_(store),
      tokens_(tokens),
      config_(config),
      limiter_(config.rate_limit, config.rate_window_seconds) {}

void ReceptionService::add_rate_headers(ReceptionAnswer& a, const std::string& subject) {
  const RateDecision d = limiter_.peek(subject, now_seconds());
  a.headers["X-Ratelimit-Limit"] = std::to_string(d.limit);
  a.headers["X-Ratelimit-Remaining"] = std::to_string(d.remaining);
  a.headers["X-Ratelimit-Reset"] = std::to_string(d.reset);
}

// Who sees a comprobante (GET …/recepcion/{clave}, /comprobantes): its
// emisor and its receptor, in the environment it was sent to. Whoever sent
// it is one of them (receive checks it).
bool ReceptionService::visible_to(const ComprobanteRecord& c, Environment env,
                                  const Caller& caller) {
  return c.environment == env &&
         (c.emisor_numero == caller.identification || c.receptor_numero == caller.identification);
}

ReceptionAnswer ReceptionService::with_caller(
    Environment env, const ReceptionRequest& request,
    const std::function<ReceptionAnswer(const Caller&)>& serve) {
  auto authorized = authorize(env, request);
  if (auto* refused = std::get_if<ReceptionAnswer>(&authorized)) return *refused;
  const Caller& caller = std::get<Caller>(authorized);
  ReceptionAnswer a = serve(caller);
  add_rate_headers(a, caller.api.username);
  return a;
}

std::variant<ReceptionService::Caller, ReceptionAnswer> ReceptionService::authorize(
    Environment env, const ReceptionRequest& request) {
  auto api = tokens_.check_bearer(request.authorization, env);
  if (!api) {
    if (api.error().code == errc::kTokenOtroAmbiente) return refuse(403, api.error().message);
    ReceptionAnswer a = refuse(401, api.error().message);
    a.headers["WWW-Authenticate"] = "Bearer";
    return a;
  }
  const RateDecision d = limiter_.take(api->username, now_seconds());
  if (!d.allowed) {
    ReceptionAnswer a =
        refuse(429, "Se excedió el límite de solicitudes; intente de nuevo más tarde.");
    a.headers["Retry-After"] = std::to_string(d.reset);
    add_rate_headers(a, api->username);
    return a;
  }
  auto credential = store_.find_api_credential(api->username);
  if (!credential) return unavailable();
  if (!*credential) {
    ReceptionAnswer a = refuse(401, "El usuario del token ya no tiene credenciales vigentes.");
    a.headers["WWW-Authenticate"] = "Bearer";
    return a;
  }
  auto taxpayer = store_.find_taxpayer_by_id((*credential)->taxpayer_id);
  if (!taxpayer) return unavailable();
  if (!*taxpayer) return refuse(401, "El usuario del token no existe.");
  return Caller{*api, (*taxpayer)->identification};
}

std::optional<Scenario> ReceptionService::scenario_for(Environment env,
                                                       const ReceptionRequest& request,
                                                       const std::string& identification,
                                                       ReceptionAnswer& refused) {
  std::string_view text = request.escenario;
  std::string configured;
  if (text.empty()) {
    if (auto it = config_.scenarios.find(identification); it != config_.scenarios.end())
      configured = it->second;
    text = configured;
  }
  if (text.empty()) return std::nullopt;
  if (env != Environment::kPruebas) {
    if (request.escenario.empty()) return std::nullopt;  // configured: pruebas only
    refused =
        invalid("Los escenarios (X-Llavero-Escenario) existen solo en el ambiente de pruebas.");
    return std::nullopt;
  }
  auto scenario = parse_scenario(text);
  if (!scenario)
    refused =
        invalid(fmt::format("Escenario desconocido \"{}\": use rechazar:<codigo>, "
                            "procesando:<segundos>, no-indexado:<consultas>, "
                            "error-5xx:<veces> o limite.",
                            std::string(text)));
  return scenario;
}

bool ReceptionService::count_down(const std::string& key, int times) {
  std::lock_guard lock(counters_mutex_);
  int& used = counters_[key];
  if (used >= times) return false;
  ++used;
  return true;
}

ReceptionAnswer ReceptionService::receive(Environment env, const ReceptionRequest& request) {
  return with_caller(env, request,
                     [&](const Caller& caller) { return receive_as(env, request, caller); });
}

ReceptionAnswer ReceptionService::submit(Environment env, const ApiCaller& api,
                                         const std::string& identification,
                                         std::string_view json_body) {
  return receive_as(env, ReceptionRequest{{}, json_body, {}, {}}, Caller{api, identification});
}

ReceptionAnswer ReceptionService::receive_as(Environment env, const ReceptionRequest& request,
                                             const Caller& caller) {
  ReceptionAnswer scenario_refusal;
  const auto scenario = scenario_for(env, request, caller.identification, scenario_refusal);
  if (scenario_refusal.status != 200) return scenario_refusal;
  if (scenario && scenario->kind == Scenario::Kind::kLimite) {
    ReceptionAnswer a = refuse(429, "Se excedió el límite de solicitudes (escenario limite).");
    a.headers["Retry-After"] = "1";
    return a;
  }

  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(request.body, ec);
  if (ec || !parsed.is_object()) return invalid("El cuerpo de la solicitud no es un JSON válido.");
  const boost::json::object& json = parsed.as_object();

  const auto* clave_text = string_field(json, "clave");
  if (!clave_text) return invalid("Falta el campo clave.");
  auto clave = Clave::parse(*clave_text);
  if (!clave) return invalid(clave.error().message);

  // Any RFC 3339 form; its date is not compared with the clave's here:
  // Hacienda has no such rule at POST, and a client that writes UTC after
  // 18:00 in Costa Rica would be refused. Processing compares the clave with
  // FechaEmision (docs/recepcion.md).
  const auto* fecha = string_field(json, "fecha");
  if (!fecha) return invalid("Falta el campo fecha.");
  if (!parse_fecha(*fecha))
    return invalid(
        "El campo fecha debe tener el formato ISO 8601 con zona horaria, p. ej. "
        "2026-11-26T10:00:00-06:00.");

  auto emisor = party(json, "emisor", false);
  if (!emisor) return invalid(emisor.error().message);
  std::optional<Party> receptor;
  if (json.contains("receptor")) {
    auto r = party(json, "receptor", true);
    if (!r) return invalid(r.error().message);
    receptor = *r;
  }
  if (clave->identification != padded12(emisor->numero))
    return invalid(
        fmt::format("La identificación de la clave ({}) no es la del emisor "
                    "({}).",
                    clave->identification, emisor->numero));

  std::optional<std::string> callback;
  if (const auto* url = string_field(json, "callbackUrl"); url && !url->empty()) {
    if (!plausible_url(*url)) return invalid("callbackUrl debe ser una URL http o https.");
    if (Status allowed = callback_destination_allowed(std::string(*url), env, config_); !allowed)
      return invalid(allowed.error().message);
    callback = std::string(*url);
  }

  const std::size_t max_xml =
      std::min(config_.reception_max_body / 4 * 3, xades::kMaxDocumentBytes);
  const auto* xml_b64 = string_field(json, "comprobanteXml");
  if (!xml_b64) return invalid("Falta el campo comprobanteXml.");
  std::optional<std::string> xml;
  if (xml_b64->size() <= (max_xml + 2) / 3 * 4) {
    auto decoded = base64_decode_to_string(*xml_b64, kBase64Standard);
    if (decoded && !decoded->empty() && decoded->size() <= max_xml) xml = std::move(*decoded);
  }
  if (!xml)
    return invalid(fmt::format("comprobanteXml no es base64 válido o excede {} bytes.", max_xml));

  // The API user must be the emisor's or the receptor's.
  const std::string& own = caller.identification;
  if (own != emisor->numero && !(receptor && own == receptor->numero))
    return refuse(403, "El usuario del token no puede enviar comprobantes de este emisor.");

  // A receptor's message about an invoice shares the invoice's clave; its own
  // consecutivo tells it apart.
  std::string key = clave->text;
  const bool mensaje_receptor = json.contains("consecutivoReceptor");
  if (mensaje_receptor) {
    const auto* consecutivo = string_field(json, "consecutivoReceptor");
    if (!consecutivo || consecutivo->size() != 20 || !all_digits(*consecutivo))
      return invalid("consecutivoReceptor debe tener 20 dígitos.");
    key += "-" + std::string(*consecutivo);
  }

  if (scenario && scenario->kind == Scenario::Kind::kError5xx &&
      count_down("5xx:" + key, scenario->value)) {
    ReceptionAnswer a = refuse(503, "Error interno simulado (escenario error-5xx).");
    return a;
  }

  ComprobanteRecord record;
  record.clave = key;
  record.environment = env;
  record.username = caller.api.username;
  record.fecha = std::string(*fecha);
  record.emisor_tipo = emisor->tipo;
  record.emisor_numero = emisor->numero;
  if (receptor) {
    record.receptor_tipo = receptor->tipo;
    record.receptor_numero = receptor->numero;
  }
  record.xml = Bytes(xml->begin(), xml->end());
  record.callback_url = callback;
  if (config_.rule_consecutivo && !mensaje_receptor) record.consecutivo = clave->consecutivo;
  if (scenario)
    record.escenario =
        std::string(request.escenario.empty() ? config_.scenarios.at(caller.identification)
                                              : std::string(request.escenario));
  Status added = store_.add_comprobante(record);
  if (!added) {
    if (added.error().code == errc::kClaveDuplicada) return invalid(duplicate_cause(key));
    if (added.error().code == errc::kConsecutivoUsado) return invalid(added.error().message);
    return unavailable();
  }
  count_state(ComprobanteState::kRecibido);
  ReceptionAnswer a;
  a.status = 202;
  std::string base = config_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  a.headers["Location"] = fmt::format("{}{}/{}", base, path(env), key);
  if (env == Environment::kPruebas) a.headers["X-Ambiente"] = header_safe(kSandboxNotice);
  return a;
}

ReceptionAnswer ReceptionService::query(Environment env, const ReceptionRequest& request,
                                        const std::string& clave) {
  return with_caller(env, request,
                     [&](const Caller& caller) { return query_as(env, caller, clave); });
}

ReceptionAnswer ReceptionService::query_as(Environment env, const Caller& caller,
                                           const std::string& clave) {
  auto found = store_.find_comprobante(clave);
  if (!found) return unavailable();
  bool visible = *found && visible_to(**found, env, caller);
  std::optional<Scenario> scenario;
  if (visible && (*found)->escenario) scenario = parse_scenario(*(*found)->escenario);
  if (scenario && scenario->kind == Scenario::Kind::kNoIndexado &&
      count_down("idx:" + clave, scenario->value))
    visible = false;  // Hacienda's indexing lag: 404 just after a 202
  if (!visible) return not_received(clave);
  ComprobanteRecord c = **found;
  if (scenario && scenario->kind == Scenario::Kind::kProcesando &&
      now_seconds() < c.received_at + scenario->value && c.state != ComprobanteState::kRecibido) {
    c.state = ComprobanteState::kProcesando;
    c.respuesta_xml.clear();
  }
  ReceptionAnswer a;
  a.status = 200;
  a.body = estado_json(c);
  return a;
}

ReceptionAnswer ReceptionService::list(Environment env, const ReceptionRequest& request,
                                       const std::string& rest) {
  return with_caller(env, request,
                     [&](const Caller& caller) { return list_as(env, request, caller, rest); });
}

ReceptionAnswer ReceptionService::list_as(Environment env, const ReceptionRequest& request,
                                          const Caller& caller, const std::string& rest) {
  auto party_json = [](const std::string& tipo, const std::string& numero,
                       const std::string& nombre) {
    boost::json::object o{{"tipoIdentificacion", tipo}, {"numeroIdentificacion", numero}};
    if (!nombre.empty()) o["nombre"] = nombre;
    return o;
  };
  auto summary = [&](const ComprobanteRecord& c) {
    boost::json::object o{{"clave", c.clave},
                          {"fechaEmision", c.fecha},
                          {"emisor", party_json(c.emisor_tipo, c.emisor_numero, "")}};
    if (c.receptor_numero)
      o["receptor"] = party_json(c.receptor_tipo.value_or(""), *c.receptor_numero, "");
    return o;
  };

  if (!rest.empty()) {
    auto found = store_.find_comprobante(rest);
    if (!found) return unavailable();
    if (!*found || !visible_to(**found, env, caller)) return not_received(rest);
    const ComprobanteRecord& c = **found;
    boost::json::object out = summary(c);
    // The emisor's name, from the store when it is a taxpayer here.
    if (auto t = store_.find_taxpayer(c.emisor_numero); t && *t)
      out["emisor"] =
          party_json(c.emisor_tipo, c.emisor_numero,
                     (*t)->apellidos.empty() ? (*t)->nombre : (*t)->nombre + " " + (*t)->apellidos);
    boost::json::array credito, debito;
    auto notas = store_.referencing(c.clave);
    if (!notas) return unavailable();
    for (const ComprobanteRecord& n : *notas) {
      // A nota anyone may have sent naming this clave: shown only to its own
      // emisor and receptor, like any comprobante.
      if (!visible_to(n, env, caller)) continue;
      const std::string tipo = n.clave.size() >= 31 ? n.clave.substr(29, 2) : "";
      boost::json::object entry{{"clave", n.clave}, {"fechaEmision", n.fecha}};
      if (tipo == "03") credito.push_back(std::move(entry));
      if (tipo == "02") debito.push_back(std::move(entry));
    }
    out["notasCredito"] = std::move(credito);
    out["notasDebito"] = std::move(debito);
    ReceptionAnswer a;
    a.body = boost::json::serialize(out);
    return a;
  }

  ComprobanteQuery q{env, caller.identification, std::nullopt, std::nullopt, 0, 50};
  if (auto v = query_value(request.query, "offset")) {
    auto n = to_int(*v);
    if (!n || *n < 0) return invalid("offset debe ser un entero no negativo.");
    q.offset = *n;
  }
  if (auto v = query_value(request.query, "limit")) {
    auto n = to_int(*v);
    if (!n || *n < 1 || *n > 100) return invalid("limit debe ser un entero de 1 a 100.");
    q.limit = *n;
  }
  for (auto [name, field] : {std::pair{"emisor", &q.emisor}, std::pair{"receptor", &q.receptor}}) {
    if (auto v = query_value(request.query, name)) {
      auto digits = party_filter(*v);
      if (!digits)
        return invalid(
            fmt::format("{} debe ser el tipo (2 dígitos) y el número (12 "
                        "dígitos), p. ej. 01000108880888.",
                        name));
      *field = *digits;
    }
  }
  auto page = store_.list_comprobantes(q);
  if (!page) return unavailable();
  boost::json::array items;
  for (const ComprobanteRecord& c : page->items) items.push_back(summary(c));
  ReceptionAnswer a;
  a.body = boost::json::serialize(items);
  const std::int64_t last = q.offset + static_cast<std::int64_t>(page->items.size());
  if (last < page->total) {
    a.status = 206;
    a.headers["Content-Range"] =
        fmt::format("comprobantes {}-{}/{}", q.offset, std::max(q.offset, last - 1), page->total);
  }
  return a;
}

Result<bool> ReceptionService::process_next(const Processor& process) {
  auto claimed = store_.claim_comprobante();
  if (!claimed) return claimed.error();
  if (!*claimed) return false;
  auto result = process(**claimed);
  if (!result) {
    // Could not decide (e.g. the store went away): try again later.
    LLAVERO_TRY(store_.finish_comprobante((*claimed)->clave, ComprobanteState::kRecibido, {}));
    return result.error();
  }
  if (result->referencia)
    LLAVERO_TRY(store_.set_referencia((*claimed)->clave, *result->referencia));
  const ComprobanteState state = result->unprocessable ? ComprobanteState::kError
                                 : result->accepted    ? ComprobanteState::kAceptado
                                                       : ComprobanteState::kRechazado;
  LLAVERO_TRY(store_.finish_comprobante((*claimed)->clave, state, result->mensaje_hacienda));
  count_state(state);
  // One line per decision: with several servers on one store, a clave in
  // two servers' logs would be a document decided twice.
  spdlog::info("recepción: {} decidido: {}", (*claimed)->clave, state_name(state));
  return true;
}

Status ReceptionService::requeue_unfinished(UnixSeconds claimed_at_least) {
  return store_.requeue_comprobantes(now_seconds() - claimed_at_least);
}

}  // namespace llavero::service
