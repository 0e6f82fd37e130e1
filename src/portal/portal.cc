#include "portal/portal.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <kainjow/mustache.hpp>
#include <map>
#include <mutex>
#include <variant>

#include "portal/templates.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/throttle.h"

namespace llavero::portal {

using namespace llavero::http;
using namespace llavero::service;

namespace {

namespace mus = kainjow::mustache;

constexpr std::string_view kSessionCookie = "llavero_sesion";
constexpr std::string_view kLoginCookie = "llavero_ingreso";  // CSRF token before login

// ---------------------------------------------------------------- helpers

std::string field(const Form& form, std::string_view name) {
  auto it = form.find(name);
  return it == form.end() ? std::string() : it->second;
}

std::string cookie(const Request& request, std::string_view name) {
  std::string_view header = request[http::field::cookie];
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name &&
        part[name.size()] == '=')
      return std::string(part.substr(name.size() + 1));
  }
  return {};
}

std::string cookie_header(std::string_view name, std::string_view value, bool secure,
                          bool expire = false) {
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict{}{}", name, value,
                     secure ? "; Secure" : "", expire ? "; Max-Age=0" : "");
}

bool same_secret(std::string_view a, std::string_view b) {
  return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string render(std::string_view template_name, const mus::data& data) {
  mus::mustache tmpl{std::string(embedded_file(template_name))};
  return tmpl.render(data);
}

mus::data partial(std::string_view template_name) {
  return mus::data(
      mus::partial([template_name] { return std::string(embedded_file(template_name)); }));
}

std::string short_time(const std::string& iso) {
  if (iso.size() < 16) return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC";
}

// A whole page: the layout around `body_html`, with the security headers of
// every portal page.
Response page(const Request& request, http::status status, std::string_view title,
              std::string body_html, const PortalSession* session) {
  mus::data layout;
  layout.set("titulo", std::string(title));
  layout.set("cuerpo", std::move(body_html));
  if (session != nullptr) {
    mus::data who;
    const TaxpayerRecord& t = session->taxpayer;
    who.set("nombre", t.apellidos.empty() ? t.nombre : t.nombre + " " + t.apellidos);
    who.set("identificacion", session->identification.printed());
    who.set("csrf", session->csrf_token);
    layout.set("contribuyente", who);
  }
  Response r =
      make_response(request, status, render("layout.mustache", layout), "text/html; charset=utf-8");
  r.set("Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'");
  r.set("X-Frame-Options", "DENY");
  r.set("Referrer-Policy", "no-referrer");
  r.set(http::field::cache_control, "no-store");
  return r;
}

Response message_page(const Request& request, http::status status, std::string_view title,
                      std::string_view message, const PortalSession* session,
                      std::string_view link = "", std::string_view link_text = "") {
  mus::data d;
  d.set("titulo", std::string(title));
  d.set("mensaje", std::string(message));
  d.set("clase", status == http::status::ok ? "aviso" : "error");
  if (!link.empty()) {
    d.set("enlace", std::string(link));
    d.set("texto_enlace", std::string(link_text));
  }
  return page(request, status, title, render("mensaje.mustache", d), session);
}

Response redirect(const Request& request, std::string_view location) {
  Response r = make_response(request, http::status::see_other, "", "text/plain; charset=utf-8");
  r.set(http::field::location, location);
  r.set(http::field::cache_control, "no-store");
  return r;
}


// ---------------------------------------------------------------- the portal

class Portal {
 public:
  explicit Portal(PortalServices services) : s_(services) {}

  Response login_form(const Request& request, const RouteContext& context) {
    if (auto session = s_.accounts.session(cookie(request, kSessionCookie)))
      return redirect(request, "/portal");
    const bool after_logout = request.target().ends_with("?salida=1");
    return login_page(request, context, http::status::ok, "", "",
                      after_logout ? "Su sesión terminó." : "");
  }

  Response login(const Request& request, const RouteContext& context) {
    auto form = parse_form(request.body());
    if (!form || !same_secret(field(*form, "csrf"), cookie(request, kLoginCookie)))
      return forbidden(request, nullptr);
    const std::string identification = field(*form, "identificacion");
    if (throttle_.throttled(context.remote_address))
      return login_page(request, context, http::status::too_many_requests, identification,
                        "Demasiados intentos fallidos desde esta dirección; espere 15 minutos.",
                        "");
    SecretString password(field(*form, "contrasena"));
    auto login = s_.accounts.login(identification, password, context.remote_address);
    if (!login) {
      throttle_.failure(context.remote_address);
      const auto status = login.error().code == errc::kCuentaBloqueada ? http::status::locked
                                                                       : http::status::unauthorized;
      return login_page(request, context, status, identification, login.error().message, "");
    }
    Response r = redirect(request, "/portal");
    r.insert(http::field::set_cookie,
             cookie_header(kSessionCookie, login->cookie_token, context.tls));
    r.insert(http::field::set_cookie, cookie_header(kLoginCookie, "", context.tls, true));
    return r;
  }

  Response logout(const Request& request, const RouteContext& context) {
    return with_session(request, context, true, [&](const PortalSession& session, const Form&) {
      (void)s_.accounts.logout(cookie(request, kSessionCookie));
      (void)session;
      // Redirect, so that reloading the page does not post the form again.
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
      return page(request, http::status::ok, "Inicio", render("portal.mustache", d), &session);
    });
  }

  Response key_list(const Request& request, const RouteContext& context) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      mus::data d = key_state(session);
      d.set("estado_llaves", partial("estado_llaves.mustache"));
      return page(request, http::status::ok, "Estado de mis llaves", render("estado.mustache", d),
                  &session);
    });
  }

  // GET and POST under /llaves/: "<ambiente>/<acción>" and "descargar".
  Response keys(const Request& request, const RouteContext& context) {
    const bool post = request.method() == http::verb::post;
    if (post && context.rest == "descargar") return download(request, context);
    const std::size_t slash = context.rest.find('/');
    auto env = parse_environment(context.rest.substr(0, slash));
    const std::string action = slash == std::string::npos ? "" : context.rest.substr(slash + 1);
    if (!env || slash == std::string::npos)
      return error_response(request, http::status::not_found, "No encontrado.");
    if (action == "generar")
      return post ? generate(request, context, *env) : generate_form(request, context, *env);
    if (action == "generar/paso4" && post) return download_step(request, context, *env);
    if (action == "revocar")
      return post ? revoke(request, context, *env) : revoke_form(request, context, *env);
    if (action == "contrasena")
      return post ? api_password(request, context, *env)
                  : api_password_form(request, context, *env);
    return error_response(request, http::status::not_found, "No encontrado.");
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
      auto parsed = parse_form(request.body());
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

  Response login_page(const Request& request, const RouteContext& context, http::status status,
                      const std::string& identification, std::string_view error,
                      std::string_view notice) {
    const std::string token = random_token();
    mus::data d;
    d.set("csrf", token);
    d.set("identificacion", identification);
    if (!error.empty()) d.set("error", std::string(error));
    if (!notice.empty()) d.set("aviso", std::string(notice));
    Response r = page(request, status, "Ingresar", render("ingresar.mustache", d), nullptr);
    r.insert(http::field::set_cookie, cookie_header(kLoginCookie, token, context.tls));
    return r;
  }

  mus::data key_state(const PortalSession& session) {
    mus::data environments{mus::data::type::list};
    auto keys = s_.keys.status(session.taxpayer.identification, std::nullopt);
    for (Environment env : kAllEnvironments) {
      mus::data e;
      e.set("clave", std::string(environment_name(env)));
      e.set("nombre", std::string(environment_label(env)));
      mus::data previous{mus::data::type::list};
      bool any_previous = false;
      if (keys) {
        for (const KeyStatus& k : *keys) {
          if (k.environment != env) continue;
          if (k.state == KeyState::kActiva) {
            mus::data active;
            active.set("serie", k.serial_hex);
            active.set("desde", short_time(k.not_before));
            active.set("hasta", short_time(k.not_after));
            e.set("activa", active);
            continue;
          }
          mus::data row;
          row.set("serie", k.serial_hex);
          row.set("estado", k.state == KeyState::kRevocada ? "Revocada" : "Vencida");
          row.set("fecha", short_time(k.state == KeyState::kRevocada ? k.revoked_at.value_or("")
                                                                     : k.not_after));
          row.set("motivo", k.reason
                                ? fmt::format("{} ({})", revocation_reason_label(*k.reason),
                                              revocation_reason_name(*k.reason))
                                : std::string(k.state == KeyState::kVencida ? "—" : "sin motivo"));
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
    d.set("csrf", session.csrf_token);
    return d;
  }

  Response generate_page(const Request& request, const PortalSession& session, Environment env,
                         http::status status, std::string_view error) {
    mus::data d = env_data(session, env);
    d.set("solicitud", random_token());
    if (!error.empty()) d.set("error", std::string(error));
    return page(request, status, "Generar llave criptográfica", render("generar.mustache", d),
                &session);
  }

  Response generate_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      return generate_page(request, session, env, http::status::ok, "");
    });
  }

  Response generate(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          SecretString typed(field(form, "pin"));
          SecretString confirmation(field(form, "pin2"));
          auto pin = Pin::parse(typed.view());
          if (!pin)
            return generate_page(request, session, env, http::status::bad_request,
                                 pin.error().message);
          if (confirmation.view() != typed.view())
            return generate_page(request, session, env, http::status::bad_request,
                                 "El PIN y su confirmación no coinciden.");
          auto fresh = s_.accounts.spend_form_token(field(form, "solicitud"));
          if (!fresh || !*fresh || field(form, "solicitud").empty())
            return generate_page(
                request, session, env, http::status::conflict,
                "Esta solicitud ya fue procesada: no se generó otra llave. Revise el "
                "estado de sus llaves o genere una nueva desde este formulario.");
          std::string token;
          auto made = s_.keys.generate(
              GenerateRequest{session.taxpayer.identification, env, std::nullopt,
                              field(form, "facturador") == "si"},
              *pin,
              [&](const StagedKey& key) -> Status {
                auto put = s_.downloads.put(session.taxpayer.id, env, key.file_name, key.p12);
                if (!put) return put.error();
                token = std::move(*put);
                return Ok{};
              },
              "portal:" + session.identification.digits());
          if (!made) {
            if (!token.empty()) (void)s_.downloads.wipe(token_hash(token));
            return generate_page(request, session, env, http::status::internal_server_error,
                                 made.error().message);
          }
          mus::data d = env_data(session, env);
          d.set("descarga", token);
          return page(request, http::status::ok, "Generar llave criptográfica",
                      render("aviso_generada.mustache", d), &session);
        });
  }

  Response download_step(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, true,
                        [&](const PortalSession& session, const Form& form) {
                          mus::data d = env_data(session, env);
                          d.set("listo", true);
                          d.set("descarga", field(form, "descarga"));
                          return page(request, http::status::ok, "Generar llave criptográfica",
                                      render("generar.mustache", d), &session);
                        });
  }

  Response download(const Request& request, const RouteContext& context) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          auto file = s_.downloads.open(field(form, "descarga"), session.taxpayer.id);
          if (!file)
            return message_page(request, http::status::gone, "Descargar el certificado",
                                file.error().message, &session, "/llaves", "Ver mis llaves");
          Response r = make_response(request, http::status::ok,
                                     std::string(file->p12.begin(), file->p12.end()),
                                     "application/x-pkcs12");
          wipe_memory(file->p12.data(), file->p12.size());
          r.set(http::field::content_disposition,
                fmt::format("attachment; filename=\"{}\"", file->file_name));
          r.set(http::field::cache_control, "no-store");
          r.set("X-Frame-Options", "DENY");
          // Wiped after the first complete download; a cut one may be retried
          // within the 15 minutes.
          *context.after_send = [vault = &s_.downloads, hash = file->token_hash](bool complete) {
            if (complete) (void)vault->wipe(hash);
          };
          return r;
        });
  }

  Response revoke_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      return page(request, http::status::ok, "Revocar llave criptográfica",
                  render("revocar.mustache", env_data(session, env)), &session);
    });
  }

  Response revoke(const Request& request, const RouteContext& context, Environment env) {
    return with_session(
        request, context, true, [&](const PortalSession& session, const Form& form) {
          mus::data d = env_data(session, env);
          std::optional<RevocationReason> reason;
          if (const std::string motivo = field(form, "motivo"); !motivo.empty()) {
            auto parsed = parse_revocation_reason(motivo);
            if (!parsed) {
              d.set("error", parsed.error().message);
              return page(request, http::status::bad_request, "Revocar llave criptográfica",
                          render("revocar.mustache", d), &session);
            }
            reason = *parsed;
          }
          auto revoked = s_.keys.revoke(session.taxpayer.identification, env, reason,
                                        "portal:" + session.identification.digits());
          if (!revoked) {
            d.set("error", revoked.error().message);
            return page(request, http::status::conflict, "Revocar llave criptográfica",
                        render("revocar.mustache", d), &session);
          }
          d.set("revocada", true);
          return page(request, http::status::ok, "Revocar llave criptográfica",
                      render("revocar.mustache", d), &session);
        });
  }

  Response api_password_form(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, false, [&](const PortalSession& session, const Form&) {
      return page(request, http::status::ok, "Generar contraseña",
                  render("contrasena.mustache", env_data(session, env)), &session);
    });
  }

  Response api_password(const Request& request, const RouteContext& context, Environment env) {
    return with_session(request, context, true, [&](const PortalSession& session, const Form&) {
      mus::data d = env_data(session, env);
      auto made = s_.accounts.generate_api_password(session.taxpayer.identification, env,
                                                    "portal:" + session.identification.digits());
      if (!made) {
        d.set("error", made.error().message);
        return page(request, http::status::internal_server_error, "Generar contraseña",
                    render("contrasena.mustache", d), &session);
      }
      mus::data fresh;
      fresh.set("usuario", made->username);
      fresh.set("contrasena", std::string(made->password.view()));
      d.set("nueva", fresh);
      return page(request, http::status::ok, "Generar contraseña", render("contrasena.mustache", d),
                  &session);
    });
  }

  PortalServices s_;
  // Wrong passwords per address: past ten in fifteen minutes the address
  // waits, whatever account it tries.
  FailureThrottle throttle_{10, 15 * 60};
};

