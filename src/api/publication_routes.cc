#include "api/publication_routes.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include "util/base64.h"
#include "util/clock.h"

namespace llavero::api {

using namespace llavero::http;
using namespace llavero::service;

namespace {

constexpr std::string_view kOcspRequestType = "application/ocsp-request";
constexpr std::string_view kOcspResponseType = "application/ocsp-response";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Response ocsp_response(const Request& request, const Bytes& der) {
  Response r = make_response(request, http::status::ok, std::string(der.begin(), der.end()),
                             kOcspResponseType);
  r.set(http::field::cache_control, "no-cache");
  return r;
}

// Where the DER request is: the body of a POST, or the base64 path of a GET.
std::optional<std::string> ocsp_request_bytes(const Request& request, const RouteContext& context) {
  if (request.method() == http::verb::post) return request.body();
  auto unescaped = percent_decode(context.rest);
  if (!unescaped) return std::nullopt;
  // RFC 6960 asks for standard base64; some clients send the URL-safe
  // alphabet or drop the padding, and both are unambiguous.
  return base64_decode_to_string(
      *unescaped, Base64Format{Base64Alphabet::kEither, Base64Padding::kOptional, false});
}

Route ocsp_route(service::RevocationPublisher& publisher) {
  auto check = [](const Request& request, const RouteContext& context) -> std::optional<Response> {
    if (request.method() == http::verb::post) {
      std::string_view type = request[http::field::content_type];
      if (type.substr(0, type.find(';')) != kOcspRequestType)
        return error_response(request, http::status::unsupported_media_type,
                              "Use Content-Type: application/ocsp-request.");
    }
    if (!ocsp_request_bytes(request, context))
      return error_response(request, http::status::bad_request,
                            "La solicitud OCSP no es base64 válido.");
    return std::nullopt;
  };
  Route route;
  route.fast = [&publisher, check](const Request& request,
                                   const RouteContext& context) -> std::optional<Response> {
    if (auto refused = check(request, context)) return refused;
    auto der = ocsp_request_bytes(request, context);
    auto cached = publisher.ocsp_from_cache(bytes_of(*der));
    if (!cached) return std::nullopt;
    return ocsp_response(request, *cached);
  };
  route.slow = [&publisher](const Request& request, const RouteContext& context) {
    auto der = ocsp_request_bytes(request, context);
    return ocsp_response(request, publisher.ocsp(bytes_of(der.value_or(""))));
  };
  return route;
}

// Everything published here is cheap, public and read-only: it runs in its
// own queue (http::Work::kPublic), never behind password hashing or key
// generation.
Route public_route(Route route) {
  route.work = http::Work::kPublic;
  return route;
}

}  // namespace

void add_publication_routes(Router& router, service::RevocationPublisher& publisher) {
  router.add(
      http::verb::get, "/healthz",
      public_route(Route{
          [&publisher](const Request& request, const RouteContext&) -> std::optional<Response> {
            Status ping = publisher.store_reachable();
            if (!ping)
              return make_response(request, http::status::service_unavailable,
                                   R"({"estado":"error","almacen":"no disponible"})",
                                   "application/json");
            return make_response(request, http::status::ok,
                                 R"({"estado":"ok","almacen":"disponible"})", "application/json");
          },
          nullptr}));

  // Every CA and generation the publisher has: an old generation stays
  // published after a rollover, for the certificates it issued.
  for (const RevocationPublisher::Published& p : publisher.published()) {
    const Environment env = p.environment;
    const CaKind kind = p.kind;
    const int generation = p.generation;
    router.add(http::verb::get, ca_certificate_path(env, kind, generation),
               public_route(Route{
                   [&publisher, env, kind, generation](
                       const Request& request, const RouteContext&) -> std::optional<Response> {
                     auto pem = publisher.ca_certificate_pem(env, kind, generation);
                     if (!pem)
                       return error_response(request, http::status::not_found, "No encontrado.");
                     Response r = make_response(request, http::status::ok, std::move(*pem),
                                                "application/x-pem-file");
                     r.set(http::field::cache_control, "public, max-age=86400");
                     return r;
                   },
                   nullptr}));

    // The CRL (the ARL for the root): from memory when current, else rebuilt
    // on the worker pool. Every client gets the publisher's one buffer of
    // it, never a copy.
    auto crl_answer = [&publisher, env, kind, generation](const Request& request,
                                                          const RouteContext& context,
                                                          std::shared_ptr<const Bytes> der) {
      Response r = make_response(request, http::status::ok, "", "application/pkix-crl");
      context.shared_body = std::move(der);
      const UnixSeconds next = publisher.crl_next_update(env, kind, generation);
      const UnixSeconds max_age =
          std::max<UnixSeconds>(0, std::min<UnixSeconds>(next - now_seconds(), 3600));
      r.set(http::field::cache_control,
            fmt::format("public, max-age={}, must-revalidate", max_age));
      return r;
    };
    Route crl;
    crl.slow = [&publisher, env, kind, generation, crl_answer](const Request& request,
                                                               const RouteContext& context) {
      auto der = publisher.crl(env, kind, generation);
      if (!der)
        return error_response(request, http::status::service_unavailable,
                              "La CRL no está disponible en este momento.");
      return crl_answer(request, context, std::move(*der));
    };
    router.add(http::verb::get, crl_path(env, kind, generation), public_route(std::move(crl)));
    if (kind == CaKind::kRoot) continue;

    router.add(http::verb::post, ocsp_path(env, kind, generation),
               public_route(ocsp_route(publisher)));
    router.add_prefix(http::verb::get, ocsp_path(env, kind, generation) + "/",
                      public_route(ocsp_route(publisher)));
  }
}

}  // namespace llavero::api
