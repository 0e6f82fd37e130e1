#include "portal/portal.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <mutex>
#include <variant>

#include "id/clave.h"
#include "portal/templates.h"
#include "portal/web.h"
#include "service/comprobante_contents.h"
#include "service/pdf_invoice.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::portal {

using namespace llavero::http;
using namespace llavero::service;

namespace {

constexpr std::string_view kSessionCookie = "llavero_sesion";
constexpr std::string_view kLoginCookie = "llavero_ingreso";  // CSRF token before login

// ---------------------------------------------------------------- helpers

// Form encoding for the flash cookie's value (no ';', ',' or spaces).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    for (const std::string* part : {&name, &value}) {
      for (unsigned char c : *part) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.')
          out += static_cast<char>(c);
        else
          out += fmt::format("%{:02X}", c);
      }
      if (part == &name) out += '=';
    }
  }
  return out;
}

// A serial in groups of four hex digits that never break inside a group.
std::string serial_html(std::string_view hex) {
  std::string out = "<span class=\"serie\">";
  std::size_t in_group = 0;
  for (char c : hex) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) continue;
    if (in_group == 0) out += "<span>";
    out += c;
    if (++in_group == 4) {
      out += "</span> ";
      in_group = 0;
    }
  }
  if (in_group != 0) out += "</span>";
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "</span>";
}

std::string local_hour(const std::string& iso) {
  auto t = parse_utc(iso);
  return t ? format_costa_rica_hour(*t) : iso;
}

std::string lower_label(Environment env) {
  return env == Environment::kProduccion ? "producción" : "pruebas";
}

struct PageOptions {
  const PortalSession* session = nullptr;
  std::optional<Environment> environment;  // the band: pruebas or producción
  bool errors = false;                     // the page shows an error summary
};

// The tab's title: "Error: " first when the page shows errors (a screen
// reader reads it before anything else), then "[PRUEBAS] " in pruebas.
std::string tab_title(std::string_view title, const PageOptions& options) {
  const bool pruebas = options.environment == Environment::kPruebas;
  return fmt::format("{}{}{}", options.errors ? "Error: " : "", pruebas ? "[PRUEBAS] " : "", title);
}

// A whole page: the layout around `body_html`, with the security headers of
// every portal page.
Response page(const Request& request, http::status status, std::string_view title,
              std::string body_html, PageOptions options) {
  mus::data layout;
  layout.set("titulo", tab_title(title, options));
  layout.set("cuerpo", std::move(body_html));
  if (options.environment) {
    layout.set("pruebas", *options.environment == Environment::kPruebas);
    layout.set("produccion", *options.environment == Environment::kProduccion);
  }
  if (options.session != nullptr) {
    mus::data who;
    const TaxpayerRecord& t = options.session->taxpayer;
    who.set("nombre", t.apellidos.empty() ? t.nombre : t.nombre + " " + t.apellidos);
    who.set("identificacion", options.session->identification.printed());
    who.set("csrf", options.session->csrf_token);
    layout.set("contribuyente", who);
  }
  Response r =
      make_response(request, status, render("layout.mustache", layout), "text/html; charset=utf-8");
  set_page_headers(r);
  return r;
}

Response message_page(const Request& request, http::status status, std::string_view title,
                      std::string_view message, const PortalSession* session,
                      std::string_view link = "", std::string_view link_text = "") {
  mus::data d;
  d.set("titulo", std::string(title));
  d.set("mensaje", std::string(message));
  d.set("clase", status == http::status::ok ? "aviso" : "error");
  d.set("alerta", status != http::status::ok);
  if (!link.empty()) {
    d.set("enlace", std::string(link));
    d.set("texto_enlace", std::string(link_text));
  }
  return page(request, status, title, render("mensaje.mustache", d), PageOptions{session, {}});
}

Response not_found_page(const Request& request, const PortalSession* session) {
  return message_page(request, http::status::not_found, "Página no encontrada",
                      "La dirección no existe. Revise que esté bien escrita, o use el menú.",
                      session, "/portal", "Ir al inicio");
}

// Post/Redirect/Get: a form's answer is always a redirect; what the next page
// must show (which fields were wrong, the safe values to keep) travels in a
// short-lived cookie that page reads once. Never a PIN or a password.
constexpr std::string_view kFlashCookie = "llavero_aviso";
// The token of the file waiting for its download, for step 4 after a reload.
constexpr std::string_view kDownloadCookie = "llavero_descarga";

Response redirect_with_flash(const Request& request, const RouteContext& context,
                             std::string_view location,
                             const std::vector<std::pair<std::string, std::string>>& flash) {
  Response r = redirect(request, location);
  r.insert(http::field::set_cookie,
           fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=120{}", kFlashCookie,
                       form_encode(flash), context.tls ? "; Secure" : ""));
  return r;
}

// The flash a page was redirected with (empty if none); `response` forgets it.
Form take_flash(const Request& request, const RouteContext& context, Response& response) {
  const std::string value = cookie(request, kFlashCookie);
  if (value.empty()) return {};
  response.insert(http::field::set_cookie, cookie_header(kFlashCookie, "", context.tls, true));
  auto form = parse_form(value);
  return form ? std::move(*form) : Form();
}

// ---------------------------------------------------------------- the portal

class Portal {
 public:
  explicit Portal(PortalServices services) : s_(services) {}

  Response login_form(const Request& request, const RouteContext& context) {
    if (auto session = s_.accounts.session(cookie(request, kSessionCookie)))
      return redirect(request, "/portal");
    const std::string token = random_token();
    Response flash_holder;
    Form flash = take_flash(request, context, flash_holder);
    mus::data d;
    d.set("csrf", token);
    d.set("identificacion", field(flash, "identificacion"));
    std::vector<FieldError> errors;
    const std::string error = field(flash, "error");
    if (error == "identificacion_vacia")
      errors.push_back({"identificacion", "Escriba su identificación"});
    if (error == "identificacion_invalida")
      errors.push_back({"identificacion", "Escriba la identificación como en el ejemplo"});
    if (error == "contrasena_vacia" || field(flash, "contrasena_vacia") == "si")
      errors.push_back({"contrasena", "Escriba su contraseña"});
    if (error == "credenciales")
      errors.push_back({"contrasena", "Identificación o contraseña incorrecta."});
    if (error == "demasiados") errors.push_back({"contrasena", field(flash, "mensaje")});
    set_errors(d, errors);
    if (const std::string left = field(flash, "intentos"); left == "1")
      d.set("intentos",
            "Le queda 1 intento. Si la contraseña vuelve a ser incorrecta, deberá esperar antes "
            "de volver a intentarlo.");
    else if (left == "2")
      d.set("intentos",
            "Le quedan 2 intentos antes de tener que esperar para volver a intentarlo.");
    if (request.target().ends_with("?salida=1")) d.set("aviso", "Su sesión terminó.");
    Response r = page(request, http::status::ok, "Ingresar", render("ingresar.mustache", d),
                      PageOptions{nullptr, {}, !errors.empty()});
    for (const auto& h : flash_holder) r.insert(h.name(), h.value());
    r.insert(http::field::set_cookie, cookie_header(kLoginCookie, token, context.tls));
    return r;
  }

  Response login(const Request& request, const RouteContext& context) {
    auto form = parse_form(request.body());
    if (!form || !same_secret(field(*form, "csrf"), cookie(request, kLoginCookie)))
      return forbidden(request, nullptr);
    const std::string identification = field(*form, "identificacion");
    auto again = [&](std::vector<std::pair<std::string, std::string>> flash) {
      flash.emplace_back("identificacion", identification);
      return redirect_with_flash(request, context, "/ingresar", flash);
    };
    SecretString password(field(*form, "contrasena"));
    // Short messages for what is missing, before any account is charged.
    if (identification.empty())
      return again({{"error", "identificacion_vacia"},
                    {"contrasena_vacia", password.view().empty() ? "si" : "no"}});
    if (!Identification::parse(identification))
      return again({{"error", "identificacion_invalida"}});
    if (password.view().empty()) return again({{"error", "contrasena_vacia"}});
    auto login = s_.accounts.login(identification, password, context.remote_address);
    if (!login) {
      if (login.error().code == errc::kDemasiadosIntentos)
        return again({{"error", "demasiados"}, {"mensaje", login.error().message}});
      if (login.error().code != errc::kCredencialesInvalidas)
        return message_page(request, http::status::service_unavailable, "Servicio no disponible",
                            login.error().message, nullptr);
      // Counted per identification and address alike for registered and
      // unknown identifications, so the warning tells nothing about either.
      const int left = s_.accounts.attempts_left(identification, context.remote_address);
      std::string left_text;
      if (left > 0 && left <= 2) left_text = std::to_string(left);
      return again({{"error", "credenciales"}, {"intentos", left_text}});
    }
    Response r = redirect(request, "/portal");
    r.insert(http::field::set_cookie,
             cookie_header(kSessionCookie, login->cookie_token, context.tls));
    r.insert(http::field::set_cookie, cookie_header(kLoginCookie, "", context.tls, true));
    return r;
  }

  Response logout(const Request& request, const RouteContext& context) {
    return with_session(request, context, true, [&](const PortalSession&, const Form&) {
      (void)s_.accounts.logout(cookie(request, kSessionCookie));
      Response r = redirect(request, "/ingresar?salida=1");
      r.insert(http::field::set_cookie, cookie_header(kSessionCookie, "", context.tls, true));
      return r;
    });
  }