// Everything the portal does touches the store or hashes, so it all runs on
// the worker pool.
Route on_pool(std::shared_ptr<Portal> portal,
              Response (Portal::*method)(const Request&, const RouteContext&)) {
  Route route;
  route.slow = [portal, method](const Request& request, const RouteContext& context) {
    return ((*portal).*method)(request, context);
  };
  return route;
}

}  // namespace

void add_portal_routes(Router& router, PortalServices services) {
  auto portal = std::make_shared<Portal>(services);
  router.add(http::verb::get, "/",
             Route{[](const Request& request, const RouteContext&) -> std::optional<Response> {
                     return redirect(request, "/portal");
                   },
                   nullptr});
  router.add(http::verb::get, "/estilo.css",
             Route{[](const Request& request, const RouteContext&) -> std::optional<Response> {
                     Response r = make_response(request, http::status::ok,
                                                std::string(embedded_file("estilo.css")),
                                                "text/css; charset=utf-8");
                     r.set(http::field::cache_control, "public, max-age=3600");
                     return r;
                   },
                   nullptr});
  router.add(http::verb::get, "/ingresar", on_pool(portal, &Portal::login_form));
  router.add(http::verb::post, "/ingresar", on_pool(portal, &Portal::login));
  router.add(http::verb::post, "/salir", on_pool(portal, &Portal::logout));
  router.add(http::verb::get, "/portal", on_pool(portal, &Portal::home));
  router.add(http::verb::get, "/llaves", on_pool(portal, &Portal::key_list));
  router.add_prefix(http::verb::get, "/llaves/", on_pool(portal, &Portal::keys));
  router.add_prefix(http::verb::post, "/llaves/", on_pool(portal, &Portal::keys));
}

}  // namespace llavero::portal
