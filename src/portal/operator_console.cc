#include "portal/operator_console.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "id/identification.h"
#include "portal/web.h"
#include "service/emission.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::portal {

using namespace llavero::http;
using namespace llavero::service;

namespace {

constexpr std::string_view kConsoleCookie = "llavero_operador";
constexpr std::string_view kConsoleLoginCookie = "llavero_operador_ingreso";
constexpr std::string_view kCookiePath = "/operador";
constexpr std::size_t kAuditRowsShown = 500;

std::string printed_identification(const std::string& digits) {
  auto id = Identification::parse(digits);
  return id ? id->printed() : digits;
}

std::string full_name(const TaxpayerRecord& t) {
  return t.apellidos.empty() ? t.nombre : t.nombre + " " + t.apellidos;
}

std::string local_seconds(UnixSeconds t) {
  return format_costa_rica(t);
}

std::string_view key_state_label(KeyState state) {
  switch (state) {
    case KeyState::kPendiente: return "Pendiente de descarga";
    case KeyState::kActiva: return "Activa";
    case KeyState::kRevocada: return "Revocada";
    case KeyState::kVencida: return "Vencida";
  }
  return "";
}

std::string_view callback_label(CallbackState state) {
  switch (state) {
    case CallbackState::kNinguno: return "Sin callback";
    case CallbackState::kPendiente: return "Pendiente";
    case CallbackState::kEntregado: return "Entregado";
    case CallbackState::kAbandonado: return "Abandonado";
  }
  return "";
}

// A day typed as YYYY-MM-DD, at 00:00 UTC.
std::optional<UnixSeconds> day_start(const std::string& text) {
  if (text.size() != 10) return std::nullopt;
  return parse_utc(text + "T00:00:00Z");
}

class Console {
 public:
  explicit Console(ConsoleServices services) : s_(std::move(services)) {}

  // Every request of the console comes through here: the allow-list, then
  // the route.
  Response handle(const Request& request, const RouteContext& context) {
    if (!s_.allowed_addresses.empty() &&
        std::find(s_.allowed_addresses.begin(), s_.allowed_addresses.end(),
                  context.remote_address) == s_.allowed_addresses.end())
      return message(request, http::status::forbidden, "Acceso no permitido",
                     "La consola de operadores no atiende desde esta dirección.", nullptr);
    const std::string& path = context.path;
    const bool post = request.method() == http::verb::post;
    if (path == "/operador/ingresar")
      return post ? login(request, context) : login_form(request, context);
    auto session = s_.operators.session(cookie(request, kConsoleCookie));
    if (!session) {
      if (post) return forbidden(request, nullptr);
      return redirect(request, session.error().code == errc::kSesionExpirada
                                   ? "/operador/ingresar?expirada=1"
                                   : "/operador/ingresar");
    }
    if (post && !same_secret(form_field(request, "csrf"), session->csrf_token))
      return forbidden(request, &*session);
    if (path == "/operador/salir" && post) return logout(request, context, *session);
    if (!session->enrolled()) {
      if (path == "/operador/segundo-factor")
        return post ? confirm_enrolment(request, *session) : enrolment(request, *session, {});
      return redirect(request, "/operador/segundo-factor");
    }
    if (path == "/operador" || path == "/operador/") return home(request, *session);
    if (path == "/operador/segundo-factor") return redirect(request, "/operador");
    if (path == "/operador/auditoria") return audit(request, *session);
    if (path == "/operador/auditoria.csv" || path == "/operador/auditoria.json")
      return audit_export(request, *session, path.ends_with(".json"));
    if (path == "/operador/autoridades")
      return post ? request_rollover(request, *session) : authorities(request, *session);
    if (path.starts_with("/operador/autoridades/aprobar/") && post)
      return approve_rollover(request, *session);
    if (path == "/operador/operadores")
      return post ? create_operator(request, *session) : operators(request, *session, {}, {});
    if (path.starts_with("/operador/operadores/") && post)
      return toggle_operator(request, *session);
    if (path.starts_with("/operador/contribuyentes/")) return taxpayer_routes(request, *session);
    return message(request, http::status::not_found, "Página no encontrada",
                   "La dirección no existe en la consola.", &*session);
  }

  Response internal_error(const Request& request) {
    return message(request, http::status::internal_server_error, "Algo salió mal",
                   "La consola tuvo un error inesperado; revise la bitácora de auditoría para "
                   "saber si la acción se realizó.",
                   nullptr);
  }