  Response home(const Request& request, const RouteContext& context) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      mus::data d = key_state(session);
      d.set("nombre", session.taxpayer.nombre);
      d.set("estado_llaves", partial("estado_llaves.mustache"));
      return page(request, http::status::ok, "Inicio", render("portal.mustache", d),
                  PageOptions{&session, {}});
    });
  }

  Response key_list(const Request& request, const RouteContext& context) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      mus::data d = key_state(session);
      d.set("estado_llaves", partial("estado_llaves.mustache"));
      return page(request, http::status::ok, "Estado de mis llaves", render("estado.mustache", d),
                  PageOptions{&session, {}});
    });
  }

  Response help(const Request& request, const RouteContext&) {
    auto session = s_.accounts.session(cookie(request, kSessionCookie));
    return page(request, http::status::ok, "Ayuda", render("ayuda.mustache", mus::data()),
                PageOptions{session ? &*session : nullptr, {}});
  }

  // Any path no route knows, in the portal's frame (with the menu when
  // logged in).
  Response not_found(const Request& request, const RouteContext&) {
    auto session = s_.accounts.session(cookie(request, kSessionCookie));
    return not_found_page(request, session ? &*session : nullptr);
  }

  // GET and POST under /llaves/: "<ambiente>/<acción>[/<paso>]" and "descargar".
  Response keys(const Request& request, const RouteContext& context) {
    const bool post = request.method() == http::verb::post;
    if (post && context.rest == "descargar") return download(request, context);
    const std::size_t slash = context.rest.find('/');
    auto env = parse_environment(context.rest.substr(0, slash));
    const std::string action = slash == std::string::npos ? "" : context.rest.substr(slash + 1);
    if (env && slash != std::string::npos) {
      if (action == "generar")
        return post ? generate(request, context, *env) : generate_form(request, context, *env);
      if (action == "revocar")
        return post ? revoke(request, context, *env) : revoke_form(request, context, *env);
      if (action == "contrasena")
        return post ? api_password(request, context, *env)
                    : api_password_form(request, context, *env);
      if (!post && action == "generar/aviso") return generated(request, context, *env);
      if (!post && action == "generar/paso4") return download_step(request, context, *env);
      if (!post && action == "generar/listo") return downloaded(request, context, *env);
      if (!post && action == "revocar/hecha") return revoked(request, context, *env);
      if (!post && action == "contrasena/nueva") return new_api_password(request, context, *env);
    }
    auto session = s_.accounts.session(cookie(request, kSessionCookie));
    return not_found_page(request, session ? &*session : nullptr);
  }

 private:
  template <typename Body>
  Response with_session(const Request& request, const RouteContext& context, bool is_post,
                        Body&& body) {
    auto session = s_.accounts.session(cookie(request, kSessionCookie));
    if (!session) {
      if (session.error().code == errc::kSesionExpirada) {
        Response r = message_page(request, http::status::unauthorized, "Su sesión expiró",
                                  "Su sesión expiró por inactividad (15 minutos). No se realizó "
                                  "ningún cambio. Ingrese de nuevo para continuar.",
                                  nullptr, "/ingresar", "Ingresar");
        r.insert(http::field::set_cookie, cookie_header(kSessionCookie, "", context.tls, true));
        return r;
      }
      if (session.error().code != errc::kSinSesion)
        return message_page(request, http::status::service_unavailable, "Servicio no disponible",
                            session.error().message, nullptr);
      if (!is_post) return redirect(request, "/ingresar");
      return message_page(request, http::status::unauthorized, "Debe ingresar",
                          "Debe ingresar para continuar. No se realizó ningún cambio.", nullptr,
                          "/ingresar", "Ingresar");
    }
    Form form;
    if (is_post) {
      // Emitir has up to 100 lines of 8 fields; every other form is small.
      const std::size_t max_fields = context.path.starts_with("/herramienta/") ? 1000 : 16;
      auto parsed = parse_form(request.body(), max_fields);
      // A form with more fields than any page of the portal sends is said to
      // be too big, not "expired": the user can send a smaller one.
      if (!parsed && parse_form(request.body(), std::numeric_limits<std::size_t>::max()))
        return message_page(
            request, http::status::payload_too_large, "Formulario demasiado grande",
            fmt::format("El formulario tiene más de {} campos{}. No se emitió, "
                        "firmó ni guardó nada.",
                        max_fields, max_fields > 16 ? " (Emitir admite hasta 100 líneas)" : ""),
            &*session, "/portal", "Volver al inicio");
      if (!parsed || !same_secret(field(*parsed, "csrf"), session->csrf_token))
        return forbidden(request, &*session);
      form = std::move(*parsed);
    }
    return body(*session, form);
  }

  Response forbidden(const Request& request, const PortalSession* session) {
    return message_page(request, http::status::forbidden, "Solicitud rechazada",
                        "El formulario no es válido o ya expiró; no se realizó ningún cambio. "
                        "Vuelva a intentarlo desde el portal.",
                        session, "/portal", "Volver al inicio");
  }

  Response failure_page(const Request& request, const PortalSession& session,
                        std::string_view message) {
    return message_page(
        request, http::status::internal_server_error, "Algo salió mal",
        fmt::format("{} No se realizó ningún cambio; vuelva a intentarlo.", message), &session,
        "/portal", "Volver al inicio");
  }

  // The keys of one environment: the active one, the pending one, and the
  // rest; `keys` is the service's answer, newest first.
  struct EnvironmentKeys {
    const KeyStatus* active = nullptr;
    const KeyStatus* pending = nullptr;
    std::vector<const KeyStatus*> past;
  };
  static EnvironmentKeys keys_of(const std::vector<KeyStatus>& keys, Environment env) {
    EnvironmentKeys out;
    for (const KeyStatus& k : keys) {
      if (k.environment != env) continue;
      if (k.state == KeyState::kActiva && out.active == nullptr)
        out.active = &k;
      else if (k.state == KeyState::kPendiente && out.pending == nullptr)
        out.pending = &k;
      else
        out.past.push_back(&k);
    }
    return out;
  }

  static std::string reason_text(const KeyStatus& k) {
    if (k.state == KeyState::kVencida) return "—";
    if (k.never_delivered)
      return k.reason ? "reemplazada antes de descargarse" : "no se descargó a tiempo";
    return k.reason ? std::string(revocation_reason_label(*k.reason)) : "sin motivo indicado";
  }

  static mus::data key_data(const KeyStatus& k) {
    mus::data d;
    d.set("serie", k.serial_hex);
    d.set("serie_html", serial_html(k.serial_hex));
    d.set("desde", local_time(k.not_before));
    d.set("creada", local_time(k.not_before));
    d.set("hasta", local_time(k.not_after));
    if (k.pending_until) d.set("hasta", local_hour(*k.pending_until));
    return d;
  }

  mus::data key_state(const PortalSession& session) {
    mus::data environments{mus::data::type::list};
    auto keys = s_.keys.status(session.taxpayer.identification, std::nullopt);
    for (Environment env : kAllEnvironments) {
      mus::data e;
      e.set("clave", std::string(environment_name(env)));
      e.set("nombre", std::string(environment_label(env)));
      e.set("pruebas", env == Environment::kPruebas);
      mus::data previous{mus::data::type::list};
      bool any_previous = false;
      if (keys) {
        EnvironmentKeys mine = keys_of(*keys, env);
        if (mine.active) e.set("activa", key_data(*mine.active));
        if (mine.pending) e.set("pendiente", key_data(*mine.pending));
        for (const KeyStatus* k : mine.past) {
          mus::data row;
          row.set("serie_html", serial_html(k->serial_hex));
          row.set("estado", k->state == KeyState::kRevocada
                                ? (k->never_delivered ? "Anulada" : "Revocada")
                                : "Vencida");
          row.set("fecha", local_time(k->state == KeyState::kRevocada ? k->revoked_at.value_or("")
                                                                      : k->not_after));
          row.set("motivo", reason_text(*k));
          previous.push_back(row);
          any_previous = true;
        }
      }
      e.set("anteriores", previous);
      e.set("tiene_anteriores", any_previous);
      environments.push_back(e);
    }
    mus::data d;
    d.set("ambientes", environments);
    return d;
  }

  mus::data env_data(const PortalSession& session, Environment env) {
    mus::data d;
    d.set("amb", std::string(environment_name(env)));
    d.set("ambiente", std::string(environment_label(env)));
    d.set("ambiente_min", lower_label(env));
    d.set("csrf", session.csrf_token);
    set_errors(d, {});
    return d;
  }

  static std::string title(std::string_view action, Environment env) {
    return fmt::format("{} en {}", action, lower_label(env));
  }

  // A key of this taxpayer and environment by serial (for the pages after an
  // action, which name the key in their address).
  std::optional<KeyStatus> key_by_serial(const PortalSession& session, Environment env,
                                         const std::string& serial) {
    auto keys = s_.keys.status(session.taxpayer.identification, env);
    if (!keys) return std::nullopt;
    for (KeyStatus& k : *keys)
      if (k.serial_hex == serial) return std::move(k);
    return std::nullopt;
  }

  // --- Generar

  Response generate_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      Response holder;
      Form flash = take_flash(request, context, holder);
      mus::data d = env_data(session, env);
      d.set("solicitud", random_token());
      auto keys = s_.keys.status(session.taxpayer.identification, env);
      if (!keys) return failure_page(request, session, keys.error().message);
      EnvironmentKeys mine = keys_of(*keys, env);
      if (mine.active) {
        mus::data a = key_data(*mine.active);
        d.set("activa", a);
      }
      if (mine.pending) d.set("pendiente", key_data(*mine.pending));
      std::vector<FieldError> errors;
      const std::string pin = field(flash, "pin"), pin2 = field(flash, "pin2");
      if (pin == "vacio") errors.push_back({"pin", "Escriba un PIN de 4 números"});
      if (pin == "invalido")
        errors.push_back({"pin", "El PIN debe contener exactamente 4 números."});
      if (pin2 == "vacio") errors.push_back({"pin2", "Escriba el PIN otra vez para confirmarlo"});
      if (pin2 == "distinto") errors.push_back({"pin2", "El PIN y su confirmación no coinciden."});
      if (field(flash, "repetida") == "si")
        errors.push_back({"pin", "Esta solicitud ya fue procesada: no se generó otra llave."});
      set_errors(d, errors);
      d.set("facturador", field(flash, "facturador") == "si");
      Response r = page(request, http::status::ok, title("Generar llave criptográfica", env),
                        render("generar.mustache", d), PageOptions{&session, env, !errors.empty()});
      for (const auto& h : holder) r.insert(h.name(), h.value());
      return r;
    });
  }

  Response generate(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const std::string back = fmt::format("/llaves/{}/generar", environment_name(env));
          SecretString typed(field(form, "pin"));
          SecretString confirmation(field(form, "pin2"));
          const std::string facturador = field(form, "facturador") == "si" ? "si" : "no";
          // Which fields were wrong, never their content.
          std::vector<std::pair<std::string, std::string>> flash;
          if (typed.view().empty())
            flash.emplace_back("pin", "vacio");
          else if (!Pin::parse(typed.view()))
            flash.emplace_back("pin", "invalido");
          if (confirmation.view().empty())
            flash.emplace_back("pin2", "vacio");
          else if (flash.empty() && confirmation.view() != typed.view())
            flash.emplace_back("pin2", "distinto");
          if (!flash.empty()) {
            flash.emplace_back("facturador", facturador);
            return redirect_with_flash(request, context, back, flash);
          }
          auto pin = Pin::parse(typed.view());
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return redirect_with_flash(request, context, back, {{"repetida", "si"}});
          std::string token;
          auto made = s_.keys.generate(
              GenerateRequest{session.taxpayer.identification, env, std::nullopt,
                              facturador == "si", /*until_downloaded=*/true},
              *pin,
              [&](const StagedKey& key) -> Status {
                auto put = s_.downloads.put(session.taxpayer.id, env, key.file_name, key.p12,
                                            key.certificate_id);
                if (!put) return put.error();
                token = std::move(*put);
                return Ok{};
              },
              "portal:" + session.identification.digits());
          if (!made) {
            if (!token.empty()) (void)s_.downloads.wipe(token_hash(token));
            return failure_page(request, session, made.error().message);
          }
          Response r = redirect(request, fmt::format("/llaves/{}/generar/aviso?serie={}",
                                                     environment_name(env), made->serial_hex));
          r.insert(http::field::set_cookie,
                   fmt::format("{}={}; Path=/llaves; HttpOnly; SameSite=Strict; Max-Age={}{}",
                               kDownloadCookie, token, kDownloadWindowSeconds,
                               context.tls ? "; Secure" : ""));
          return r;
        });
  }

  // The guide's dialog after Generar.
  Response generated(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      mus::data d = env_data(session, env);
      d.set("serie", query_param(request, "serie"));
      return page(request, http::status::ok, title("Generar llave criptográfica", env),
                  render("aviso_generada.mustache", d), PageOptions{&session, env});
    });
  }

  // Step 4: the file's download.
  Response download_step(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      const std::string serial = query_param(request, "serie");
      auto key = key_by_serial(session, env, serial);
      if (!key || key->state != KeyState::kPendiente)
        return redirect(request, fmt::format("/llaves/{}/generar/listo?serie={}",
                                             environment_name(env), serial));
      mus::data d = env_data(session, env);
      d.set("listo", true);
      d.set("descarga", cookie(request, kDownloadCookie));
      d.set("serie", key->serial_hex);
      d.set("serie_html", serial_html(key->serial_hex));
      d.set("hasta", key->pending_until ? local_hour(*key->pending_until) : "");
      return page(request, http::status::ok, title("Generar llave criptográfica", env),
                  render("generar.mustache", d), PageOptions{&session, env});
    });
  }

  // After the download: what happened to the key named in the address.
  Response downloaded(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      auto key = key_by_serial(session, env, query_param(request, "serie"));
      if (!key) return not_found_page(request, &session);
      mus::data d = env_data(session, env);
      d.set("serie", key->serial_hex);
      d.set("serie_html", serial_html(key->serial_hex));
      d.set("archivo", session.identification.p12_file_name());
      std::string heading;
      if (key->state == KeyState::kPendiente) {
        d.set("pendiente", true);
        d.set("hasta", key->pending_until ? local_hour(*key->pending_until) : "");
        heading = "Su llave aún no se ha descargado";
      } else if (key->never_delivered) {
        d.set("anulada", true);
        d.set("motivo", reason_text(*key));
        heading = "Esta llave no se descargó";
      } else {
        d.set("descargada", true);
        heading = "Su llave criptográfica fue descargada";
        auto keys = s_.keys.status(session.taxpayer.identification, env);
        if (keys)
          for (const KeyStatus& k : *keys)
            if (k.reason == RevocationReason::kSuperseded && !k.never_delivered && k.revoked_at &&
                k.revoked_at >= key->not_before) {
              d.set("reemplazada_html", serial_html(k.serial_hex));
              d.set("reemplazada", true);
              break;
            }
      }
      return page(request, http::status::ok, heading + " (" + lower_label(env) + ")",
                  render("generar_listo.mustache", d), PageOptions{&session, env});
    });
  }

  Response download(const Request& request, const RouteContext& context) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          std::string token = field(form, "descarga");
          if (token.empty()) token = cookie(request, kDownloadCookie);
          auto file = s_.downloads.open(token, session.taxpayer.id);
          if (!file)
            return message_page(request, http::status::gone, "El archivo ya no está disponible",
                                file.error().message, &session, "/llaves", "Ver mis llaves");
          Response r = make_response(request, http::status::ok,
                                     std::string(file->p12.begin(), file->p12.end()),
                                     "application/x-pkcs12");
          wipe_memory(file->p12.data(), file->p12.size());
          r.set(http::field::content_disposition,
                fmt::format("attachment; filename=\"{}\"", file->file_name));
          r.set(http::field::cache_control, "no-store");
          r.set("X-Frame-Options", "DENY");
          // After the first complete download the key becomes the active one
          // (the old one is superseded then, not before) and the file is
          // wiped; a cut download may be retried within the 15 minutes.
          *context.after_send =
              [keys = &s_.keys, vault = &s_.downloads, taxpayer = session.taxpayer.id,
               actor = "portal:" + session.identification.digits(),
               certificate = file->certificate_id, hash = file->token_hash](bool complete) {
                if (!complete) return;
                if (certificate) {
                  auto done = keys->complete_download(taxpayer, *certificate, actor);
                  if (!done) spdlog::error("activar la llave descargada: {}", done.error().message);
                }
                (void)vault->wipe(hash);
              };
          return r;
        });
  }

  // --- Revocar

  Response revoke_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      Response holder;
      Form flash = take_flash(request, context, holder);
      mus::data d = env_data(session, env);
      auto keys = s_.keys.status(session.taxpayer.identification, env);
      if (!keys) return failure_page(request, session, keys.error().message);
      EnvironmentKeys mine = keys_of(*keys, env);
      if (mine.active) {
        d.set("activa", true);
        d.set("serie", mine.active->serial_hex);
        d.set("serie_html", serial_html(mine.active->serial_hex));
        d.set("desde", local_time(mine.active->not_before));
        d.set("hasta", local_time(mine.active->not_after));
      }
      std::vector<FieldError> errors;
      if (field(flash, "motivo") == "invalido")
        errors.push_back({"motivo", "Elija un motivo de la lista"});
      set_errors(d, errors);
      Response r = page(request, http::status::ok, title("Revocar llave criptográfica", env),
                        render("revocar.mustache", d), PageOptions{&session, env, !errors.empty()});
      for (const auto& h : holder) r.insert(h.name(), h.value());
      return r;
    });
  }

  Response revoke(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const std::string back = fmt::format("/llaves/{}/revocar", environment_name(env));
          std::optional<RevocationReason> reason;
          if (const std::string motivo = field(form, "motivo"); !motivo.empty()) {
            auto parsed = parse_revocation_reason(motivo);
            if (!parsed)
              return redirect_with_flash(request, context, back, {{"motivo", "invalido"}});
            reason = *parsed;
          }
          // The page named a key; if it is no longer the active one (revoked
          // in another tab, replaced by a download), revoke nothing.
          auto keys = s_.keys.status(session.taxpayer.identification, env);
          if (!keys) return failure_page(request, session, keys.error().message);
          EnvironmentKeys mine = keys_of(*keys, env);
          const std::string named = field(form, "serie");
          if (!mine.active || (!named.empty() && mine.active->serial_hex != named))
            return redirect(request, back);
          auto revoked = s_.keys.revoke(session.taxpayer.identification, env, reason,
                                        "portal:" + session.identification.digits());
          if (!revoked) {
            if (revoked.error().code == errc::kSinLlaveActiva) return redirect(request, back);
            return failure_page(request, session, revoked.error().message);
          }
          return redirect(request, fmt::format("/llaves/{}/revocar/hecha?serie={}",
                                               environment_name(env), revoked->serial_hex));
        });
  }

  Response revoked(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      auto key = key_by_serial(session, env, query_param(request, "serie"));
      if (!key || key->state != KeyState::kRevocada) return not_found_page(request, &session);
      mus::data d = env_data(session, env);
      mus::data k;
      k.set("serie_html", serial_html(key->serial_hex));
      k.set("fecha", local_time(key->revoked_at.value_or("")));
      if (key->reason) k.set("motivo", std::string(revocation_reason_label(*key->reason)));
      d.set("llave", k);
      return page(request, http::status::ok, title("Llave revocada", env),
                  render("revocada.mustache", d), PageOptions{&session, env});
    });
  }

  // --- Generar contraseña

  Response api_password_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      Response holder;
      Form flash = take_flash(request, context, holder);
      mus::data d = env_data(session, env);
      d.set("solicitud", random_token());
      auto existing = s_.accounts.api_user(session.taxpayer.identification, env);
      if (!existing) return failure_page(request, session, existing.error().message);
      if (*existing) {
        mus::data e;
        e.set("usuario", **existing);
        d.set("existente", e);
      }
      std::vector<FieldError> errors;
      if (field(flash, "confirmar") == "falta")
        errors.push_back({"confirmar", "Confirme que la contraseña actual dejará de funcionar"});
      if (field(flash, "repetida") == "si")
        errors.push_back(
            {"confirmar", "Esta solicitud ya fue procesada: no se generó otra contraseña."});
      set_errors(d, errors);
      Response r =
          page(request, http::status::ok, title("Generar contraseña", env),
               render("contrasena.mustache", d), PageOptions{&session, env, !errors.empty()});
      for (const auto& h : holder) r.insert(h.name(), h.value());
      return r;
    });
  }

  Response api_password(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const std::string back = fmt::format("/llaves/{}/contrasena", environment_name(env));
          auto existing = s_.accounts.api_user(session.taxpayer.identification, env);
          if (!existing) return failure_page(request, session, existing.error().message);
          if (*existing && field(form, "confirmar") != "si")
            return redirect_with_flash(request, context, back, {{"confirmar", "falta"}});
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return redirect_with_flash(request, context, back, {{"repetida", "si"}});
          auto made = s_.accounts.generate_api_password(
              session.taxpayer.identification, env, "portal:" + session.identification.digits());
          if (!made) return failure_page(request, session, made.error().message);
          {
            std::lock_guard lock(shown_mu_);
            shown_once_[session.id_hash + "/" + std::string(environment_name(env))] =
                NewApiPassword{made->username, std::move(made->password)};
          }
          return redirect(request, back + "/nueva");
        });
  }

  // The new password, shown once: the first GET takes it out of memory.
  Response new_api_password(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      mus::data d = env_data(session, env);
      std::optional<NewApiPassword> fresh;
      {
        std::lock_guard lock(shown_mu_);
        auto it = shown_once_.find(session.id_hash + "/" + std::string(environment_name(env)));
        if (it != shown_once_.end()) {
          fresh = std::move(it->second);
          shown_once_.erase(it);
        }
      }
      if (fresh) {
        mus::data n;
        n.set("usuario", fresh->username);
        n.set("contrasena", std::string(fresh->password.view()));
        n.set("caracteres_html", characters_html(fresh->password.view()));
        d.set("nueva", n);
      }
      return page(request, http::status::ok, title("Nueva contraseña", env),
                  render("contrasena_nueva.mustache", d), PageOptions{&session, env});
    });
  }

  // --- Herramienta Gratuita (docs/herramienta.md)

 public:
  // GET and POST under /herramienta/: "<ambiente>/<página>".
  Response tool(const Request& request, const RouteContext& context) {
    const bool post = request.method() == http::verb::post;
    const std::size_t slash = context.rest.find('/');
    auto env = parse_environment(context.rest.substr(0, slash));
    const std::string action = slash == std::string::npos ? "" : context.rest.substr(slash + 1);
    if (env && slash != std::string::npos) {
      if (action == "emitir")
        return post ? emit(request, context, *env) : emit_form(request, context, *env);
      if (action == "detener")
        return post ? stop(request, context, *env) : stop_form(request, context, *env);
      if (!post && action == "emitidos") return emitted(request, context, *env);
      if (action.starts_with("clientes") || action.starts_with("productos"))
        return saved_list(request, context, *env, action);
      if (!post && action == "comprobante") return emitted_document(request, context, *env, "");
      if (!post && (action == "comprobante/xml" || action == "comprobante/respuesta" ||
                    action == "comprobante/pdf"))
        return emitted_document(request, context, *env, action.substr(12));
      if (post && action == "comprobante/enviar") return send_again(request, context, *env);
      if (!post && action == "recibidos") return received(request, context, *env);
      if (action == "recibido")
        return post ? answer(request, context, *env)
                    : received_document(request, context, *env, "");
      if (!post && (action == "recibido/xml" || action == "recibido/respuesta"))
        return received_document(request, context, *env, action.substr(9));
      if (!post && action == "detenida")
        return with_session(
            request, context, false, [&](const PortalSession& session, const Form&) {
              return page(request, http::status::ok, title("Dejó de firmar", env.value()),
                          render("detenida.mustache", env_data(session, *env)),
                          PageOptions{&session, *env});
            });
    }
    auto session = s_.accounts.session(cookie(request, kSessionCookie));
    return not_found_page(request, session ? &*session : nullptr);
  }

 private:
  // What Emitir shows after its POST (Post/Redirect/Get): the values typed
  // and what was wrong. Kept in memory, not in the flash cookie: a form with
  // many lines does not fit in one.
  struct KeptForm {
    Form values;
    std::vector<FieldError> errors;
  };

  // The key in custody of this taxpayer in `env`; none when the tool cannot
  // sign there (box not ticked, key revoked or expired, stopped).
  std::optional<CustodyRecord> kept_key(const PortalSession& session, Environment env) {
    if (s_.custody == nullptr || s_.emission == nullptr) return std::nullopt;
    auto found = s_.custody->find(session.taxpayer.id, env);
    if (!found || !*found) return std::nullopt;
    return std::move(**found);
  }

  Response no_kept_key(const Request& request, const PortalSession& session, Environment env) {
    return page(request, http::status::ok, title("Herramienta Gratuita", env),
                render("herramienta_sin_llave.mustache", env_data(session, env)),
                PageOptions{&session, env});
  }

  struct Option {
    std::string_view value, text;
  };

  // The lists Emitir, Clientes and Productos choose from.
  static const std::vector<Option>& id_type_options() {
    static const std::vector<Option> list = {
        {"01", "Cédula física"}, {"02", "Cédula jurídica"}, {"03", "DIMEX"}, {"04", "NITE"}};
    return list;
  }
  static const std::vector<Option>& unit_options() {
    static const std::vector<Option> list = {{"Unid", "Unidad"},
                                             {"Sp", "Servicios profesionales"},
                                             {"Spe", "Servicios personales"},
                                             {"St", "Servicios técnicos"},
                                             {"h", "Hora"},
                                             {"d", "Día"},
                                             {"Os", "Otro tipo de servicio"},
                                             {"Al", "Alquiler de uso habitacional"},
                                             {"Alc", "Alquiler de uso comercial"},
                                             {"Cm", "Comisiones"},
                                             {"I", "Intereses"},
                                             {"Kg", "Kilogramo"},
                                             {"t", "Tonelada"},
                                             {"Oz", "Onza"},
                                             {"L", "Litro"},
                                             {"mL", "Mililitro"},
                                             {"Gal", "Galón"},
                                             {"M", "Metro"},
                                             {"cm", "Centímetro"},
                                             {"Km", "Kilómetro"},
                                             {"m²", "Metro cuadrado"},
                                             {"m³", "Metro cúbico"},
                                             {"kWh", "Kilovatio hora"},
                                             {"Otros", "Otros"}};
    return list;
  }
  static const std::vector<Option>& tariff_options() {
    static const std::vector<Option> list = {{"08", "13 % (tarifa general)"},
                                             {"04", "4 % (tarifa reducida)"},
                                             {"03", "2 % (tarifa reducida)"},
                                             {"02", "1 % (tarifa reducida)"},
                                             {"09", "0,5 % (tarifa reducida)"},
                                             {"07", "8 % (tarifa transitoria)"},
                                             {"06", "4 % (tarifa transitoria)"},
                                             {"05", "0 % (tarifa transitoria)"},
                                             {"01", "0 % (artículo 32)"},
                                             {"11", "0 % sin derecho a crédito"},
                                             {"10", "Exenta"}};
    return list;
  }

  // One field of the Emitir form for campo.mustache: its value, and its
  // error beside it (aria-invalid, aria-describedby).
  static mus::data form_field(const Form& values, const std::vector<FieldError>& errors,
                              const std::string& id, std::string_view label,
                              std::string_view fallback = "", std::string_view mode = "",
                              std::string_view help = "",
                              const std::vector<Option>* options = nullptr) {
    mus::data f;
    f.set("id", id);
    f.set("etiqueta", std::string(label));
    auto it = values.find(id);
    const std::string value = it == values.end() ? std::string(fallback) : it->second;
    f.set("valor", value);
    std::string describe;
    if (!help.empty()) {
      f.set("ayuda", std::string(help));
      describe = id + "-ayuda";
    } else {
      f.set("ayuda", false);
    }
    f.set("error", false);
    for (const FieldError& e : errors)
      if (e.field == id) {
        f.set("error", e.message);
        describe += (describe.empty() ? "" : " ") + id + "-error";
        break;
      }
    if (describe.empty())
      f.set("describe", false);
    else
      f.set("describe", describe);
    if (mode.empty())
      f.set("modo", false);
    else
      f.set("modo", std::string(mode));
    f.set("autocompletar", id.find("correo") != std::string::npos ? "email" : "off");
    f.set("lista", options != nullptr);
    if (options != nullptr) {
      mus::data list{mus::data::type::list};
      for (const Option& o : *options) {
        mus::data item;
        item.set("valor", std::string(o.value));
        item.set("texto", std::string(o.text));
        item.set("elegida", o.value == value);
        list.push_back(item);
      }
      f.set("opciones", list);
    }
    return f;
  }

  static int line_count(const Form& values) {
    int n = 3;
    try {
      n = std::stoi(field(values, "lineas"));
    } catch (...) {
    }
    return std::clamp(n, 1, 100);
  }

  static EmissionInput emission_input(const Form& f, Environment env) {
    EmissionInput in;
    in.environment = env;
    in.kind = parse_document_tipo(field(f, "tipo_documento")).value_or(DocumentKind::kFactura);
    in.actividad = field(f, "actividad");
    in.provincia = field(f, "provincia");
    in.canton = field(f, "canton");
    in.distrito = field(f, "distrito");
    in.otras_senas = field(f, "otras_senas");
    in.correo = field(f, "correo");
    in.receptor_identificacion = field(f, "receptor_identificacion");
    in.receptor_nombre = field(f, "receptor_nombre");
    in.receptor_correo = field(f, "receptor_correo");
    in.proveedor_identificacion = field(f, "proveedor_identificacion");
    in.proveedor_nombre = field(f, "proveedor_nombre");
    in.proveedor_correo = field(f, "proveedor_correo");
    in.condicion_venta = field(f, "condicion_venta");
    in.medio_pago = field(f, "medio_pago");
    in.moneda = field(f, "moneda");
    in.tipo_cambio = field(f, "tipo_cambio");
    in.referencia_clave = field(f, "referencia_clave");
    in.referencia_codigo = field(f, "referencia_codigo");
    in.referencia_razon = field(f, "referencia_razon");
    for (int i = 1; i <= line_count(f); ++i) {
      const std::string at = fmt::format("linea{}_", i);
      LineInput l;
      l.cabys = field(f, at + "cabys");
      l.detalle = field(f, at + "detalle");
      l.cantidad = field(f, at + "cantidad");
      l.unidad = field(f, at + "unidad");
      l.precio_unitario = field(f, at + "precio");
      l.descuento = field(f, at + "descuento");
      l.naturaleza_descuento = field(f, at + "naturaleza");
      l.tarifa = field(f, at + "tarifa");
      in.lines.push_back(std::move(l));
    }
    return in;
  }

  // The form's own check of what the service does not know: the
  // identification of the party the document names (the receptor, or in a
  // factura de compra the proveedor) must be of the type chosen beside it.
  static void check_receptor_type(const Form& f, std::vector<FieldError>& errors) {
    const std::string party =
        field(f, "tipo_documento") == document_tipo(DocumentKind::kFacturaCompra) ? "proveedor"
                                                                                  : "receptor";
    if (auto problem = identification_type_problem(field(f, party + "_tipo"),
                                                   field(f, party + "_identificacion")))
      errors.push_back({party + "_identificacion", *problem});
  }

  Response emit_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      auto key = kept_key(session, env);
      if (!key) return no_kept_key(request, session, env);
      KeptForm kept;
      {
        std::lock_guard lock(kept_mu_);
        auto it = kept_forms_.find(session.id_hash + "/" + std::string(environment_name(env)));
        if (it != kept_forms_.end()) {
          kept = std::move(it->second);
          kept_forms_.erase(it);
        }
      }
      // "Emitir nota de crédito" on a comprobante's page: the kind and the
      // clave referred to, prefilled (a fresh form only).
      if (kept.values.empty()) {
        const std::string tipo = query_param(request, "tipo");
        const std::string referencia = query_param(request, "referencia");
        if (parse_document_tipo(tipo)) kept.values["tipo_documento"] = tipo;
        if (Clave::parse(referencia)) kept.values["referencia_clave"] = referencia;
      }
      const Form& v = kept.values;
      const auto& e = kept.errors;
      mus::data d = env_data(session, env);
      set_errors(d, e);
      d.set("campo", partial("campo.mustache"));
      d.set("solicitud", random_token());
      d.set("serie_html", serial_html(key->serial_hex));
      static const std::vector<Option> kinds = {{"01", "Factura electrónica"},
                                                {"04", "Tiquete electrónico"},
                                                {"03", "Nota de crédito electrónica"},
                                                {"02", "Nota de débito electrónica"},
                                                {"08", "Factura electrónica de compra"}};
      static const std::vector<Option> conditions = {
          {"01", "Contado"},
          {"02", "Crédito"},
          {"03", "Consignación"},
          {"04", "Apartado"},
          {"05", "Arrendamiento con opción de compra"},
          {"06", "Arrendamiento en función financiera"},
          {"07", "Cobro a favor de un tercero"},
          {"08", "Servicios prestados al Estado"},
          {"10", "Venta a crédito en IVA hasta 90 días"}};
      static const std::vector<Option> payments = {{"01", "Efectivo"},
                                                   {"02", "Tarjeta"},
                                                   {"03", "Cheque"},
                                                   {"04", "Transferencia o depósito bancario"},
                                                   {"05", "Recaudado por terceros"},
                                                   {"06", "SINPE Móvil"},
                                                   {"07", "Plataforma digital"}};
      static const std::vector<Option> currencies = {{"CRC", "Colón costarricense (CRC)"},
                                                     {"USD", "Dólar estadounidense (USD)"},
                                                     {"EUR", "Euro (EUR)"}};
      static const std::vector<Option> references = {
          {"01", "Anula el documento de referencia"},
          {"02", "Corrige un monto"},
          {"04", "Se refiere a otro documento"},
          {"05", "Sustituye un comprobante de contingencia"},
          {"06", "Devolución de mercancía"},
          {"07", "Sustituye un comprobante electrónico"},
          {"08", "Factura endosada"},
          {"09", "Nota de crédito financiera"},
          {"10", "Nota de débito financiera"},
          {"12", "Ajuste de descuento"}};
      auto set = [&](const std::string& id, std::string_view label, std::string_view fallback = "",
                     std::string_view mode = "", std::string_view help = "",
                     const std::vector<Option>* options = nullptr) {
        d.set("f_" + id, form_field(v, e, id, label, fallback, mode, help, options));
      };
      set("tipo_documento", "Tipo de comprobante", "01", "", "", &kinds);
      set("condicion_venta", "Condición de venta", "01", "", "", &conditions);
      set("medio_pago", "Medio de pago", "01", "", "", &payments);
      set("moneda", "Moneda", "CRC", "", "", &currencies);
      set("tipo_cambio", "Tipo de cambio a colones (si la moneda no es CRC)", "", "decimal",
          "P. ej. 510.25");
      set("referencia_clave", "Clave del comprobante al que se refiere la nota", "", "numeric",
          "Los 50 dígitos de la clave");
      set("referencia_codigo", "Código de referencia", "01", "", "", &references);
      set("referencia_razon", "Razón de la nota");
      set("receptor_tipo", "Tipo de identificación del receptor", "01", "", "", &id_type_options());
      set("receptor_identificacion", "Número de identificación del receptor", "", "",
          "P. ej. 1-0647-0958 (no se pide para un tiquete)");
      set("receptor_nombre", "Nombre del receptor");
      set("receptor_correo", "Correo electrónico del receptor (opcional)");
      set("proveedor_tipo", "Tipo de identificación del proveedor", "01", "", "",
          &id_type_options());
      set("proveedor_identificacion", "Número de identificación del proveedor", "", "",
          "P. ej. 3-101-522899");
      set("proveedor_nombre", "Nombre del proveedor");
      set("proveedor_correo", "Correo electrónico del proveedor (opcional)");
      const SavedOptions saved = saved_options(session, env);
      d.set("listas", s_.lists != nullptr);
      d.set("hay_clientes", !saved.clientes.empty());
      d.set("hay_productos", !saved.productos.empty());
      if (!saved.clientes.empty())
        set("cliente_guardado", "Cliente guardado", "", "", "", &saved.clientes);
      set("actividad", "Código de actividad económica", "620100", "numeric", "6 dígitos");
      set("provincia", "Provincia", "1", "numeric", "Un dígito del 1 al 7");
      set("canton", "Cantón", "01", "numeric", "2 dígitos");
      set("distrito", "Distrito", "01", "numeric", "2 dígitos");
      set("otras_senas", "Otras señas");
      set("correo", "Su correo electrónico", session.taxpayer.correo);
      int lines = line_count(v);
      if (!v.contains("lineas")) lines = 3;
      d.set("cuantas_lineas", std::to_string(lines));
      mus::data rows{mus::data::type::list};
      for (int i = 1; i <= lines; ++i) {
        const std::string at = fmt::format("linea{}_", i);
        const std::string n = std::to_string(i);
        mus::data row;
        row.set("n", n);
        auto line = [&](std::string_view name, std::string_view label,
                        std::string_view fallback = "", std::string_view mode = "",
                        std::string_view help = "", const std::vector<Option>* options = nullptr) {
          row.set("f_" + std::string(name),
                  form_field(v, e, at + std::string(name), fmt::format("{} (línea {})", label, n),
                             fallback, mode, help, options));
        };
        line("cabys", "Código CABYS", "", "numeric", "13 dígitos");
        line("detalle", "Descripción");
        line("cantidad", "Cantidad", "", "decimal");
        line("unidad", "Unidad de medida", "Unid", "", "", &unit_options());
        line("precio", "Precio unitario", "", "decimal");
        line("descuento", "Descuento (monto, opcional)", "", "decimal");
        line("naturaleza", "Razón del descuento");
        line("tarifa", "Tarifa de IVA", "08", "", "", &tariff_options());
        if (!saved.productos.empty())
          line("producto", "Producto guardado", "", "", "", &saved.productos);
        rows.push_back(row);
      }
      d.set("lineas", rows);
      d.set("guardar_cliente", field(v, "guardar_cliente") == "si");
      return page(request, http::status::ok, title("Emitir comprobante", env),
                  render("emitir.mustache", d), PageOptions{&session, env, !e.empty()});
    });
  }

  Response emit(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const std::string back = fmt::format("/herramienta/{}/emitir", environment_name(env));
          if (!kept_key(session, env)) return redirect(request, back);
          auto keep = [&](Form values, std::vector<FieldError> errors) {
            values.erase("csrf");
            values.erase("solicitud");
            std::lock_guard lock(kept_mu_);
            kept_forms_[session.id_hash + "/" + std::string(environment_name(env))] =
                KeptForm{std::move(values), std::move(errors)};
          };
          // "Usar este cliente" / "Usar este producto": the same form with
          // the receptor or that line filled from the list, nothing sent.
          if (auto filled = fill_from_list(session, env, form)) {
            keep(std::move(filled->values), std::move(filled->errors));
            return redirect(request, back + filled->anchor);
          }
          // "Agregar línea": the same form with one more row, nothing sent.
          if (field(form, "accion") == "agregar") {
            Form more = form;
            more["lineas"] = std::to_string(std::min(line_count(form) + 1, 100));
            keep(std::move(more), {});
            return redirect(request, fmt::format("{}#linea{}", back, line_count(form) + 1));
          }
          const EmissionInput input = emission_input(form, env);
          std::vector<FieldError> errors;
          for (const service::FieldError& e : s_.emission->check(input))
            errors.push_back({e.field, e.message});
          check_receptor_type(form, errors);
          if (!errors.empty()) {
            keep(form, std::move(errors));
            return redirect(request, back);
          }
          // A double click sends the form twice: only the first emits.
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return redirect(
                request, fmt::format("/herramienta/{}/emitidos?repetida=1", environment_name(env)));
          std::vector<service::FieldError> refused;
          auto made = s_.emission->emit(session.taxpayer, input, refused,
                                        "portal:" + session.identification.digits());
          if (!made) {
            if (made.error().code == errc::kDatoInvalido) {
              for (const service::FieldError& e : refused) errors.push_back({e.field, e.message});
              keep(form, std::move(errors));
              return redirect(request, back);
            }
            if (made.error().code == errc::kSinLlaveCustodia) return redirect(request, back);
            return failure_page(request, session, made.error().message);
          }
          const std::string location = fmt::format("/herramienta/{}/comprobante?clave={}",
                                                   environment_name(env), made->record.clave);
          if (field(form, "guardar_cliente") == "si" && s_.lists != nullptr &&
              !input.receptor_identificacion.empty())
            return redirect_with_flash(request, context, location,
                                       {{"aviso", save_receptor(session, env, form)}});
          return redirect(request, location);
        });
  }

  // "Guardar en mis clientes" after an emission: what happened, to say on
  // the comprobante's page.
  std::string save_receptor(const PortalSession& session, Environment env, const Form& form) {
    std::vector<service::FieldError> refused;
    auto saved = s_.lists->add_cliente(
        session.taxpayer, env,
        ClienteInput{field(form, "receptor_tipo"), field(form, "receptor_identificacion"),
                     field(form, "receptor_nombre"), field(form, "receptor_correo")},
        refused, "portal:" + session.identification.digits());
    if (saved) return "El receptor se guardó en sus clientes.";
    std::string why = refused.empty() ? saved.error().message : refused.front().message;
    return "El receptor no se guardó en sus clientes: " + why;
  }

  // The saved clientes and productos as the options of Emitir's selects.
  struct SavedOptions {
    std::vector<std::string> texts;  // what the options' views point into
    std::vector<Option> clientes, productos;
  };
  SavedOptions saved_options(const PortalSession& session, Environment env) {
    SavedOptions out;
    if (s_.lists == nullptr) return out;
    const std::int64_t all = s_.lists->max_per_list();
    auto clientes = s_.lists->clientes(session.taxpayer, env, 0, all);
    auto productos = s_.lists->productos(session.taxpayer, env, 0, all);
    const std::size_t n =
        (clientes ? clientes->items.size() : 0) + (productos ? productos->items.size() : 0);
    out.texts.reserve(2 * n + 2);  // no reallocation: the views stay valid
    auto add = [&](std::vector<Option>& to, std::string value, std::string text) {
      out.texts.push_back(std::move(value));
      const std::string& v = out.texts.back();
      out.texts.push_back(std::move(text));
      to.push_back(Option{v, out.texts.back()});
    };
    if (clientes && !clientes->items.empty()) {
      add(out.clientes, "", "Elija un cliente");
      for (const ClienteRecord& c : clientes->items)
        add(out.clientes, std::to_string(c.id),
            fmt::format("{} ({})", c.nombre, field(cliente_values(c), "identificacion")));
    }
    if (productos && !productos->items.empty()) {
      add(out.productos, "", "Elija un producto");
      for (const ProductoRecord& p : productos->items)
        add(out.productos, std::to_string(p.id),
            fmt::format("{} ({} {})", p.descripcion, p.precio, p.unidad));
    }
    return out;
  }

  // Emitir's "Usar este cliente" (accion=cliente) and "Usar este producto"
  // of line N (accion=productoN): the form with those fields filled from the
  // entry chosen, or an error beside the select; none for any other action.
  struct FilledForm {
    Form values;
    std::vector<FieldError> errors;
    std::string anchor;
  };
  std::optional<FilledForm> fill_from_list(const PortalSession& session, Environment env,
                                           const Form& form) {
    const std::string accion = field(form, "accion");
    if (s_.lists == nullptr) return std::nullopt;
    FilledForm out{form, {}, ""};
    if (accion == "cliente") {
      out.anchor = "#receptor";
      auto id = listed_id(field(form, "cliente_guardado"));
      auto found = id ? s_.lists->cliente(session.taxpayer, env, *id)
                      : Result<std::optional<ClienteRecord>>(std::nullopt);
      if (!found || !*found) {
        out.errors.push_back({"cliente_guardado",
                              "Elija un cliente de la lista para llenar los datos del receptor."});
        return out;
      }
      for (const auto& [name, value] : cliente_values(**found))
        out.values["receptor_" + name] = value;
      return out;
    }
    if (!accion.starts_with("producto")) return std::nullopt;
    auto line = listed_id(accion.substr(8));
    if (!line || *line < 1 || *line > line_count(form)) return std::nullopt;
    const std::string at = fmt::format("linea{}_", *line);
    out.anchor = fmt::format("#linea{}", *line);
    auto id = listed_id(field(form, at + "producto"));
    auto found = id ? s_.lists->producto(session.taxpayer, env, *id)
                    : Result<std::optional<ProductoRecord>>(std::nullopt);
    if (!found || !*found) {
      out.errors.push_back({at + "producto", fmt::format("Línea {}: elija un producto de la lista "
                                                         "para llenar la línea.",
                                                         *line)});
      return out;
    }
    for (const auto& [name, value] : producto_values(**found))
      out.values[at + (name == "descripcion" ? std::string("detalle") : name)] = value;
    return out;
  }

  // A comprobante's row or page: what was emitted, and Hacienda's verdict.
  static mus::data document_data(const EmittedDocument& doc) {
    const EmittedRecord& r = doc.record;
    mus::data d;
    d.set("clave", r.clave);
    d.set("tipo", std::string(document_kind_label(r.tipo)));
    d.set("consecutivo", r.consecutivo);
    // In a factura de compra the other party is the seller.
    const bool compra = r.tipo == document_tipo(DocumentKind::kFacturaCompra);
    d.set("receptor", r.receptor_nombre.empty() ? "—"
                      : compra                  ? r.receptor_nombre + " (proveedor)"
                                                : r.receptor_nombre);
    d.set("fecha", format_costa_rica(r.created_at));
    d.set("total", r.total + " " + r.moneda);
    d.set("estado", std::string(emitted_state_label(doc.state)));
    if (doc.state == ComprobanteState::kRechazado && !doc.detalle.empty())
      d.set("motivo", doc.detalle);
    else
      d.set("motivo", false);
    d.set("en_curso",
          doc.state == ComprobanteState::kRecibido || doc.state == ComprobanteState::kProcesando);
    d.set("hay_respuesta", !doc.mensaje_hacienda.empty());
    return d;
  }

  static constexpr std::int64_t kPerPage = 20;

  // The page of a list a request asks for (?pagina=N), from 1.
  // Digits only, at most page 1000: a number that is not one is page 1.
  static std::int64_t page_number(const Request& request) {
    auto n = listed_id(query_param(request, "pagina"));
    return n && *n > 0 ? std::min<std::int64_t>(*n, 1000) : 1;
  }

  // A list page's rows, "N a M de T" and the links to the pages around it.
  // `link_suffix` keeps a search in the links ("&receptor=…").
  static void set_list_page(mus::data& d, mus::data rows, std::int64_t number, std::size_t shown,
                            std::int64_t total, const std::string& link_suffix = "") {
    d.set("filas", std::move(rows));
    d.set("hay", shown > 0);
    d.set("total", std::to_string(total));
    d.set("desde", std::to_string((number - 1) * kPerPage + 1));
    d.set("hasta", std::to_string((number - 1) * kPerPage + static_cast<std::int64_t>(shown)));
    if (number > 1) d.set("anterior", std::to_string(number - 1) + link_suffix);
    if (number * kPerPage < total) d.set("siguiente", std::to_string(number + 1) + link_suffix);
  }

  Response emitted(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      if (s_.emission == nullptr) return no_kept_key(request, session, env);
      const std::int64_t number = page_number(request);
      // The search (a GET form): its fields are kept in the pages' links.
      Form typed;
      for (const char* name : {"receptor", "desde", "hasta", "estado"})
        typed[name] = query_param(request, name);
      const ParsedSearch search = parse_search(
          EmittedSearch{typed["receptor"], typed["desde"], typed["hasta"], typed["estado"]});
      std::vector<FieldError> errors;
      for (const service::FieldError& e : search.errors) errors.push_back({e.field, e.message});
      mus::data d = env_data(session, env);
      set_errors(d, errors);
      d.set("campo", partial("campo.mustache"));
      static const std::vector<Option> states = {{"", "Todos"},
                                                 {"aceptado", "aceptado"},
                                                 {"rechazado", "rechazado"},
                                                 {"recibido", "recibido"},
                                                 {"procesando", "procesando"},
                                                 {"no recibido", "no recibido"}};
      d.set("b_receptor", form_field(typed, errors, "receptor", "Receptor o proveedor", "", "",
                                     "Parte del nombre, o la identificación"));
      d.set("b_desde", form_field(typed, errors, "desde", "Desde", "", "",
                                  "Fecha AAAA-MM-DD, p. ej. 2026-12-01"));
      d.set("b_hasta",
            form_field(typed, errors, "hasta", "Hasta", "", "", "Fecha AAAA-MM-DD, incluida"));
      d.set("b_estado", form_field(typed, errors, "estado", "Estado", "", "", "", &states));
      const bool searching =
          std::any_of(typed.begin(), typed.end(), [](const auto& f) { return !f.second.empty(); });
      d.set("buscando", searching);
      d.set("puede_emitir", kept_key(session, env).has_value());
      if (query_param(request, "repetida") == "1")
        d.set("aviso", "Esta solicitud ya fue procesada: no se emitió otro comprobante.");
      if (!errors.empty())
        return page(request, http::status::bad_request, title("Comprobantes emitidos", env),
                    render("emitidos.mustache", d), PageOptions{&session, env, true});
      auto listed = s_.emission->emitted(session.taxpayer, env, search.filter,
                                         (number - 1) * kPerPage, kPerPage);
      if (!listed) return failure_page(request, session, listed.error().message);
      mus::data rows{mus::data::type::list};
      for (const EmittedDocument& doc : listed->items) {
        mus::data row = document_data(doc);
        row.set("amb", std::string(environment_name(env)));
        rows.push_back(row);
      }
      d.set("listado", true);
      std::vector<std::pair<std::string, std::string>> kept;
      for (const auto& [name, value] : typed)
        if (!value.empty()) kept.emplace_back(name, value);
      set_list_page(d, std::move(rows), number, listed->items.size(), listed->total,
                    kept.empty() ? "" : "&" + form_encode(kept));
      return page(request, http::status::ok, title("Comprobantes emitidos", env),
                  render("emitidos.mustache", d), PageOptions{&session, env});
    });
  }

  // A comprobante's page, or one of its files (`file`: "xml", "respuesta", "pdf").
  Response emitted_document(const Request& request, const RouteContext& context, Environment env,
                            std::string_view file) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      if (s_.emission == nullptr) return not_found_page(request, &session);
      auto doc = s_.emission->document(session.taxpayer, query_param(request, "clave"));
      if (!doc) return failure_page(request, session, doc.error().message);
      if (!*doc || (*doc)->record.environment != env) return not_found_page(request, &session);
      const EmittedDocument& found = **doc;
      if (file == "pdf") {
        auto pdf = service::invoice_pdf(found);
        if (!pdf) return failure_page(request, session, pdf.error().message);
        return attachment(request, std::move(*pdf), "application/pdf", found.record.clave + ".pdf");
      }
      if (!file.empty()) {
        const Bytes& bytes = file == "xml" ? found.record.xml : found.mensaje_hacienda;
        if (bytes.empty()) return not_found_page(request, &session);
        return attachment(request, std::string(bytes.begin(), bytes.end()),
                          "application/xml; charset=utf-8",
                          found.record.clave + (file == "xml" ? ".xml" : "-respuesta.xml"));
      }
      mus::data d = document_data(found);
      d.set("amb", std::string(environment_name(env)));
      d.set("ambiente_min", lower_label(env));
      // What was signed: the parties, the lines and the totals.
      auto contents = service::read_contents(found.record.xml);
      if (!contents) return failure_page(request, session, contents.error().message);
      const ComprobanteContents& c = *contents;
      auto party = [](const std::string& nombre, const std::string& id) {
        return nombre.empty() ? std::string("—") : fmt::format("{} ({})", nombre, id);
      };
      d.set("emisor", party(c.emisor_nombre, c.emisor_id));
      d.set("receptor", party(c.receptor_nombre, c.receptor_id));
      mus::data lines{mus::data::type::list};
      for (const ContentsLine& l : c.lines) {
        mus::data line;
        line.set("detalle", l.detalle);
        line.set("cantidad", l.cantidad + " " + l.unidad);
        line.set("precio", l.precio);
        line.set("descuento", l.descuento.empty() ? "0" : l.descuento);
        line.set("impuesto", l.impuesto);
        line.set("total", l.total);
        lines.push_back(line);
      }
      d.set("lineas", lines);
      d.set("moneda", c.moneda);
      d.set("total_venta", c.venta);
      d.set("total_descuentos", c.descuentos.empty() ? "0" : c.descuentos);
      d.set("total_impuesto", c.impuesto);
      d.set("total_comprobante", c.comprobante);
      // A nota names the document it refers to: a link when it is one of
      // this taxpayer's.
      if (!c.referencia_numero.empty()) {
        mus::data ref;
        ref.set("clave", c.referencia_numero);
        auto referred = s_.emission->document(session.taxpayer, c.referencia_numero);
        if (referred && *referred && (*referred)->record.environment == env)
          ref.set("nombre", fmt::format("{} {}", document_kind_label((*referred)->record.tipo),
                                        (*referred)->record.consecutivo));
        else
          ref.set("nombre", false);
        d.set("referencia", ref);
      }
      // An accepted factura or tiquete can be corrected with a nota.
      if ((found.record.tipo == document_tipo(DocumentKind::kFactura) ||
           found.record.tipo == document_tipo(DocumentKind::kTiquete)) &&
          found.state == ComprobanteState::kAceptado && kept_key(session, env))
        d.set("notas", true);
      if (s_.mailer != nullptr) {
        auto mail = s_.mailer->status(found);
        if (!mail) return failure_page(request, session, mail.error().message);
        d.set("correo", mail_data(found, *mail));
        d.set("csrf", session.csrf_token);
        d.set("solicitud", random_token());
        const std::string asked = query_param(request, "correo");
        if (asked == "pedido")
          d.set("aviso", "Se enviará en unos segundos: recargue la página para ver el resultado.");
        if (asked == "repetido")
          d.set("aviso", "Esta solicitud ya fue procesada: no se pidió otro envío.");
      }
      Response holder;
      const Form flash = take_flash(request, context, holder);
      if (const std::string aviso = field(flash, "aviso"); !aviso.empty()) d.set("aviso", aviso);
      Response r = page(request, http::status::ok,
                        fmt::format("{} {}", std::string(document_kind_label(found.record.tipo)),
                                    found.record.consecutivo),
                        render("comprobante.mustache", d), PageOptions{&session, env});
      for (const auto& h : holder) r.insert(h.name(), h.value());
      return r;
    });
  }

  // The correo to the receptor on a comprobante's page: what happened,
  // each attempt, and "Enviar de nuevo" when it can be used.
  static mus::data mail_data(const EmittedDocument& doc, const MailStatus& mail) {
    mus::data d;
    std::string state;
    if (!mail.configured && mail.attempts.empty())
      state = "El envío por correo no está configurado en este servidor.";
    else if (mail.to.empty())
      state = "El comprobante no tiene correo del receptor: no hay a quién enviarlo.";
    else if (doc.state == ComprobanteState::kRechazado)
      state = "Un comprobante rechazado no se envía al receptor.";
    else if (!mail.mail && doc.state != ComprobanteState::kAceptado)
      state = fmt::format("Se enviará a {} cuando Hacienda lo acepte.", mail.to);
    else if (!mail.mail)
      state = fmt::format("No se ha enviado a {}.", mail.to);
    else if (mail.mail->state == MailState::kPendiente && mail.mail->round_attempts == 0)
      state =
          fmt::format("Se está enviando a {}: recargue la página para ver el resultado.", mail.to);
    else if (mail.mail->state == MailState::kPendiente)
      state = fmt::format("El último intento falló; se intentará de nuevo el {}.",
                          format_costa_rica(mail.mail->next));
    else if (mail.mail->state == MailState::kEntregado)
      state = fmt::format("Enviado a {}.", mail.to);
    else if (mail.mail->state == MailState::kAbandonado)
      state = fmt::format("No se pudo enviar a {} después de {} intento{}; no se intentará más.",
                          mail.to, mail.mail->round_attempts,
                          mail.mail->round_attempts == 1 ? "" : "s");
    else
      state = fmt::format("No se envió a {}.", mail.to);
    if (!mail.configured && !mail.attempts.empty())
      state += " El envío por correo ya no está configurado en este servidor.";
    d.set("estado", state);
    mus::data attempts{mus::data::type::list};
    for (const MailAttempt& a : mail.attempts) {
      mus::data row;
      row.set("numero", std::to_string(a.number));
      row.set("fecha", format_costa_rica(a.at));
      row.set("destino", a.to);
      row.set("resultado", a.delivered ? "Entregado al servidor de correo" : "Error: " + a.error);
      row.set("entregado", a.delivered);
      attempts.push_back(row);
    }
    d.set("intentos", attempts);
    d.set("hay_intentos", !mail.attempts.empty());
    d.set("puede_enviar", mail.cannot_send.empty());
    d.set("boton", mail.attempts.empty() ? "Enviar al receptor" : "Enviar de nuevo");
    return d;
  }

  // "Enviar de nuevo" (POST, CSRF, one-time solicitud): the comprobante is
  // pending again and a worker sends it; the page says what came of it.
  Response send_again(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          if (s_.mailer == nullptr || s_.emission == nullptr)
            return not_found_page(request, &session);
          const std::string clave = field(form, "clave");
          auto doc = s_.emission->document(session.taxpayer, clave);
          if (!doc) return failure_page(request, session, doc.error().message);
          if (!*doc || (*doc)->record.environment != env) return not_found_page(request, &session);
          const std::string back =
              fmt::format("/herramienta/{}/comprobante?clave={}", environment_name(env), clave);
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return redirect(request, back + "&correo=repetido");
          auto asked = s_.mailer->send_again(session.taxpayer, clave,
                                             "portal:" + session.identification.digits());
          if (!asked && asked.error().code != errc::kCorreoNoDisponible)
            return failure_page(request, session, asked.error().message);
          // Refused: the page says why (no server, no correo, not aceptado, in course).
          return redirect(request, back + (asked ? "&correo=pedido" : ""));
        });
  }

  // --- Recibidos: the documents where the taxpayer is the receptor, and the
  // answer (MensajeReceptor) to one of them.

  // A received document's row or page, and the taxpayer's answer to it.
  static mus::data received_data(const ReceivedDocument& doc, Environment env) {
    mus::data d;
    d.set("amb", std::string(environment_name(env)));
    d.set("clave", doc.record.clave);
    d.set("tipo", std::string(document_kind_label(doc.tipo)));
    d.set("consecutivo", doc.consecutivo);
    d.set("emisor", doc.emisor_nombre.empty() ? "—" : doc.emisor_nombre);
    d.set("emisor_id", doc.emisor_identificacion);
    d.set("fecha", format_costa_rica(doc.record.received_at));
    d.set("fecha_emision", doc.fecha_emision.empty() ? "—" : doc.fecha_emision);
    d.set("total", doc.total.empty() ? "—" : doc.total + " " + doc.moneda);
    d.set("impuesto", doc.impuesto.empty() ? "—" : doc.impuesto + " " + doc.moneda);
    d.set("estado", std::string(state_name(doc.record.state)));
    d.set("respondido", doc.answer.has_value());
    if (doc.answer && doc.decision) {
      const EmittedDocument& a = *doc.answer;
      d.set("respuesta", std::string(receptor_decision_label(*doc.decision)));
      d.set("motivo", doc.answer_detalle.empty() ? "—" : doc.answer_detalle);
      d.set("respuesta_consecutivo", a.record.consecutivo);
      d.set("respuesta_fecha", format_costa_rica(a.record.created_at));
      d.set("estado_respuesta", std::string(emitted_state_label(a.state)));
      if (a.state == ComprobanteState::kRechazado && !a.detalle.empty())
        d.set("motivo_hacienda", a.detalle);
      else
        d.set("motivo_hacienda", false);
      d.set("respuesta_en_curso",
            a.state == ComprobanteState::kRecibido || a.state == ComprobanteState::kProcesando);
    }
    return d;
  }

  Response received(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      if (s_.receiver == nullptr) return no_kept_key(request, session, env);
      const std::int64_t number = page_number(request);
      auto listed = s_.receiver->received(session.taxpayer, env, (number - 1) * kPerPage, kPerPage);
      if (!listed) return failure_page(request, session, listed.error().message);
      mus::data d = env_data(session, env);
      mus::data rows{mus::data::type::list};
      for (const ReceivedDocument& doc : listed->items) rows.push_back(received_data(doc, env));
      set_list_page(d, std::move(rows), number, listed->items.size(), listed->total);
      return page(request, http::status::ok, title("Comprobantes recibidos", env),
                  render("recibidos.mustache", d), PageOptions{&session, env});
    });
  }

  // A received document's page with the answer form, or one of its files
  // (`file`: "xml", the document; "respuesta", the MensajeReceptor sent).
  Response received_document(const Request& request, const RouteContext& context, Environment env,
                             std::string_view file) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      if (s_.receiver == nullptr) return not_found_page(request, &session);
      const std::string clave = query_param(request, "clave");
      auto doc = s_.receiver->document(session.taxpayer, env, clave);
      if (!doc) return failure_page(request, session, doc.error().message);
      if (!*doc) return not_found_page(request, &session);
      const ReceivedDocument& found = **doc;
      if (!file.empty()) {
        const bool answer_file = file == "respuesta";
        if (answer_file && !found.answer) return not_found_page(request, &session);
        const Bytes& bytes = answer_file ? found.answer->record.xml : found.record.xml;
        return attachment(request, std::string(bytes.begin(), bytes.end()),
                          "application/xml; charset=utf-8",
                          (answer_file ? found.answer->record.clave : found.record.clave) + ".xml");
      }
      // What the answer's POST sent back (Post/Redirect/Get): the values
      // typed, checked again here for their errors.
      Response flash_holder;
      const Form flash = take_flash(request, context, flash_holder);
      const bool retry = field(flash, "clave") == clave;
      std::vector<FieldError> errors;
      if (retry && field(flash, "revisar") == "1")
        for (const service::FieldError& e : s_.receiver->check(
                 AnswerInput{env, clave, field(flash, "decision"), field(flash, "detalle")}))
          errors.push_back({e.field, e.message});

      mus::data d = received_data(found, env);
      d.set("csrf", session.csrf_token);
      d.set("ambiente_min", lower_label(env));
      set_errors(d, errors);
      if (retry && !field(flash, "aviso").empty()) d.set("aviso", field(flash, "aviso"));
      const bool key = kept_key(session, env).has_value();
      d.set("puede_responder", found.can_answer() && key);
      d.set("sin_llave", found.can_answer() && !key);
      d.set("no_aceptado", !found.answer && found.record.state != ComprobanteState::kAceptado);
      d.set("en_curso", found.record.state == ComprobanteState::kRecibido ||
                            found.record.state == ComprobanteState::kProcesando);
      if (found.can_answer() && key) {
        d.set("solicitud", random_token());
        const std::string decision = retry ? field(flash, "decision") : "";
        d.set("elegida_aceptar", decision == "aceptar");
        d.set("elegida_parcial", decision == "parcial");
        d.set("elegida_rechazar", decision == "rechazar");
        d.set("detalle", retry ? field(flash, "detalle") : "");
        for (const char* name : {"decision", "detalle"}) {
          bool wrong = false;
          for (const FieldError& e : errors) wrong = wrong || e.field == name;
          d.set(std::string("invalido_") + name, wrong);
        }
      }
      Response r =
          page(request, http::status::ok,
               fmt::format("{} {} recibida", std::string(document_kind_label(found.tipo)),
                           found.consecutivo),
               render("recibido.mustache", d), PageOptions{&session, env, !errors.empty()});
      for (const auto& h : flash_holder) r.insert(h.name(), h.value());
      return r;
    });
  }

  Response answer(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          if (s_.receiver == nullptr) return not_found_page(request, &session);
          const std::string clave = field(form, "clave");
          const std::string back =
              fmt::format("/herramienta/{}/recibido?clave={}", environment_name(env), clave);
          auto back_with = [&](std::vector<std::pair<std::string, std::string>> flash) {
            flash.emplace_back("clave", clave);
            return redirect_with_flash(request, context, back + "#respuesta", flash);
          };
          const AnswerInput input{env, clave, field(form, "decision"), field(form, "detalle")};
          auto doc = s_.receiver->document(session.taxpayer, env, clave);
          if (!doc) return failure_page(request, session, doc.error().message);
          if (!*doc) return not_found_page(request, &session);
          if (!kept_key(session, env)) return no_kept_key(request, session, env);
          if (!s_.receiver->check(input).empty())
            return back_with(
                {{"revisar", "1"}, {"decision", input.decision}, {"detalle", input.detalle}});
          // A double click sends the form twice: only the first answers.
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return back_with(
                {{"aviso", "Esta solicitud ya fue procesada: no se envió otra respuesta."}});
          std::vector<service::FieldError> refused;
          auto sent = s_.receiver->answer(session.taxpayer, input, refused,
                                          "portal:" + session.identification.digits());
          if (!sent) {
            const auto& code = sent.error().code;
            if (code == errc::kSinLlaveCustodia) return no_kept_key(request, session, env);
            if (code == errc::kComprobanteDesconocido) return not_found_page(request, &session);
            if (code == errc::kYaRespondido || code == errc::kComprobanteNoAceptado)
              return back_with({{"aviso", sent.error().message}});
            if (code == errc::kDatoInvalido)
              return back_with(
                  {{"revisar", "1"}, {"decision", input.decision}, {"detalle", input.detalle}});
            return failure_page(request, session, sent.error().message);
          }
          return back_with({{"aviso", "Su respuesta fue firmada y enviada a Hacienda."}});
        });
  }

  // --- Clientes and Productos (service/tool_lists.h): list, add, edit,
  // delete (check before you act), for one taxpayer and environment.

  static std::optional<std::int64_t> listed_id(const std::string& text) {
    if (text.empty() || text.size() > 18 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    return std::stoll(text);
  }

  static ClienteInput cliente_input(const Form& f) {
    return ClienteInput{field(f, "tipo"), field(f, "identificacion"), field(f, "nombre"),
                        field(f, "correo")};
  }
  static ProductoInput producto_input(const Form& f) {
    return ProductoInput{field(f, "cabys"), field(f, "descripcion"), field(f, "unidad"),
                         field(f, "precio"), field(f, "tarifa")};
  }
  static Form cliente_values(const ClienteRecord& c) {
    auto id = Identification::parse(c.identificacion);
    return Form{{"tipo", std::string(id_type_code(c.id_type))},
                {"identificacion", id ? id->printed() : c.identificacion},
                {"nombre", c.nombre},
                {"correo", c.correo}};
  }
  static Form producto_values(const ProductoRecord& p) {
    return Form{{"cabys", p.cabys},
                {"descripcion", p.descripcion},
                {"unidad", p.unidad},
                {"precio", p.precio},
                {"tarifa", p.tarifa}};
  }
  static std::string option_text(const std::vector<Option>& options, std::string_view value) {
    for (const Option& o : options)
      if (o.value == value) return std::string(o.text);
    return std::string(value);
  }

  static mus::data cliente_fields(const Form& v, const std::vector<FieldError>& e) {
    mus::data fields{mus::data::type::list};
    fields.push_back(
        form_field(v, e, "tipo", "Tipo de identificación", "01", "", "", &id_type_options()));
    fields.push_back(form_field(v, e, "identificacion", "Número de identificación", "", "",
                                "P. ej. 1-0647-0958 o 3-101-522899"));
    fields.push_back(form_field(v, e, "nombre", "Nombre o razón social"));
    fields.push_back(form_field(v, e, "correo", "Correo electrónico (opcional)"));
    return fields;
  }
  static mus::data producto_fields(const Form& v, const std::vector<FieldError>& e) {
    mus::data fields{mus::data::type::list};
    fields.push_back(form_field(v, e, "cabys", "Código CABYS", "", "numeric", "13 dígitos"));
    fields.push_back(form_field(v, e, "descripcion", "Descripción"));
    fields.push_back(
        form_field(v, e, "unidad", "Unidad de medida", "Unid", "", "", &unit_options()));
    fields.push_back(form_field(v, e, "precio", "Precio unitario", "", "decimal",
                                "Con punto decimal, p. ej. 1500.50"));
    fields.push_back(form_field(v, e, "tarifa", "Tarifa de IVA", "08", "", "", &tariff_options()));
    return fields;
  }

  // What the form of a list shows after its POST, by session, environment
  // and list (Post/Redirect/Get), read once.
  std::string kept_key_of(const PortalSession& session, Environment env, std::string_view list) {
    return fmt::format("{}/{}/{}", session.id_hash, environment_name(env), list);
  }
  void keep_list_form(const PortalSession& session, Environment env, std::string_view list,
                      Form values, std::vector<FieldError> errors) {
    values.erase("csrf");
    values.erase("solicitud");
    std::lock_guard lock(kept_mu_);
    kept_forms_[kept_key_of(session, env, list)] = KeptForm{std::move(values), std::move(errors)};
  }
  std::optional<KeptForm> take_list_form(const PortalSession& session, Environment env,
                                         std::string_view list) {
    std::lock_guard lock(kept_mu_);
    auto it = kept_forms_.find(kept_key_of(session, env, list));
    if (it == kept_forms_.end()) return std::nullopt;
    KeptForm kept = std::move(it->second);
    kept_forms_.erase(it);
    return kept;
  }

  // GET and POST of "clientes[/nuevo|/editar|/borrar]" and the same under
  // "productos".
  Response saved_list(const Request& request, const RouteContext& context, Environment env,
                      const std::string& action) {
    const bool post = request.method() == http::verb::post;
    const bool clientes = action.starts_with("clientes");
    const std::string list = clientes ? "clientes" : "productos";
    const std::string step = action.size() > list.size() + 1 ? action.substr(list.size() + 1) : "";
    if (s_.lists != nullptr && (action == list || action[list.size()] == '/')) {
      if (!post && step.empty())
        return clientes ? cliente_list(request, context, env)
                        : producto_list(request, context, env);
      if (step == "nuevo" || step == "editar")
        return post ? save_listed(request, context, env, list, step)
                    : listed_form(request, context, env, list, step);
      if (step == "borrar")
        return post ? delete_listed(request, context, env, list)
                    : confirm_delete(request, context, env, list);
    }
    auto session = s_.accounts.session(cookie(request, kSessionCookie));
    return not_found_page(request, session ? &*session : nullptr);
  }

  // The list page's common parts: the notice after an action, the page
  // number and the links to the pages around it.
  mus::data list_data(const Request& request, const PortalSession& session, Environment env,
                      std::string_view list, std::int64_t number, std::size_t shown,
                      std::int64_t total) {
    mus::data d = env_data(session, env);
    const std::string done = query_param(request, "hecho");
    const std::string_view what = list == "clientes" ? "El cliente" : "El producto";
    if (done == "agregado") d.set("aviso", fmt::format("{} se guardó.", what));
    if (done == "editado") d.set("aviso", fmt::format("{} se actualizó.", what));
    if (done == "borrado") d.set("aviso", fmt::format("{} se borró.", what));
    if (done == "repetida")
      d.set("aviso", "Esta solicitud ya fue procesada: no se hizo ningún cambio más.");
    d.set("maximo", std::to_string(s_.lists->max_per_list()));
    d.set("hay", shown > 0);
    d.set("total", std::to_string(total));
    d.set("desde", std::to_string((number - 1) * kPerPage + 1));
    d.set("hasta", std::to_string((number - 1) * kPerPage + static_cast<std::int64_t>(shown)));
    d.set("hay_paginas", number > 1 || number * kPerPage < total);
    d.set("base", fmt::format("/herramienta/{}/{}", environment_name(env), list));
    if (number > 1) d.set("anterior", std::to_string(number - 1));
    if (number * kPerPage < total) d.set("siguiente", std::to_string(number + 1));
    d.set("paginas", partial("paginas.mustache"));
    return d;
  }

  Response cliente_list(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      const std::int64_t number = page_number(request);
      auto listed = s_.lists->clientes(session.taxpayer, env, (number - 1) * kPerPage, kPerPage);
      if (!listed) return failure_page(request, session, listed.error().message);
      mus::data d =
          list_data(request, session, env, "clientes", number, listed->items.size(), listed->total);
      mus::data rows{mus::data::type::list};
      for (const ClienteRecord& c : listed->items) {
        mus::data row;
        const Form v = cliente_values(c);
        row.set("id", std::to_string(c.id));
        row.set("amb", std::string(environment_name(env)));
        row.set("nombre", c.nombre);
        row.set("identificacion", field(v, "identificacion"));
        row.set("tipo", option_text(id_type_options(), field(v, "tipo")));
        row.set("correo", c.correo.empty() ? "—" : c.correo);
        rows.push_back(row);
      }
      d.set("filas", rows);
      return page(request, http::status::ok, title("Clientes", env), render("clientes.mustache", d),
                  PageOptions{&session, env});
    });
  }

  Response producto_list(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      const std::int64_t number = page_number(request);
      auto listed = s_.lists->productos(session.taxpayer, env, (number - 1) * kPerPage, kPerPage);
      if (!listed) return failure_page(request, session, listed.error().message);
      mus::data d = list_data(request, session, env, "productos", number, listed->items.size(),
                              listed->total);
      mus::data rows{mus::data::type::list};
      for (const ProductoRecord& p : listed->items) {
        mus::data row;
        row.set("id", std::to_string(p.id));
        row.set("amb", std::string(environment_name(env)));
        row.set("descripcion", p.descripcion);
        row.set("cabys", p.cabys);
        row.set("unidad", option_text(unit_options(), p.unidad));
        row.set("precio", p.precio);
        row.set("tarifa", option_text(tariff_options(), p.tarifa));
        rows.push_back(row);
      }
      d.set("filas", rows);
      return page(request, http::status::ok, title("Productos", env),
                  render("productos.mustache", d), PageOptions{&session, env});
    });
  }

  // The add or edit form; an id that is not this taxpayer's is a 404.
  Response listed_form(const Request& request, const RouteContext& context, Environment env,
                       const std::string& list, const std::string& step) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      const bool clientes = list == "clientes";
      const bool editing = step == "editar";
      std::optional<std::int64_t> id;
      if (editing) {
        id = listed_id(query_param(request, "id"));
        if (!id) return not_found_page(request, &session);
      }
      std::optional<KeptForm> kept = take_list_form(session, env, list);
      // A form kept for another entry (or for a new one) is not this one's.
      if (kept && field(kept->values, "id") != (editing ? std::to_string(*id) : "")) kept.reset();
      Form values;
      if (kept) {
        values = kept->values;
      } else if (editing) {
        if (clientes) {
          auto found = s_.lists->cliente(session.taxpayer, env, *id);
          if (!found) return failure_page(request, session, found.error().message);
          if (!*found) return not_found_page(request, &session);
          values = cliente_values(**found);
        } else {
          auto found = s_.lists->producto(session.taxpayer, env, *id);
          if (!found) return failure_page(request, session, found.error().message);
          if (!*found) return not_found_page(request, &session);
          values = producto_values(**found);
        }
      }
      const std::vector<FieldError> errors = kept ? kept->errors : std::vector<FieldError>();
      mus::data d = env_data(session, env);
      set_errors(d, errors);
      d.set("campo", partial("campo.mustache"));
      d.set("solicitud", random_token());
      d.set("lista", list);
      d.set("accion", step);
      if (editing) d.set("id", std::to_string(*id));
      const std::string heading =
          fmt::format("{} {}", editing ? "Editar" : "Agregar", clientes ? "cliente" : "producto");
      d.set("titulo", title(heading, env));
      d.set("leyenda", clientes ? "Datos del cliente" : "Datos del producto o servicio");
      d.set("campos", clientes ? cliente_fields(values, errors) : producto_fields(values, errors));
      return page(request, http::status::ok, title(heading, env), render("registro.mustache", d),
                  PageOptions{&session, env, !errors.empty()});
    });
  }

  Response save_listed(const Request& request, const RouteContext& context, Environment env,
                       const std::string& list, const std::string& step) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const bool clientes = list == "clientes";
          const bool editing = step == "editar";
          const std::string base = fmt::format("/herramienta/{}/{}", environment_name(env), list);
          const std::optional<std::int64_t> id = listed_id(field(form, "id"));
          if (editing && !id) return not_found_page(request, &session);
          const std::string back =
              editing ? fmt::format("{}/editar?id={}", base, *id) : base + "/nuevo";
          auto again = [&](std::vector<FieldError> errors) {
            keep_list_form(session, env, list, form, std::move(errors));
            return redirect(request, back);
          };
          std::vector<service::FieldError> checked = clientes
                                                         ? s_.lists->check(cliente_input(form))
                                                         : s_.lists->check(producto_input(form));
          if (!checked.empty()) return again(to_portal_errors(checked));
          // A double click sends the form twice: only the first is saved.
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return redirect(request, base + "?hecho=repetida");
          const std::string actor = "portal:" + session.identification.digits();
          std::vector<service::FieldError> refused;
          Status saved = Ok{};
          if (clientes && editing)
            saved = s_.lists->edit_cliente(session.taxpayer, env, *id, cliente_input(form), refused,
                                           actor);
          else if (clientes)
            saved = status_of(
                s_.lists->add_cliente(session.taxpayer, env, cliente_input(form), refused, actor));
          else if (editing)
            saved = s_.lists->edit_producto(session.taxpayer, env, *id, producto_input(form),
                                            refused, actor);
          else
            saved = status_of(s_.lists->add_producto(session.taxpayer, env, producto_input(form),
                                                     refused, actor));
          if (!saved) {
            const std::string& code = saved.error().code;
            if (code == errc::kRegistroNoEncontrado) return not_found_page(request, &session);
            if (code == errc::kDatoInvalido) return again(to_portal_errors(refused));
            if (code == errc::kListaLlena) return again({{"registro", saved.error().message}});
            return failure_page(request, session, saved.error().message);
          }
          return redirect(request,
                          fmt::format("{}?hecho={}", base, editing ? "editado" : "agregado"));
        });
  }

  static std::vector<FieldError> to_portal_errors(const std::vector<service::FieldError>& in) {
    std::vector<FieldError> out;
    for (const service::FieldError& e : in) out.push_back({e.field, e.message});
    return out;
  }
  template <typename T>
  static Status status_of(const Result<T>& r) {
    if (!r) return r.error();
    return Ok{};
  }

  // Check before you act: what will be deleted, and Borrar or Cancelar.
  Response confirm_delete(const Request& request, const RouteContext& context, Environment env,
                          const std::string& list) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      const bool clientes = list == "clientes";
      auto id = listed_id(query_param(request, "id"));
      if (!id) return not_found_page(request, &session);
      mus::data datos{mus::data::type::list};
      auto item = [&](std::string_view label, const std::string& value) {
        mus::data row;
        row.set("etiqueta", std::string(label));
        row.set("valor", value.empty() ? "—" : value);
        datos.push_back(row);
      };
      std::string name;
      if (clientes) {
        auto found = s_.lists->cliente(session.taxpayer, env, *id);
        if (!found) return failure_page(request, session, found.error().message);
        if (!*found) return not_found_page(request, &session);
        const Form v = cliente_values(**found);
        name = (*found)->nombre;
        item("Nombre", name);
        item("Identificación", fmt::format("{} ({})", field(v, "identificacion"),
                                           option_text(id_type_options(), field(v, "tipo"))));
        item("Correo", (*found)->correo);
      } else {
        auto found = s_.lists->producto(session.taxpayer, env, *id);
        if (!found) return failure_page(request, session, found.error().message);
        if (!*found) return not_found_page(request, &session);
        name = (*found)->descripcion;
        item("Descripción", name);
        item("CABYS", (*found)->cabys);
        item("Unidad", option_text(unit_options(), (*found)->unidad));
        item("Precio unitario", (*found)->precio);
        item("Tarifa de IVA", option_text(tariff_options(), (*found)->tarifa));
      }
      mus::data d = env_data(session, env);
      const std::string heading = clientes ? "Borrar cliente" : "Borrar producto";
      d.set("titulo", title(heading, env));
      d.set("datos", datos);
      d.set("lista", list);
      d.set("id", std::to_string(*id));
      d.set("solicitud", random_token());
      d.set("pregunta",
            fmt::format("¿Desea borrar «{}» de sus {} en {}?", name, list, lower_label(env)));
      return page(request, http::status::ok, title(heading, env),
                  render("borrar_registro.mustache", d), PageOptions{&session, env});
    });
  }

  Response delete_listed(const Request& request, const RouteContext& context, Environment env,
                         const std::string& list) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const std::string base = fmt::format("/herramienta/{}/{}", environment_name(env), list);
          auto id = listed_id(field(form, "id"));
          if (!id) return not_found_page(request, &session);
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return redirect(request, base + "?hecho=repetida");
          const std::string actor = "portal:" + session.identification.digits();
          Status deleted = list == "clientes"
                               ? s_.lists->delete_cliente(session.taxpayer, env, *id, actor)
                               : s_.lists->delete_producto(session.taxpayer, env, *id, actor);
          if (!deleted) {
            if (deleted.error().code == errc::kRegistroNoEncontrado)
              return not_found_page(request, &session);
            return failure_page(request, session, deleted.error().message);
          }
          return redirect(request, base + "?hecho=borrado");
        });
  }

  // --- Dejar de firmar automáticamente: check before you act.

  Response stop_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      auto key = kept_key(session, env);
      if (!key) return no_kept_key(request, session, env);
      mus::data d = env_data(session, env);
      d.set("serie", key->serial_hex);
      d.set("serie_html", serial_html(key->serial_hex));
      return page(request, http::status::ok, title("Dejar de firmar automáticamente", env),
                  render("detener.mustache", d), PageOptions{&session, env});
    });
  }

  Response stop(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          const std::string back = fmt::format("/herramienta/{}/detener", environment_name(env));
          // The page named a key; if the tool no longer signs with it (a new
          // key, a revocation in another tab), stop nothing.
          auto key = kept_key(session, env);
          if (!key || key->serial_hex != field(form, "serie")) return redirect(request, back);
          auto stopped =
              s_.custody->stop(session.taxpayer, env, "portal:" + session.identification.digits());
          if (!stopped && stopped.error().code != errc::kSinLlaveCustodia)
            return failure_page(request, session, stopped.error().message);
          return redirect(request, fmt::format("/herramienta/{}/detenida", environment_name(env)));
        });
  }

  PortalServices s_;
  // New API passwords between the POST that made them and the one GET that
  // shows them (Post/Redirect/Get), by session and environment.
  std::mutex shown_mu_;
  std::map<std::string, NewApiPassword> shown_once_;
  // The Emitir forms between their POST and their GET, by session and
  // environment.
  std::mutex kept_mu_;
  std::map<std::string, KeptForm> kept_forms_;
};

