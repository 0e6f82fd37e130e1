// The taxpayer portal (SPEC §6): log in, then under "Comprobantes
// Electrónicos" generate, download and revoke the signing key and generate
// the API password of each environment. Server-rendered HTML that works with
// JavaScript off; every form carries a CSRF token; a taxpayer only ever acts
// on their own keys, named by the session and never by the form.
#pragma once

#include "keys/accounts.h"
#include "keys/downloads.h"
#include "keys/key_service.h"
#include "web/http.h"

namespace llavero::web {

struct PortalServices {
  KeyService& keys;
  AccountService& accounts;
  DownloadVault& downloads;
};

void add_portal_routes(Router& router, PortalServices services);

}  // namespace llavero::web
