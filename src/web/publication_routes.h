// The public, unauthenticated part of the server: CA certificates (the AIA
// caIssuers URLs), CRLs, the OCSP responders, and /healthz.
#pragma once

#include "keys/publication.h"
#include "store/store.h"
#include "web/http.h"

namespace llavero::web {

void add_publication_routes(Router& router, RevocationPublisher& publisher, Store& store);

// Standard base64 (also accepts the URL-safe alphabet); nullopt if malformed.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace llavero::web