 private:
  static std::string form_field(const Request& request, std::string_view name) {
    auto form = parse_form(request.body());
    return form ? field(*form, name) : std::string();
  }

  Response page(const Request& request, http::status status, std::string_view title,
                std::string body, const OperatorSession* session, bool errors = false) {
    mus::data layout;
    layout.set("titulo", fmt::format("{}{}", errors ? "Error: " : "", title));
    layout.set("cuerpo", std::move(body));
    if (session != nullptr) {
      mus::data who;
      who.set("inscrito", session->enrolled());
      who.set("usuario", session->op.username);
      who.set("rol", std::string(operator_role_name(session->op.role)));
      who.set("csrf", session->csrf_token);
      who.set("administrador", role_may(session->op.role, Permission::kManageOperators));
      layout.set("operador", who);
    }
    Response r = make_response(request, status, render("operador_layout.mustache", layout),
                               "text/html; charset=utf-8");
    set_page_headers(r);
    return r;
  }

  Response message(const Request& request, http::status status, std::string_view title,
                   std::string_view text, const OperatorSession* session) {
    mus::data d;
    d.set("titulo", std::string(title));
    d.set("mensaje", std::string(text));
    d.set("clase", status == http::status::ok ? "aviso" : "error");
    d.set("alerta", status != http::status::ok);
    d.set("enlace", std::string(session ? "/operador" : "/operador/ingresar"));
    d.set("texto_enlace", std::string(session ? "Volver al inicio" : "Ingresar"));
    return page(request, status, title, render("mensaje.mustache", d), session);
  }

  Response forbidden(const Request& request, const OperatorSession* session) {
    return message(request, http::status::forbidden, "Solicitud rechazada",
                   "El formulario no es válido o ya expiró; no se realizó ningún cambio.", session);
  }

  Response not_allowed(const Request& request, const OperatorSession& session) {
    return message(request, http::status::forbidden, "Acción no permitida",
                   fmt::format("Su rol ({}) no permite esta acción; no se realizó ningún cambio.",
                               operator_role_name(session.op.role)),
                   &session);
  }

  // ------------------------------------------------------------ log-in

  Response login_form(const Request& request, const RouteContext& context,
                      std::vector<FieldError> errors = {}, std::string username = {}) {
    const std::string token = random_token();
    mus::data d;
    d.set("csrf", token);
    d.set("usuario", username);
    if (query_param(request, "expirada") == "1")
      d.set("aviso", "Su sesión expiró por inactividad. Ingrese de nuevo.");
    if (query_param(request, "salida") == "1") d.set("aviso", "Su sesión terminó.");
    set_errors(d, errors);
    Response r =
        page(request, errors.empty() ? http::status::ok : http::status::unauthorized, "Ingresar",
             render("operador_ingresar.mustache", d), nullptr, !errors.empty());
    r.insert(http::field::set_cookie,
             cookie_header(kConsoleLoginCookie, token, context.tls, false, kCookiePath));
    return r;
  }

  Response login(const Request& request, const RouteContext& context) {
    auto form = parse_form(request.body());
    if (!form || !same_secret(field(*form, "csrf"), cookie(request, kConsoleLoginCookie)))
      return forbidden(request, nullptr);
    const std::string username = field(*form, "usuario");
    const SecretString password(field(*form, "contrasena"));
    if (username.empty()) return login_form(request, context, {{"usuario", "Escriba su usuario"}});
    auto made =
        s_.operators.login(username, password, field(*form, "codigo"), context.remote_address);
    if (!made)
      return login_form(request, context, {{"contrasena", made.error().message}}, username);
    Response r =
        redirect(request, made->session.enrolled() ? "/operador" : "/operador/segundo-factor");
    r.insert(http::field::set_cookie,
             cookie_header(kConsoleCookie, made->cookie_token, context.tls, false, kCookiePath));
    r.insert(http::field::set_cookie,
             cookie_header(kConsoleLoginCookie, "", context.tls, true, kCookiePath));
    return r;
  }

  Response logout(const Request& request, const RouteContext& context,
                  const OperatorSession& session) {
    if (Status out = s_.operators.logout(session); !out)
      spdlog::error("consola: salir: {}", out.error().message);
    Response r = redirect(request, "/operador/ingresar?salida=1");
    r.insert(http::field::set_cookie,
             cookie_header(kConsoleCookie, "", context.tls, true, kCookiePath));
    return r;
  }

