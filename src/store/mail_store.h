// MailStore: the correo to the receptor of what the Herramienta Gratuita
// emitted (docs/herramienta.md, service/mailer.h). Which comprobantes are to
// be sent (the store makes an emitted comprobante pending in the transaction
// that makes it aceptado: a trigger of migration 9), when the next attempt
// is due, and every attempt with its result.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/audit_store.h"
#include "util/clock.h"
#include "util/result.h"

namespace llavero {

// kOmitido: not sent and not to be retried (no receptor correo, or no SMTP
// server configured when it became due).
enum class MailState { kPendiente, kEntregado, kAbandonado, kOmitido };

struct MailRecord {
  std::string clave;
  MailState state = MailState::kPendiente;
  int round_attempts = 0;  // since it last became pending
  UnixSeconds next = 0;    // when a pending one is due
};

// One attempt: delivered, or the error (the SMTP server's reply when it gave one).
struct MailAttempt {
  int number = 0;  // 1, 2, … per clave
  UnixSeconds at = 0;
  std::string to;
  bool delivered = false;
  std::string error;
};

class MailStore {
 public:
  virtual ~MailStore() = default;

  // Pending ones due by `now` (the earliest ones when more are due), claimed: in the same
  // statement they are made due again only at `lease_until`, so a second
  // server sharing the database does not send them too (record_mail then
  // sets the real next time).
  virtual Result<std::vector<MailRecord>> claim_mails(UnixSeconds now, UnixSeconds lease_until,
                                                      int limit) = 0;
  virtual Result<std::optional<MailRecord>> find_mail(const std::string& clave) = 0;
  // Stores an attempt (none: the mail was settled without one) and the new
  // state; `next` is when a pending one is due again.
  virtual Status record_mail(const std::string& clave, const std::optional<MailAttempt>& attempt,
                             MailState state, int round_attempts, UnixSeconds next) = 0;
  virtual Result<std::vector<MailAttempt>> mail_attempts(const std::string& clave) = 0;
  // "Enviar de nuevo": pending again, due at `now`, a fresh budget of
  // retries; with its audit row.
  virtual Status request_mail(const std::string& clave, UnixSeconds now,
                              const AuditEvent& audit) = 0;
};

}  // namespace llavero