// Everything the portal does touches the store or hashes, so it all runs on
// the worker pool. What escapes a page as an exception still gets a page in
// the portal's frame (500), not the server's plain text.
Route on_pool(std::shared_ptr<Portal> portal,
              Response (Portal::*method)(const Request&, const RouteContext&)) {
  Route route;
  route.slow = [portal, method](const Request& request, const RouteContext& context) {
    try {
      return ((*portal).*method)(request, context);
    } catch (const std::exception& e) {
      spdlog::error("portal {}: {}", context.path, e.what());
      return message_page(request, http::status::internal_server_error, "Algo salió mal",
                          "El portal tuvo un error inesperado; no sabemos si la acción se "
                          "realizó. Revise el estado de sus llaves antes de repetirla.",
                          nullptr, "/llaves", "Ver mis llaves");
    }
  };
  return route;
}

Route static_file(std::string_view name, std::string_view content_type) {
  return Route{
      [name, content_type](const Request& request, const RouteContext&) -> std::optional<Response> {
        Response r = make_response(request, http::status::ok, std::string(embedded_file(name)),
                                   content_type);
        r.set(http::field::cache_control, "public, max-age=3600");
        return r;
      },
      nullptr};
}

}  // namespace

void add_portal_routes(Router& router, PortalServices services) {
  auto portal = std::make_shared<Portal>(services);
  router.add(http::verb::get, "/",
             Route{[](const Request& request, const RouteContext&) -> std::optional<Response> {
                     return redirect(request, "/portal");
                   },
                   nullptr});
  router.add(http::verb::get, "/estilo.css", static_file("estilo.css", "text/css; charset=utf-8"));
  router.add(http::verb::get, "/menu.js", static_file("menu.js", "text/javascript; charset=utf-8"));
  router.add(http::verb::get, "/ayuda", on_pool(portal, &Portal::help));
  router.add(http::verb::get, "/ingresar", on_pool(portal, &Portal::login_form));
  http::Route login = on_pool(portal, &Portal::login);
  login.work = http::Work::kHashing;  // the password is hashed: its own queue and rate
  router.add(http::verb::post, "/ingresar", std::move(login));
  router.add(http::verb::post, "/salir", on_pool(portal, &Portal::logout));
  router.add(http::verb::get, "/portal", on_pool(portal, &Portal::home));
  router.add(http::verb::get, "/llaves", on_pool(portal, &Portal::key_list));
  router.add_prefix(http::verb::get, "/llaves/", on_pool(portal, &Portal::keys));
  router.add_prefix(http::verb::post, "/llaves/", on_pool(portal, &Portal::keys));
  router.add_prefix(http::verb::get, "/herramienta/", on_pool(portal, &Portal::tool));
  router.add_prefix(http::verb::post, "/herramienta/", on_pool(portal, &Portal::tool));
  router.set_not_found(on_pool(portal, &Portal::not_found));
}

}  // namespace llavero::portal
