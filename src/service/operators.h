// The operators of the service (docs/operador.md): the support desk, the
// auditors and the CA's administrators, with accounts apart from the
// taxpayers'. A password (Argon2id) and a TOTP code (service/totp.h) open a
// console session that ends after 10 idle minutes; what each role may do is
// decided by role_may(), the one place that rule lives; every action an
// operator takes is an audit row naming the operator, the role and the note.
// Hashing is slow on purpose: call login() and create() from the worker pool.
#pragma once

#include <optional>
#include <string>

#include "service/login_throttle.h"
#include "store/store.h"
#include "util/result.h"
#include "util/secret.h"

namespace llavero::service {

inline constexpr UnixSeconds kOperatorIdleSeconds = 10 * 60;
inline constexpr std::size_t kMinOperatorPasswordLength = 12;

// "administrador" | "soporte" | "auditor"; error "rol_invalido" otherwise.
Result<OperatorRole> parse_operator_role(std::string_view text);

// What an operator may do; role_may() says which roles may.
enum class Permission {
  kRead,               // every page of the console: all roles
  kActForTaxpayer,     // unlock, reset a portal password, revoke on their behalf
  kManageOperators,    // create and disable operators
  kManageAuthorities,  // the CA lifecycle
};
bool role_may(OperatorRole role, Permission permission);

// "operador:<usuario>", the actor of the operator's audit rows.
std::string operator_actor(const OperatorRecord& op);
// "rol=soporte nota=…": the detail that goes with every operator action.
std::string operator_detail(const OperatorRecord& op, std::string_view note);

struct OperatorSession {
  OperatorRecord op;
  std::string csrf_token;
  std::string id_hash;
  // Before the first TOTP code the session can only finish the enrolment.
  bool enrolled() const { return op.totp_enrolled; }
};

struct OperatorLogin {
  OperatorSession session;
  std::string cookie_token;  // goes to the browser, never to the store
};

struct TotpEnrolment {
  std::string secret_base32;  // for typing it in by hand
  std::string uri;            // otpauth://
  std::string qr_svg;
};

class OperatorService {
 public:
  // `server_key`: 32 bytes (service/downloads.h) that seal the TOTP secrets.
  OperatorService(Store& store, SecretString server_key, LoginThrottleSettings throttling = {})
      : store_(store), key_(std::move(server_key)), throttle_(throttling) {}

  // A new operator, made by `actor` (the command line's user, or an
  // administrator whose session is `by`). Errors: "operador_invalido" (user
  // name), "contrasena_invalida", "operador_duplicado", "operador_no_autorizado".
  Result<OperatorRecord> create(const std::string& username, OperatorRole role,
                                const SecretString& password, const std::string& actor,
                                const OperatorSession* by = nullptr);
  // The operator named `username` when it exists and is not disabled: the
  // lookup other parts (the CA rollover's approvals) check roles with.
  Result<std::optional<OperatorRecord>> find_active(const std::string& username);
  Result<std::vector<OperatorRecord>> list();
  Status set_disabled(const OperatorSession& by, const std::string& username, bool disabled,
                      const std::string& note);

  // User name + password (+ the TOTP code once enrolled) from `remote_address`.
  // Errors: "credenciales_invalidas" (the same for every wrong part),
  // "demasiados_intentos".
  Result<OperatorLogin> login(const std::string& username, const SecretString& password,
                              const std::string& code, const std::string& remote_address);
  // The session behind a cookie, refreshed. Errors: "sin_sesion", "sesion_expirada".
  Result<OperatorSession> session(const std::string& cookie_token);
  Status logout(const OperatorSession& session);

  // The secret to enrol (made on first call, the same until enrolled), and
  // the first code that completes the enrolment ("codigo_invalido").
  Result<TotpEnrolment> enrolment(const OperatorSession& session);
  Status confirm_enrolment(const OperatorSession& session, const std::string& code);

  // "operador_no_autorizado" unless the session's role may.
  Status require(const OperatorSession& session, Permission permission) const;
  // An audit row for an action that changes nothing stored.
  Status record(const OperatorSession& session, std::string action, std::string subject,
                std::string_view note);

  Status purge_expired();

 private:
  Result<Bytes> secret_of(const OperatorRecord& op);
  // Whether `code` is right now (±1 step) and its step was never used.
  Result<bool> spend_code(const OperatorRecord& op, const std::string& code);

  Store& store_;
  const SecretString key_;
  LoginThrottle throttle_;
};

}  // namespace llavero::service
