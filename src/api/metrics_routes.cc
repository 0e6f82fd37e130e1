#include "api/metrics_routes.h"

namespace llavero::api {

void add_metrics_routes(http::Router& router, const metrics::Registry& registry) {
  // Rendered on the I/O thread: it only reads counters and a few gauges.
  router.add(http::verb::get, "/metrics",
             http::Route{[&registry](const http::Request& request,
                                     const http::RouteContext&) -> std::optional<http::Response> {
                           http::Response answer =
                               http::make_response(request, http::status::ok, registry.render(),
                                                   "text/plain; version=0.0.4; charset=utf-8");
                           answer.set(http::field::cache_control, "no-store");
                           return answer;
                         },
                         nullptr, 0, http::Work::kPublic});
}

}  // namespace llavero::api