  Response enrolment(const Request& request, const OperatorSession& session,
                     std::vector<FieldError> errors) {
    auto e = s_.operators.enrolment(session);
    if (!e) return internal_error(request);
    mus::data d;
    d.set("csrf", session.csrf_token);
    d.set("usuario", session.op.username);
    d.set("qr", e->qr_svg);
    d.set("secreto", e->secret_base32);
    set_errors(d, errors);
    return page(request, errors.empty() ? http::status::ok : http::status::bad_request,
                "Activar el segundo factor", render("operador_segundo_factor.mustache", d),
                &session, !errors.empty());
  }

  Response confirm_enrolment(const Request& request, const OperatorSession& session) {
    Status done = s_.operators.confirm_enrolment(session, form_field(request, "codigo"));
    if (!done) {
      if (done.error().code != errc::kCodigoInvalido) return internal_error(request);
      return enrolment(request, session, {{"codigo", done.error().message}});
    }
    return redirect(request, "/operador");
  }

  // ------------------------------------------------------------ taxpayers

  Response home(const Request& request, const OperatorSession& session) {
    const std::string q = query_param(request, "q");
    mus::data d;
    d.set("q", q);
    if (!q.empty()) {
      auto found = s_.supervision.find_taxpayers(q);
      if (!found) return internal_error(request);
      mus::data list{mus::data::type::list};
      for (const TaxpayerRecord& t : *found) {
        mus::data row;
        row.set("digitos", t.identification);
        row.set("identificacion", printed_identification(t.identification));
        row.set("nombre", full_name(t));
        list.push_back(row);
      }
      d.set("buscado", true);
      d.set("hay_resultados", !found->empty());
      d.set("resultados", list);
    }
    return page(request, http::status::ok, "Contribuyentes", render("operador_inicio.mustache", d),
                &session);
  }

  Response taxpayer_routes(const Request& request, const OperatorSession& session) {
    std::string_view rest = request.target();
    rest.remove_prefix(std::string_view("/operador/contribuyentes/").size());
    rest = rest.substr(0, rest.find('?'));
    const std::string digits(rest.substr(0, rest.find('/')));
    const std::string action(rest.find('/') == std::string_view::npos
                                 ? std::string_view()
                                 : rest.substr(rest.find('/') + 1));
    if (request.method() != http::verb::post) {
      if (!action.empty())
        return message(request, http::status::not_found, "Página no encontrada",
                       "La dirección no existe en la consola.", &session);
      return taxpayer_page(request, session, digits, {});
    }
    if (!s_.operators.require(session, Permission::kActForTaxpayer))
      return not_allowed(request, session);
    const std::string actor = operator_actor(session.op);
    if (action == "desbloquear") {
      Status done = s_.accounts.unlock_portal(
          digits,
          AuditEvent{actor, "contribuyente.desbloquear", digits, operator_detail(session.op, "")});
      if (!done) return failure(request, session, done.error());
      return redirect(request, fmt::format("/operador/contribuyentes/{}?hecho=desbloqueo", digits));
    }
    if (action == "contrasena") {
      auto password =
          s_.accounts.reset_portal_password(digits, actor, operator_detail(session.op, ""));
      if (!password) return failure(request, session, password.error());
      mus::data d;
      d.set("identificacion", printed_identification(digits));
      d.set("digitos", digits);
      d.set("caracteres", characters_html(password->view()));
      d.set("contrasena", std::string(password->view()));
      return page(request, http::status::ok, "Contraseña del portal restablecida",
                  render("operador_contrasena.mustache", d), &session);
    }
    if (action == "revocar") {
      auto form = parse_form(request.body());
      std::string note = form ? field(*form, "nota") : std::string();
      note.erase(0, note.find_first_not_of(" \t\r\n"));
      if (note.empty())
        return taxpayer_page(request, session, digits,
                             {{"nota", "Escriba quién pidió la revocación y cómo se verificó"}});
      auto env = parse_environment(field(*form, "ambiente"));
      auto reason = parse_revocation_reason(field(*form, "motivo"));
      if (!env || !reason) return forbidden(request, &session);
      std::replace(note.begin(), note.end(), '\n', ' ');
      auto revoked =
          s_.keys.revoke(digits, *env, *reason, actor, operator_detail(session.op, note));
      if (!revoked) return failure(request, session, revoked.error());
      return redirect(request, fmt::format("/operador/contribuyentes/{}?hecho=revocada", digits));
    }
    return message(request, http::status::not_found, "Página no encontrada",
                   "La dirección no existe en la consola.", &session);
  }

