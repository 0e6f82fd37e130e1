// OperatorStore: the people who run the service (docs/operador.md), apart
// from the taxpayers. Operator accounts with their role, Argon2id password
// hash and TOTP second factor (the secret sealed by the caller), their console
// sessions, and the few reads only the console needs: finding taxpayers by
// name and counting what each CA issued and revoked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/audit_store.h"
#include "store/taxpayer_store.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/result.h"

namespace llavero {

// administrador: everything, operators and the CA lifecycle included.
// soporte: finds, unlocks and acts for taxpayers. auditor: reads, changes nothing.
enum class OperatorRole { kAdministrador, kSoporte, kAuditor };
inline constexpr OperatorRole kAllOperatorRoles[] = {
    OperatorRole::kAdministrador, OperatorRole::kSoporte, OperatorRole::kAuditor};

// "administrador" | "soporte" | "auditor": the stored name and the --rol value.
constexpr std::string_view operator_role_name(OperatorRole role) {
  switch (role) {
    case OperatorRole::kAdministrador: return "administrador";
    case OperatorRole::kSoporte: return "soporte";
    case OperatorRole::kAuditor: return "auditor";
  }
  return "auditor";
}

struct OperatorRecord {
  std::int64_t id = 0;
  std::string username;
  OperatorRole role = OperatorRole::kAuditor;
  std::string password_hash;
  Bytes totp_sealed;                // the TOTP secret, encrypted; empty: none yet
  bool totp_enrolled = false;       // a first code proved the secret is in the app
  std::int64_t totp_last_step = 0;  // the newest time step used: none is accepted twice
  bool disabled = false;
  UnixSeconds created_at = 0;
};

struct OperatorSessionRecord {
  std::string id_hash;
  std::int64_t operator_id = 0;
  std::string csrf_token;
  UnixSeconds created_at = 0, last_seen = 0;
};

// What one CA issued (certificates, not mere reservations) and revoked.
struct AuthorityCounts {
  std::int64_t authority_id = 0;
  std::int64_t issued = 0, revoked = 0;
};

class OperatorStore {
 public:
  virtual ~OperatorStore() = default;

  // Fails with code "operador_duplicado" when the user name exists.
  virtual Result<OperatorRecord> add_operator(const OperatorRecord& record,
                                              const AuditEvent& audit) = 0;
  virtual Result<std::optional<OperatorRecord>> find_operator(const std::string& username) = 0;
  virtual Result<std::optional<OperatorRecord>> find_operator_by_id(std::int64_t id) = 0;
  virtual Result<std::vector<OperatorRecord>> operators() = 0;
  virtual Status set_operator_disabled(std::int64_t id, bool disabled, const AuditEvent& audit) = 0;

  // Keeps a new TOTP secret before its first code (enrolment not done yet).
  virtual Status set_operator_totp(std::int64_t id, const Bytes& sealed) = 0;
  // Spends the time step of a right TOTP code: true when it is newer than
  // every step used before (so a code is never accepted twice), and then the
  // secret counts as enrolled. Atomic across servers.
  virtual Result<bool> spend_totp_step(std::int64_t id, std::int64_t step) = 0;

  // Console sessions, kept apart from the taxpayers'.
  virtual Status create_operator_session(const OperatorSessionRecord& session,
                                         const AuditEvent& audit) = 0;
  virtual Result<std::optional<OperatorSessionRecord>> find_operator_session(
      const std::string& id_hash) = 0;
  virtual Status touch_operator_session(const std::string& id_hash, UnixSeconds last_seen) = 0;
  virtual Status delete_operator_session(const std::string& id_hash) = 0;
  virtual Status purge_operator_sessions(UnixSeconds idle_before) = 0;

  // An audit row for an operator's action that changes nothing stored (an
  // unlock of the in-memory throttle, an export of the audit log).
  virtual Status record_operator_event(const AuditEvent& audit) = 0;

  // Taxpayers whose identification digits or name contain `text` (case
  // folded), by identification, at most `limit`.
  virtual Result<std::vector<TaxpayerRecord>> search_taxpayers(const std::string& text,
                                                               int limit) = 0;
  // Issued and revoked certificates of every CA that has any.
  virtual Result<std::vector<AuthorityCounts>> authority_counts() = 0;
};

}  // namespace llavero
