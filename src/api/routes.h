// HTTP routes of the API: the Keycloak-compatible token endpoint of both
// realms and the reception endpoints of both environments.
#pragma once

#include "http/http.h"
#include "service/reception.h"
#include "service/token_service.h"

namespace llavero::api {

void add_api_routes(http::Router& router, service::TokenService& tokens,
                    service::ReceptionService& reception);

}  // namespace llavero::api