  Response failure(const Request& request, const OperatorSession& session, const Error& error) {
    if (error.code == errc::kErrorAlmacen || error.code == errc::kErrorInterno)
      return internal_error(request);
    return message(request, http::status::conflict, "No se pudo realizar", error.message, &session);
  }

  Response taxpayer_page(const Request& request, const OperatorSession& session,
                         const std::string& identification, std::vector<FieldError> errors) {
    auto picture = s_.supervision.taxpayer(identification);
    if (!picture) {
      if (picture.error().code == errc::kErrorAlmacen) return internal_error(request);
      return message(request, http::status::not_found, "Contribuyente no encontrado",
                     picture.error().message, &session);
    }
    const TaxpayerPicture& p = *picture;
    mus::data d;
    d.set("csrf", session.csrf_token);
    d.set("digitos", p.taxpayer.identification);
    d.set("identificacion", printed_identification(p.taxpayer.identification));
    d.set("nombre", full_name(p.taxpayer));
    d.set("correo", p.taxpayer.correo);
    const std::string done = query_param(request, "hecho");
    if (done == "desbloqueo") d.set("hecho", "El ingreso al portal quedó desbloqueado.");
    if (done == "revocada")
      d.set("hecho", "La llave quedó revocada; OCSP y la CRL ya la informan como revocada.");
    d.set("puede_actuar", role_may(session.op.role, Permission::kActForTaxpayer));
    d.set("contrasena_portal", p.has_portal_password);
    mus::data waits{mus::data::type::list};
    for (const auto& [address, until] : p.lock_waits) {
      mus::data w;
      w.set("direccion", address);
      w.set("hasta", format_costa_rica_hour(until));
      waits.push_back(w);
    }
    d.set("bloqueado", !p.lock_waits.empty());
    d.set("esperas", waits);
    mus::data keys{mus::data::type::list};
    mus::data active{mus::data::type::list};
    for (const KeyStatus& k : p.keys) {
      mus::data row;
      row.set("ambiente", std::string(environment_label(k.environment)));
      row.set("estado", std::string(key_state_label(k.state)));
      row.set("clase", k.state == KeyState::kActiva      ? "activa"
                       : k.state == KeyState::kPendiente ? "pendiente"
                                                         : "");
      row.set("serie", "<span class=\"serie\">" + k.serial_hex + "</span>");
      row.set("desde", local_time(k.not_before));
      row.set("hasta", local_time(k.not_after));
      std::string revoked;
      if (k.revoked_at)
        revoked = local_time(*k.revoked_at) +
                  (k.reason ? fmt::format(" ({})", revocation_reason_label(*k.reason)) : "");
      row.set("revocada", revoked);
      keys.push_back(row);
      if (k.state == KeyState::kActiva) {
        mus::data option;
        option.set("valor", std::string(environment_name(k.environment)));
        option.set("texto", std::string(environment_label(k.environment)));
        active.push_back(option);
      }
    }
    d.set("hay_llaves", !p.keys.empty());
    d.set("llaves", keys);
    d.set("hay_activas", !active.is_empty_list());
    d.set("activas", active);
    mus::data users{mus::data::type::list};
    for (const auto& [env, user] : p.api_users) {
      mus::data u;
      u.set("ambiente", std::string(environment_label(env)));
      u.set("usuario", user);
      users.push_back(u);
    }
    d.set("hay_usuarios", !p.api_users.empty());
    d.set("usuarios", users);
    mus::data docs{mus::data::type::list};
    for (const ReceivedComprobante& c : p.comprobantes) {
      mus::data row;
      row.set("clave", c.record.clave);
      row.set("ambiente", std::string(environment_label(c.record.environment)));
      row.set("estado", std::string(emitted_state_label(c.record.state)));
      row.set("recibido", local_seconds(c.record.received_at));
      row.set("callback", std::string(callback_label(c.record.callback_state)));
      mus::data attempts{mus::data::type::list};
      for (const CallbackAttempt& a : c.attempts) {
        mus::data at;
        at.set("hora", local_seconds(a.at));
        at.set("resultado", a.status != 0 ? fmt::format("HTTP {}", a.status)
                                          : fmt::format("sin respuesta ({})", a.error));
        attempts.push_back(at);
      }
      row.set("hay_intentos", !c.attempts.empty());
      row.set("intentos", attempts);
      docs.push_back(row);
    }
    d.set("hay_comprobantes", !p.comprobantes.empty());
    d.set("comprobantes", docs);
    set_errors(d, errors);
    return page(request, errors.empty() ? http::status::ok : http::status::bad_request,
                full_name(p.taxpayer), render("operador_contribuyente.mustache", d), &session,
                !errors.empty());
  }

