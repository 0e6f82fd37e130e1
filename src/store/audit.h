// The audit log's hash chain: each row's hash covers its fields and the hash
// of the row before it, so changing or deleting a row breaks every hash after
// it. The store keeps the last (seq, hash) in a separate head row, which
// catches the deletion of the newest rows as well.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace llavero {

// The hash of the very first row's predecessor.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// SHA-256 (hex) over the row's seq, time, actor, action, subject, detail and
// prev_hash, each length-prefixed so that no two rows hash alike by shifting
// text between fields.
std::string audit_row_hash(const AuditRow& row);

// The row that records `event` at `at` after `head` (the newest seq and hash;
// none: the first row), hash included. Every backend appends this row and
// makes it the new head, in the event's transaction.
AuditRow next_audit_row(const std::optional<std::pair<std::int64_t, std::string>>& head,
                        const AuditEvent& event, UnixSeconds at);

struct AuditVerification {
  std::int64_t rows = 0;
  std::optional<std::int64_t> first_bad_seq;  // absent when the log is intact
  std::string problem;                        // Spanish, when not intact
  std::string head_hash;                      // hash of the last row
};

AuditVerification verify_audit_chain(const AuditLog& log);

}  // namespace llavero
