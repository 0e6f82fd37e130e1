#include "api/routes.h"

#include <fmt/format.h>

namespace llavero::api {

using namespace llavero::http;
using namespace llavero::service;

namespace {

using http::Request;
using http::Response;
using http::RouteContext;
using http::status;
using http::verb;

Response json_response(const Request& request, unsigned code, const boost::json::object& body) {
  Response r = http::make_response(request, static_cast<status>(code),
                                   code == 204 ? std::string() : boost::json::serialize(body),
                                   "application/json");
  r.set(http::field::cache_control, "no-store");
  return r;
}

// What the reception needs of a request. The views point into `request`,
// which outlives the call.
ReceptionRequest make_request(const Request& request) {
  const std::string_view target = request.target();
  const auto q = target.find('?');
  return ReceptionRequest{request[http::field::authorization], request.body(),
                          request["X-Llavero-Escenario"],
                          q == std::string_view::npos ? std::string_view() : target.substr(q + 1)};
}

Response reception_response(const Request& request, const ReceptionAnswer& answer) {
  Response r = http::make_response(request, static_cast<status>(answer.status), answer.body,
                                   "application/json");
  for (const auto& [name, value] : answer.headers) r.set(name, value);
  r.set(http::field::cache_control, "no-store");
  return r;
}

}  // namespace

void add_api_routes(http::Router& router, TokenService& tokens, ReceptionService& reception) {
  for (Environment env : kAllEnvironments) {
    const Realm& realm = realm_of(env);
    const std::string base = fmt::format("/auth/realms/{}/protocol/openid-connect", realm.name);
    http::Route token;
    token.slow = [&tokens, &realm](const Request& request, const RouteContext& context) {
      auto form = http::parse_form(request.body());
      if (!form)
        return json_response(
            request, 400,
            {{"error", "invalid_request"}, {"error_description", "Formulario mal formado."}});
      TokenAnswer answer = tokens.token(realm, *form, context.remote_address);
      return json_response(request, answer.status, answer.body);
    };
    token.work = http::Work::kHashing;  // a password grant hashes the password
    router.add(verb::post, base + "/token", std::move(token));

    http::Route logout;
    logout.slow = [&tokens, &realm](const Request& request, const RouteContext&) {
      auto form = http::parse_form(request.body());
      if (!form)
        return json_response(
            request, 400,
            {{"error", "invalid_request"}, {"error_description", "Formulario mal formado."}});
      TokenAnswer answer = tokens.logout(realm, *form);
      return json_response(request, answer.status, answer.body);
    };
    router.add(verb::post, base + "/logout", std::move(logout));

    router.add(verb::get, base + "/certs",
               http::Route{[&tokens, &realm](const Request& request,
                                             const RouteContext&) -> std::optional<Response> {
                             return json_response(request, 200, tokens.jwks(realm));
                           },
                           nullptr});

    // Hacienda's two addresses of the sandbox: /recepcion-sandbox/v1 on the
    // API host, and /recepcion/v1 on api-sandbox.…: the production path
    // reaches pruebas when the Host is one of recepcion_hosts_pruebas.
    auto env_of = [&reception, env](const Request& request) {
      return env == Environment::kPruebas
                 ? env
                 : reception.environment_for_host(request[http::field::host]);
    };
    const std::string path(ReceptionService::path(env));
    const std::string v1 = path.substr(0, path.rfind('/'));  // …/v1
    http::Route receive;
    receive.max_body = reception.max_body();
    receive.slow = [&reception, env_of](const Request& request, const RouteContext&) {
      return reception_response(request, reception.receive(env_of(request), make_request(request)));
    };
    router.add(verb::post, path, std::move(receive));
    http::Route query;
    query.slow = [&reception, env_of](const Request& request, const RouteContext& context) {
      return reception_response(
          request, reception.query(env_of(request), make_request(request), context.rest));
    };
    router.add_prefix(verb::get, path + "/", std::move(query));
    http::Route list;
    list.slow = [&reception, env_of](const Request& request, const RouteContext& context) {
      return reception_response(
          request, reception.list(env_of(request), make_request(request), context.rest));
    };
    router.add(verb::get, v1 + "/comprobantes", http::Route{nullptr, list.slow});
    router.add_prefix(verb::get, v1 + "/comprobantes/", std::move(list));
  }
}

}  // namespace llavero::api