  // ------------------------------------------------------------ audit log

  static AuditFilter audit_filter(const Request& request) {
    AuditFilter f;
    f.actor = query_param(request, "actor");
    f.action = query_param(request, "accion");
    f.subject = query_param(request, "sujeto");
    f.from = day_start(query_param(request, "desde"));
    f.to = day_start(query_param(request, "hasta"));
    return f;
  }

  static std::string audit_query(const Request& request) {
    const std::string_view target = request.target();
    const std::size_t q = target.find('?');
    return q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  }

  Response audit(const Request& request, const OperatorSession& session) {
    const AuditFilter filter = audit_filter(request);
    auto found = s_.supervision.audit(filter);
    if (!found) return internal_error(request);
    mus::data d;
    d.set("integra", !found->verification.first_bad_seq.has_value());
    d.set("fila_rota", std::to_string(found->verification.first_bad_seq.value_or(0)));
    d.set("problema", found->verification.problem);
    d.set("filas_totales", std::to_string(found->total_rows));
    d.set("cabeza", found->verification.head_hash);
    d.set("actor", filter.actor);
    d.set("accion", filter.action);
    d.set("sujeto", filter.subject);
    d.set("desde", query_param(request, "desde"));
    d.set("hasta", query_param(request, "hasta"));
    d.set("consulta", audit_query(request));
    d.set("cantidad", std::to_string(found->rows.size()));
    mus::data rows{mus::data::type::list};
    std::size_t shown = 0;
    for (auto it = found->rows.rbegin(); it != found->rows.rend() && shown < kAuditRowsShown;
         ++it, ++shown) {
      mus::data row;
      row.set("seq", std::to_string(it->seq));
      row.set("fecha", it->at);
      row.set("actor", it->actor);
      row.set("accion", it->action);
      row.set("sujeto", it->subject);
      row.set("detalle", it->detail);
      rows.push_back(row);
    }
    d.set("hay_filas", !found->rows.empty());
    d.set("filas", rows);
    d.set("recortado", found->rows.size() > kAuditRowsShown);
    d.set("mostradas", std::to_string(kAuditRowsShown));
    return page(request, http::status::ok, "Bitácora de auditoría",
                render("operador_auditoria.mustache", d), &session);
  }

  Response audit_export(const Request& request, const OperatorSession& session, bool json) {
    const AuditFilter filter = audit_filter(request);
    auto found = s_.supervision.audit(filter);
    if (!found) return internal_error(request);
    // The export itself is recorded, after the range it covers.
    if (Status noted = s_.operators.record(
            session, "auditoria.exportar", "",
            fmt::format("formato={} filas={} consulta={}", json ? "json" : "csv",
                        found->rows.size(), audit_query(request)));
        !noted)
      return internal_error(request);
    return json
               ? attachment(request, audit_json(*found, filter), "application/json",
                            "auditoria.json")
               : attachment(request, audit_csv(*found), "text/csv; charset=utf-8", "auditoria.csv");
  }

  // ------------------------------------------------------------ CAs

