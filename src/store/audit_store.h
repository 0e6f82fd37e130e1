// AuditStore: reading the audit log (docs/product.md). Rows are appended by
// the other roles, inside the transaction of the action they record; this
// role only reads them back, for `llavero auditoria` and its hash-chain check
// (store/audit.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace llavero {

// One row to append to the audit log; the store adds time, sequence and hashes.
struct AuditEvent {
  std::string actor;    // "cli:root", "portal:106470958", ...
  std::string action;   // "llave.generar", "llave.revocar", ...
  std::string subject;  // whom it concerns, e.g. an identification
  std::string detail;   // free text, never a secret
};

// A row as stored. `at` stays the stored text: the row's hash covers it byte
// for byte, so it is never parsed and written again.
struct AuditRow {
  std::int64_t seq = 0;
  std::string at;
  std::string actor, action, subject, detail;
  std::string prev_hash, hash;
};

// The newest (seq, hash), kept apart from the rows.
using AuditHead = std::optional<std::pair<std::int64_t, std::string>>;

struct AuditLog {
  std::vector<AuditRow> rows;
  AuditHead head;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // The audit log in order with the head recorded beside it, read as one
  // consistent snapshot.
  virtual Result<AuditLog> audit_log() = 0;
};

}  // namespace llavero
