// HTTP routes of the API: the Keycloak-compatible token endpoint of both
// realms and the reception endpoints of both environments.
#pragma once

#include "api/reception.h"
#include "api/token_service.h"
#include "web/http.h"

namespace llavero::api {

void add_api_routes(web::Router& router, TokenService& tokens, ReceptionService& reception);

}  // namespace llavero::api