  Response authorities(const Request& request, const OperatorSession& session) {
    auto states = s_.supervision.authorities(now_seconds());
    if (!states) return internal_error(request);
    mus::data d;
    mus::data list{mus::data::type::list};
    mus::data all_warnings{mus::data::type::list};
    bool any = false;
    for (const AuthorityState& a : *states) {
      mus::data row;
      row.set("nombre", a.authority.subject);
      row.set("ambiente", std::string(environment_label(a.authority.environment)));
      row.set("desde", local_seconds(a.not_before));
      row.set("hasta", local_seconds(a.not_after));
      row.set("emitidos", std::to_string(a.issued));
      row.set("revocados", std::to_string(a.revoked));
      row.set("emisora", a.authority.kind != CaKind::kRoot);
      row.set("crl_numero", a.crl_number ? std::to_string(*a.crl_number) : "—");
      row.set("crl_siguiente", a.crl_next_update ? local_seconds(*a.crl_next_update) : "—");
      row.set("ocsp_vence",
              a.responder_not_after ? local_seconds(*a.responder_not_after) : "sin respondedor");
      mus::data warnings{mus::data::type::list};
      for (const std::string& w : a.warnings) {
        warnings.push_back(mus::data(w));
        all_warnings.push_back(mus::data(a.authority.subject + ": " + w));
        any = true;
      }
      row.set("hay_avisos_ca", !a.warnings.empty());
      row.set("avisos_ca", warnings);
      list.push_back(row);
    }
    d.set("autoridades", list);
    d.set("hay_avisos", any);
    d.set("avisos", all_warnings);
    if (!add_generations(d, session)) return internal_error(request);
    const std::string done = query_param(request, "hecho");
    d.set("hecho", !done.empty());
    d.set("hecho_aprobada", done == "aprobada");
    return page(request, http::status::ok, "Autoridades certificadoras",
                render("operador_autoridades.mustache", d), &session);
  }

  // The generations of the CAs and the rollovers: an administrator asks for
  // one, another approves it (service/ca_lifecycle.h holds the rule).
  bool add_generations(mus::data& d, const OperatorSession& session) {
    auto generations = s_.lifecycle.generations();
    auto rollovers = s_.lifecycle.rollovers();
    if (!generations || !rollovers) return false;
    const bool administrator = role_may(session.op.role, Permission::kManageAuthorities);
    mus::data rows{mus::data::type::list};
    for (const service::CaGeneration& g : *generations) {
      if (g.kind == CaKind::kRoot) continue;
      mus::data row;
      row.set("ambiente", std::string(environment_label(g.environment)));
      row.set("ca", std::string(ca_kind_name(g.kind)));
      row.set("generacion", std::to_string(g.generation));
      row.set("nombre", g.subject);
      row.set("hasta", local_seconds(g.not_after));
      row.set("emite", g.issuing);
      rows.push_back(row);
    }
    mus::data requests{mus::data::type::list};
    for (const RolloverRecord& r : *rollovers) {
      mus::data row;
      row.set("numero", std::to_string(r.id));
      row.set("ambiente", std::string(environment_label(r.environment)));
      row.set("ca", std::string(ca_kind_name(r.kind)));
      row.set("solicitada_por", r.requested_by);
      row.set("solicitada", local_seconds(r.requested_at));
      row.set("pendiente", r.approved_by.empty());
      row.set("aprobada_por", r.approved_by);
      row.set("puede_aprobar",
              administrator && r.approved_by.empty() && r.requested_by != session.op.username);
      row.set("propia", r.approved_by.empty() && r.requested_by == session.op.username);
      row.set("csrf", session.csrf_token);
      requests.push_back(row);
    }
    d.set("generaciones", rows);
    d.set("renovaciones", requests);
    d.set("hay_renovaciones", !rollovers->empty());
    d.set("administrador", administrator);
    d.set("csrf", session.csrf_token);
    return true;
  }

  Response rollover_failure(const Request& request, const OperatorSession& session,
                            const Error& error) {
    if (error.code == errc::kNoEsAdministrador) return not_allowed(request, session);
    return failure(request, session, error);
  }

  Response request_rollover(const Request& request, const OperatorSession& session) {
    if (!s_.operators.require(session, Permission::kManageAuthorities))
      return not_allowed(request, session);
    auto form = parse_form(request.body());
    if (!form) return forbidden(request, &session);
    auto env = parse_environment(field(*form, "ambiente"));
    auto kind = parse_ca_kind(field(*form, "ca"));
    if (!env || !kind || *kind == CaKind::kRoot) return forbidden(request, &session);
    auto asked = s_.lifecycle.request(*env, *kind, session.op.username);
    if (!asked) return rollover_failure(request, session, asked.error());
    return redirect(request, "/operador/autoridades?hecho=solicitada");
  }

