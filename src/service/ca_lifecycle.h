// The life of an issuing CA after `llavero init`: its generations, and the
// rollover that adds a new one (a new key under the same root) while the old
// ones keep answering OCSP and publishing CRLs for the certificates they
// issued until the last of them expires (docs/certificates.md#ca-rollover).
//
// A rollover cannot be undone, so it takes two administrators: one asks for
// it (request), a different one carries it out (approve). Both steps, and
// every refusal, are in the audit log.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "service/authorities.h"
#include "service/config.h"
#include "store/store.h"

namespace llavero::service {

// Whether `user` is an administrator: the one question the two-person rule
// asks of the operator accounts. Errors stop the operation.
using AdministratorCheck = std::function<Result<bool>(std::string_view user)>;

// The operator accounts' answer (`llavero operador crear`): an operator who
// exists, is not disabled and whose role may manage the CAs (role_may).
AdministratorCheck active_administrators(OperatorStore& operators);

struct CaGeneration {
  std::int64_t authority_id = 0;
  Environment environment;
  CaKind kind;
  int generation = 1;
  std::string subject;
  UnixSeconds not_before = 0, not_after = 0;
  bool issuing = false;         // the newest generation: new certificates come from it
  std::string certificate_pem;  // filled by approve() only
};

class CaLifecycle {
 public:
  CaLifecycle(Store& store, CaKeyring& keyring, const Config& config,
              AdministratorCheck is_administrator);

  // Records a request to roll the issuing CA `kind` of `env` over. Errors:
  // "no_es_administrador", "renovacion_pendiente". Returns its number.
  Result<std::int64_t> request(Environment env, CaKind kind, const std::string& operator_name);

  // Carries out a pending request: a new key (made as `llavero init` makes
  // them), a certificate signed by the root, stored as the next generation.
  // Errors: "no_es_administrador", "mismo_operador" (the requester),
  // "renovacion_no_pendiente".
  Result<CaGeneration> approve(std::int64_t request_id, const std::string& operator_name);

  // Every CA and generation, oldest first.
  Result<std::vector<CaGeneration>> generations();
  // Every rollover, newest first.
  Result<std::vector<RolloverRecord>> rollovers();

 private:
  Error refuse(const std::string& operator_name, std::string_view action,
               const std::string& subject, const Error& why);

  Store& store_;
  CaKeyring& keyring_;
  const Config& config_;
  AdministratorCheck is_administrator_;
};

}  // namespace llavero::service
