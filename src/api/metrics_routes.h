// The metrics listener's routes (issue 15): GET /metrics, every counter of
// the registry in the Prometheus text format. Mounted only on the separate
// listener of `llavero serve --metricas`, never on the public one.
#pragma once

#include "http/http.h"
#include "util/metrics.h"

namespace llavero::api {

void add_metrics_routes(http::Router& router, const metrics::Registry& registry);

}  // namespace llavero::api
