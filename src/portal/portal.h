// The taxpayer portal (docs/portal.md): log in, then under "Comprobantes
// Electrónicos" generate, download and revoke the signing key and generate
// the API password of each environment, and use the Herramienta Gratuita
// (docs/herramienta.md). Server-rendered HTML that works with JavaScript
// off; every form carries a CSRF token; a taxpayer only ever acts on their
// own keys and comprobantes, named by the session and never by the form.
#pragma once

#include "http/http.h"
#include "service/accounts.h"
#include "service/custody.h"
#include "service/downloads.h"
#include "service/emission.h"
#include "service/key_service.h"
#include "service/mailer.h"
#include "service/receiver.h"
#include "service/tool_lists.h"

namespace llavero::portal {

struct PortalServices {
  service::KeyService& keys;
  service::AccountService& accounts;
  service::DownloadVault& downloads;
  // The Herramienta Gratuita; without them its pages say it is not offered.
  service::EmissionService* emission = nullptr;
  service::KeyCustody* custody = nullptr;
  // The correo to the receptor; without it a comprobante's page says nothing of it.
  service::ComprobanteMailer* mailer = nullptr;
  service::ReceiverService* receiver = nullptr;  // Recibidos
  // Clientes and Productos; without them their pages are not found.
  service::ToolLists* lists = nullptr;
};

void add_portal_routes(http::Router& router, PortalServices services);

}  // namespace llavero::portal