  Response approve_rollover(const Request& request, const OperatorSession& session) {
    if (!s_.operators.require(session, Permission::kManageAuthorities))
      return not_allowed(request, session);
    std::string_view rest = request.target();
    rest.remove_prefix(std::string_view("/operador/autoridades/aprobar/").size());
    std::int64_t id = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), id);
    if (ec != std::errc() || end != rest.data() + rest.size() || id <= 0)
      return forbidden(request, &session);
    auto made = s_.lifecycle.approve(id, session.op.username);
    if (!made) return rollover_failure(request, session, made.error());
    return redirect(request, "/operador/autoridades?hecho=aprobada");
  }

  // ------------------------------------------------------------ operators

  Response operators(const Request& request, const OperatorSession& session,
                     std::vector<FieldError> errors, std::string done) {
    if (!s_.operators.require(session, Permission::kManageOperators))
      return not_allowed(request, session);
    auto list = s_.operators.list();
    if (!list) return internal_error(request);
    mus::data d;
    d.set("csrf", session.csrf_token);
    if (done.empty() && query_param(request, "hecho") == "1") done = "Cambio guardado.";
    if (!done.empty()) d.set("hecho", done);
    mus::data rows{mus::data::type::list};
    for (const OperatorRecord& op : *list) {
      mus::data row;
      row.set("usuario", op.username);
      row.set("rol", std::string(operator_role_name(op.role)));
      row.set("segundo_factor", std::string(op.totp_enrolled ? "activo" : "pendiente"));
      row.set("estado", std::string(op.disabled ? "desactivado" : "activo"));
      row.set("accion", std::string(op.disabled ? "activar" : "desactivar"));
      row.set("texto_accion", std::string(op.disabled ? "Activar" : "Desactivar"));
      row.set("yo", op.id == session.op.id);
      row.set("csrf", session.csrf_token);
      rows.push_back(row);
    }
    d.set("operadores", rows);
    set_errors(d, errors);
    return page(request, errors.empty() ? http::status::ok : http::status::bad_request,
                "Operadores", render("operador_operadores.mustache", d), &session, !errors.empty());
  }

  Response create_operator(const Request& request, const OperatorSession& session) {
    if (!s_.operators.require(session, Permission::kManageOperators))
      return not_allowed(request, session);
    auto form = parse_form(request.body());
    if (!form) return forbidden(request, &session);
    auto role = parse_operator_role(field(*form, "rol"));
    if (!role) return forbidden(request, &session);
    auto made = s_.operators.create(field(*form, "usuario"), *role,
                                    SecretString(field(*form, "contrasena")),
                                    operator_actor(session.op), &session);
    if (!made) {
      if (made.error().code == errc::kContrasenaInvalida)
        return operators(request, session, {{"contrasena", made.error().message}}, {});
      if (made.error().code == errc::kOperadorInvalido ||
          made.error().code == errc::kOperadorDuplicado)
        return operators(request, session, {{"usuario", made.error().message}}, {});
      return internal_error(request);
    }
    return redirect(request, "/operador/operadores?hecho=1");
  }

  Response toggle_operator(const Request& request, const OperatorSession& session) {
    std::string_view rest = request.target();
    rest.remove_prefix(std::string_view("/operador/operadores/").size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string_view::npos) return forbidden(request, &session);
    const std::string username(rest.substr(0, slash));
    const std::string_view action = rest.substr(slash + 1);
    if (action != "activar" && action != "desactivar") return forbidden(request, &session);
    if (username == session.op.username) return forbidden(request, &session);
    Status done = s_.operators.set_disabled(session, username, action == "desactivar", "");
    if (!done) {
      if (done.error().code == errc::kOperadorNoAutorizado) return not_allowed(request, session);
      return failure(request, session, done.error());
    }
    return redirect(request, "/operador/operadores?hecho=1");
  }

  ConsoleServices s_;
};

Route console_route(std::shared_ptr<Console> console, http::Work work = http::Work::kGeneral) {
  Route route;
  route.slow = [console](const Request& request, const RouteContext& context) {
    try {
      return console->handle(request, context);
    } catch (const std::exception& e) {
      spdlog::error("consola {}: {}", context.path, e.what());
      return console->internal_error(request);
    }
  };
  route.work = work;
  return route;
}

}  // namespace

void add_operator_console_routes(Router& router, ConsoleServices services) {
  auto console = std::make_shared<Console>(std::move(services));
  router.add(http::verb::get, "/operador", console_route(console));
  router.add_prefix(http::verb::get, "/operador/", console_route(console));
  router.add(http::verb::post, "/operador/ingresar", console_route(console, http::Work::kHashing));
  router.add_prefix(http::verb::post, "/operador/", console_route(console));
}

}  // namespace llavero::portal
