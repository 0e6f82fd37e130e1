// What the operators' console reads (docs/operador.md): a taxpayer's whole
// picture for the support desk, the audit log filtered, verified and
// exported for the auditors, and the state of every CA with warnings well
// before a certificate or a CRL runs out. Reads only; the actions live in
// the services they belong to (keys, accounts, operators).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "service/accounts.h"
#include "service/key_service.h"
#include "service/publication.h"
#include "store/audit.h"
#include "store/store.h"

namespace llavero::service {

// A CA certificate this close to its end is flagged, half a year ahead: its
// renewal needs people. The OCSP responder certificates (7 days) and the
// CRLs (crl_validez_dias) renew themselves 2 days or more before they end,
// so less than 36 hours left means the renewal is failing.
inline constexpr UnixSeconds kAuthorityWarning = 180 * 86400;
inline constexpr UnixSeconds kResponderWarning = 36 * 3600;
inline constexpr UnixSeconds kCrlWarning = 36 * 3600;

struct ReceivedComprobante {
  ComprobanteRecord record;
  std::vector<CallbackAttempt> attempts;
};

struct TaxpayerPicture {
  TaxpayerRecord taxpayer;
  std::vector<KeyStatus> keys;                    // both environments, newest first
  std::map<std::string, UnixSeconds> lock_waits;  // address → until: empty, not locked
  bool has_portal_password = false;
  std::vector<std::pair<Environment, std::string>> api_users;
  std::vector<ReceivedComprobante> comprobantes;  // sent by this taxpayer, newest first
};

// Every field optional; text fields match exactly (actor, action) or as a
// part (subject); dates are UTC days, inclusive.
struct AuditFilter {
  std::string actor, action, subject;
  std::optional<UnixSeconds> from, to;
};

struct AuditPage {
  std::vector<AuditRow> rows;  // the filtered rows, oldest first
  AuditVerification verification;
  std::int64_t total_rows = 0;
};

struct AuthorityState {
  AuthorityRecord authority;
  UnixSeconds not_before = 0, not_after = 0;
  std::int64_t issued = 0, revoked = 0;
  std::optional<std::int64_t> crl_number;  // issuing CAs: the CRL being served
  std::optional<UnixSeconds> crl_next_update;
  std::optional<UnixSeconds> responder_not_after;  // the delegated OCSP responder's
  std::vector<std::string> warnings;               // Spanish, for people
};

class Supervision {
 public:
  Supervision(Store& store, KeyService& keys, AccountService& accounts,
              RevocationPublisher* publisher)
      : store_(store), keys_(keys), accounts_(accounts), publisher_(publisher) {}

  Result<std::vector<TaxpayerRecord>> find_taxpayers(const std::string& text);
  Result<TaxpayerPicture> taxpayer(const std::string& identification);

  Result<AuditPage> audit(const AuditFilter& filter);
  Result<std::vector<AuthorityState>> authorities(UnixSeconds now);

 private:
  Store& store_;
  KeyService& keys_;
  AccountService& accounts_;
  RevocationPublisher* publisher_;  // absent: no CRL figures
};

// The export of a filtered range: every row with its hashes, and the head
// hash of the whole chain to anchor elsewhere.
std::string audit_csv(const AuditPage& page);
std::string audit_json(const AuditPage& page, const AuditFilter& filter);

}  // namespace llavero::service
