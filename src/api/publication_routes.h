// The public, unauthenticated part of the server: CA certificates (the AIA
// caIssuers URLs), CRLs, the OCSP responders, and /healthz.
#pragma once

#include "http/http.h"
#include "service/publication.h"

namespace llavero::api {

void add_publication_routes(http::Router& router, service::RevocationPublisher& publisher);

}  // namespace llavero::api
