#include "store/audit.h"

#include <fmt/format.h>

#include "util/clock.h"

namespace llavero {

std::string audit_row_hash(const AuditRow& row) {
  std::string material;
  auto field = [&material](std::string_view value) {
    material += std::to_string(value.size());
    material += ':';
    material += value;
  };
  field(std::to_string(row.seq));
  field(row.at);
  field(row.actor);
  field(row.action);
  field(row.subject);
  field(row.detail);
  field(row.prev_hash);
  return to_hex(sha256(material));
}

AuditRow next_audit_row(const std::optional<std::pair<std::int64_t, std::string>>& head,
                        const AuditEvent& event, UnixSeconds at) {
  AuditRow row;
  row.seq = head ? head->first + 1 : 1;
  row.prev_hash = head ? head->second : std::string(kAuditGenesisHash);
  row.at = format_utc(at);
  row.actor = event.actor;
  row.action = event.action;
  row.subject = event.subject;
  row.detail = event.detail;
  row.hash = audit_row_hash(row);
  return row;
}

AuditVerification verify_audit_chain(const AuditLog& log) {
  const auto& rows = log.rows;
  const auto& head = log.head;
  AuditVerification out;
  out.rows = static_cast<std::int64_t>(rows.size());
  std::string prev(kAuditGenesisHash);
  std::int64_t expected_seq = 1;
  auto fail = [&out](std::int64_t seq, std::string problem) {
    out.first_bad_seq = seq;
    out.problem = std::move(problem);
    return out;
  };
  for (const AuditRow& row : rows) {
    if (row.seq != expected_seq)
      return fail(expected_seq,
                  fmt::format("falta la fila {} (la siguiente es la {})", expected_seq, row.seq));
    if (row.prev_hash != prev)
      return fail(row.seq, fmt::format("la fila {} no enlaza con la anterior (fila borrada o "
                                       "modificada)",
                                       row.seq));
    if (audit_row_hash(row) != row.hash)
      return fail(row.seq, fmt::format("la fila {} fue modificada (su hash no coincide)", row.seq));
    prev = row.hash;
    ++expected_seq;
  }
  const std::int64_t last = expected_seq - 1;
  if (!head) {
    if (last != 0) return fail(1, "falta la cabeza de la bitácora");
  } else if (head->first != last || head->second != prev) {
    return fail(last + 1, fmt::format("la bitácora termina en la fila {} pero la cabeza registra "
                                      "la fila {} (filas finales borradas)",
                                      last, head->first));
  }
  out.head_hash = prev;
  return out;
}

}  // namespace llavero
