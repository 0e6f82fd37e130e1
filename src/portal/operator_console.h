// The operators' console under /operador (docs/operador.md): the support
// desk finds a taxpayer, unlocks their portal log-in, resets their portal
// password and revokes a key for them; auditors read the audit log, verify
// and export it; administrators also manage operators. Server-rendered like
// the portal (portal/web.h), with its own session cookie (path /operador),
// CSRF tokens, a 10-minute idle timeout and an optional allow-list of
// client addresses. What each role may do is service::role_may().
#pragma once

#include <string>
#include <vector>

#include "http/http.h"
#include "service/accounts.h"
#include "service/ca_lifecycle.h"
#include "service/key_service.h"
#include "service/operators.h"
#include "service/supervision.h"

namespace llavero::portal {

struct ConsoleServices {
  service::OperatorService& operators;
  service::Supervision& supervision;
  service::KeyService& keys;
  service::AccountService& accounts;
  service::CaLifecycle& lifecycle;  // generations and two-administrator rollovers
  // Client addresses the console answers (exact match); empty: any.
  std::vector<std::string> allowed_addresses;
};

void add_operator_console_routes(http::Router& router, ConsoleServices services);

}  // namespace llavero::portal
