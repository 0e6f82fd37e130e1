// The taxpayer portal (docs/portal.md): log in, then under "Comprobantes
// Electrónicos" generate, download and revoke the signing key and generate
// the API password of each environment. Server-rendered HTML that works with
// JavaScript off; every form carries a CSRF token; a taxpayer only ever acts
// on their own keys, named by the session and never by the form.
#pragma once

#include "http/http.h"
#include "service/accounts.h"
#include "service/downloads.h"
#include "service/key_service.h"

namespace llavero::portal {

struct PortalServices {
  service::KeyService& keys;
  service::AccountService& accounts;
  service::DownloadVault& downloads;
};

void add_portal_routes(http::Router& router, PortalServices services);

}  // namespace llavero::portal
