#include "service/reception.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <boost/json.hpp>

#include "id/clave.h"
#include "id/identification.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

constexpr std::size_t kMaxXmlBytes = 1024 * 1024;

ReceptionAnswer refuse(unsigned status, std::string_view cause, Environment env) {
  ReceptionAnswer a;
  a.status = status;
  a.headers["X-Error-Cause"] = header_safe(cause);
  boost::json::object body{{"error", cause}};
  if (env == Environment::kPruebas) {
    a.headers["X-Ambiente"] = header_safe(kSandboxNotice);
    body["nota"] = kSandboxNotice;
  }
  a.body = boost::json::serialize(body);
  return a;
}

// The comprobante's bytes, or nullopt when not base64 or over 1 MiB once
// decoded (the text is bounded first, so nothing huge is decoded).
std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() > (kMaxXmlBytes + 2) / 3 * 4) return std::nullopt;
  auto decoded = base64_decode_to_string(text, kBase64Standard);
  if (decoded && decoded->size() > kMaxXmlBytes) return std::nullopt;
  return decoded;
}

const boost::json::string* string_field(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? &v->as_string() : nullptr;
}

// "2026-11-26T10:00:00-06:00" (seconds may have a fraction; Z allowed):
// the calendar date as written, or nullopt.
std::optional<std::tuple<int, int, int>> fecha_date(std::string_view fecha) {
  // YYYY-MM-DDTHH:MM:SS, an optional fraction, then the zone: Z, ±HH:MM or
  // ±HHMM (Anexo 3's own example writes -0600). A time without a zone is
  // refused: it names no instant.
  if (fecha.size() < 20 || fecha[4] != '-' || fecha[7] != '-' || fecha[10] != 'T' ||
      fecha[13] != ':' || fecha[16] != ':')
    return std::nullopt;
  auto num = [&](std::size_t at, std::size_t len) -> int {
    if (at + len > fecha.size()) return -1;
    int v = 0;
    for (char c : fecha.substr(at, len)) {
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  const int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  const int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  if (year < 2000 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
      minute < 0 || minute > 59 || second < 0 || second > 60)
    return std::nullopt;
  std::size_t at = 19;
  if (at < fecha.size() && fecha[at] == '.') {
    const std::size_t digits_start = ++at;
    while (at < fecha.size() && fecha[at] >= '0' && fecha[at] <= '9') ++at;
    if (at == digits_start) return std::nullopt;
  }
  const std::string_view zone = fecha.substr(at);
  if (zone == "Z") return std::make_tuple(year, month, day);
  if (zone.size() != 6 && zone.size() != 5) return std::nullopt;
  if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
  const bool colon = zone.size() == 6;
  if (colon && zone[3] != ':') return std::nullopt;
  const int zone_hours = num(at + 1, 2), zone_minutes = num(at + (colon ? 4 : 3), 2);
  if (zone_hours < 0 || zone_hours > 14 || zone_minutes < 0 || zone_minutes > 59)
    return std::nullopt;
  return std::make_tuple(year, month, day);
}

std::string_view state_name(ComprobanteState s) {
  switch (s) {
    case ComprobanteState::kRecibido: return "recibido";
    case ComprobanteState::kProcesando: return "procesando";
    case ComprobanteState::kAceptado: return "aceptado";
    case ComprobanteState::kRechazado: return "rechazado";
  }
  return "recibido";
}

}  // namespace

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

ReceptionService::ReceptionService(Store& store, const TokenService& tokens, const Config& config)
    : store_(store), tokens_(tokens), config_(config) {}

Result<std::int64_t> ReceptionService::caller_taxpayer(const ApiCaller& caller) {
  auto credential = store_.find_api_credential(caller.username);
  if (!credential) return credential.error();
  if (!*credential)
    return make_error(errc::kTokenInvalido,
                      "El usuario del token ya no tiene credenciales vigentes.");
  return (*credential)->taxpayer_id;
}

ReceptionAnswer ReceptionService::receive(Environment env, std::string_view authorization,
                                          std::string_view body) {
  auto caller = tokens_.check_bearer(authorization, env);
  if (!caller)
    return refuse(caller.error().code == errc::kTokenOtroAmbiente ? 403 : 401,
                  caller.error().message, env);
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (ec || !parsed.is_object())
    return refuse(400, "El cuerpo de la solicitud no es un JSON válido.", env);
  const boost::json::object& json = parsed.as_object();

  const auto* clave_text = string_field(json, "clave");
  if (!clave_text) return refuse(400, "Falta el campo clave.", env);
  auto clave = Clave::parse(*clave_text);
  if (!clave) return refuse(400, clave.error().message, env);

  const auto* fecha = string_field(json, "fecha");
  if (!fecha) return refuse(400, "Falta el campo fecha.", env);
  auto date = fecha_date(*fecha);
  if (!date)
    return refuse(400,
                  "El campo fecha debe tener el formato ISO 8601 con zona horaria, p. ej. "
                  "2026-11-26T10:00:00-06:00.",
                  env);
  const auto [year, month, day] = *date;
  if (year != clave->year || month != clave->month || day != clave->day)
    return refuse(400,
                  fmt::format("La fecha de la clave ({:02}/{:02}/{}) no coincide con el campo "
                              "fecha ({:02}/{:02}/{}).",
                              clave->day, clave->month, clave->year, day, month, year),
                  env);

  auto party = [&](std::string_view name) -> Result<Identification> {
    const auto* v = json.if_contains(name);
    if (!v || !v->is_object())
      return make_error(errc::kJson, fmt::format("Falta el campo {}.", name));
    const auto* type = string_field(v->as_object(), "tipoIdentificacion");
    const auto* number = string_field(v->as_object(), "numeroIdentificacion");
    if (!type || !number)
      return make_error(errc::kJson, fmt::format("{} debe tener tipoIdentificacion y "
                                                 "numeroIdentificacion.",
                                                 name));
    auto id = Identification::parse(*number);
    if (!id) return id.error();
    if (id_type_code(id->type()) != *type) {
      // A NITE may look like a Jurídica; the declared type decides.
      if (*type == "04") {
        auto nite = Identification::parse("NITE-" + std::string(*number));
        if (nite && nite->type() == IdType::kNite) return *nite;
      }
      return make_error(errc::kJson,
                        fmt::format("El tipoIdentificacion {} de {} no corresponde al número {}.",
                                    std::string(*type), name, std::string(*number)));
    }
    return *id;
  };
  auto emisor = party("emisor");
  if (!emisor) return refuse(400, emisor.error().message, env);
  std::optional<Identification> receptor;
  if (json.contains("receptor")) {
    auto r = party("receptor");
    if (!r) return refuse(400, r.error().message, env);
    receptor = *r;
  }
  const std::string padded12 =
      std::string(12 - std::min<std::size_t>(12, emisor->digits().size()), '0') + emisor->digits();
  if (clave->identification != padded12)
    return refuse(400,
                  fmt::format("La identificación de la clave ({}) no es la del emisor ({}).",
                              clave->identification, emisor->printed()),
                  env);

  const auto* xml_b64 = string_field(json, "comprobanteXml");
  if (!xml_b64) return refuse(400, "Falta el campo comprobanteXml.", env);
  auto xml = decode_base64(*xml_b64);
  if (!xml || xml->empty())
    return refuse(400, "comprobanteXml no es base64 válido o excede 1 MiB.", env);

  // The API user must be the emisor's or the receptor's.
  auto taxpayer_id = caller_taxpayer(*caller);
  if (!taxpayer_id) return refuse(401, taxpayer_id.error().message, env);
  auto taxpayer = store_.find_taxpayer_by_id(*taxpayer_id);
  if (!taxpayer || !*taxpayer) return refuse(401, "El usuario del token no existe.", env);
  const std::string& own = (*taxpayer)->identification;
  if (own != emisor->digits() && !(receptor && own == receptor->digits()))
    return refuse(403, "El usuario del token no puede enviar comprobantes de este emisor.", env);

  // A receptor's message about an invoice shares the invoice's clave; its own
  // consecutivo tells it apart.
  std::string key = clave->text;
  if (const auto* consecutivo = string_field(json, "consecutivoReceptor")) {
    if (consecutivo->size() != 20 ||
        std::string_view(*consecutivo).find_first_not_of("0123456789") != std::string_view::npos)
      return refuse(400, "consecutivoReceptor debe tener 20 dígitos.", env);
    key += "-" + std::string(*consecutivo);
  }
  ComprobanteRecord record;
  record.clave = key;
  record.environment = env;
  record.username = caller->username;
  record.fecha = std::string(*fecha);
  record.emisor_tipo = std::string(id_type_code(emisor->type()));
  record.emisor_numero = emisor->digits();
  if (receptor) {
    record.receptor_tipo = std::string(id_type_code(receptor->type()));
    record.receptor_numero = receptor->digits();
  }
  record.xml = Bytes(xml->begin(), xml->end());
  Status added = store_.add_comprobante(record);
  if (!added) {
    if (added.error().code == errc::kClaveDuplicada) return refuse(400, added.error().message, env);
    return refuse(503, "El servicio no está disponible; intente de nuevo.", env);
  }
  ReceptionAnswer a;
  a.status = 202;
  std::string base = config_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  a.headers["Location"] = fmt::format("{}{}/{}", base, path(env), key);
  if (env == Environment::kPruebas) a.headers["X-Ambiente"] = std::string(kSandboxNotice);
  return a;
}

ReceptionAnswer ReceptionService::query(Environment env, std::string_view authorization,
                                        const std::string& clave) {
  auto caller = tokens_.check_bearer(authorization, env);
  if (!caller)
    return refuse(caller.error().code == errc::kTokenOtroAmbiente ? 403 : 401,
                  caller.error().message, env);
  auto found = store_.find_comprobante(clave);
  if (!found) return refuse(503, "El servicio no está disponible; intente de nuevo.", env);
  auto taxpayer_id = caller_taxpayer(*caller);
  if (!taxpayer_id) return refuse(401, taxpayer_id.error().message, env);
  auto taxpayer = store_.find_taxpayer_by_id(*taxpayer_id);
  bool visible = *found && (*found)->environment == env && taxpayer && *taxpayer;
  if (visible) {
    const std::string& own = (**taxpayer).identification;
    visible = own == (*found)->emisor_numero || (*found)->receptor_numero == own ||
              (*found)->username == caller->username;
  }
  if (!visible)
    return refuse(404, fmt::format("No se encontró el comprobante con clave {}.", clave), env);
  const ComprobanteRecord& c = **found;
  boost::json::object out{
      {"clave", c.clave}, {"fecha", c.fecha}, {"ind-estado", state_name(c.state)}};
  if (!c.respuesta_xml.empty()) out["respuesta-xml"] = base64_encode(c.respuesta_xml);
  if (env == Environment::kPruebas) out["nota"] = kSandboxNotice;
  ReceptionAnswer a;
  a.status = 200;
  a.body = boost::json::serialize(out);
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
  LLAVERO_TRY(store_.finish_comprobante(
      (*claimed)->clave,
      result->accepted ? ComprobanteState::kAceptado : ComprobanteState::kRechazado,
      result->mensaje_hacienda));
  return true;
}

Status ReceptionService::requeue_unfinished() {
  return store_.requeue_comprobantes();
}

}  // namespace llavero::service
