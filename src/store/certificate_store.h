// CertificateStore: what the CAs need remembered. The authorities
// themselves, serial reservations, issued certificates and their
// revocations, CRL numbers, the delegated OCSP responders, and the
// revocation epoch that tells every reader a revocation happened.
//
// The rule "at most one active key per taxpayer and environment" lives in the
// schema (a unique partial index), so that no caller can break it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "id/ca_kind.h"
#include "id/environment.h"
#include "id/revocation_reason.h"
#include "store/audit_store.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/result.h"

namespace llavero {

struct NewAuthority {
  Environment environment;
  CaKind kind;
  std::string subject;  // one-line, for people
  Bytes certificate_der;
  std::string key_pem;  // encrypted PKCS#8
  int generation = 1;   // an issuing CA's: 1, then one more per rollover
};

struct AuthorityRecord {
  std::int64_t id = 0;
  Environment environment;
  CaKind kind;
  std::string subject;
  Bytes certificate_der;
  std::string key_pem;
  int generation = 1;
};

// A rollover of an issuing CA (`llavero ca renovar`): asked for by one
// administrator, carried out when a different one approves it.
struct RolloverRequest {
  Environment environment;
  CaKind kind;
  std::string requested_by;  // the operator's user name
};

struct RolloverRecord {
  std::int64_t id = 0;
  Environment environment;
  CaKind kind;
  std::string requested_by;
  UnixSeconds requested_at = 0;
  std::string approved_by;            // empty while pending
  UnixSeconds approved_at = 0;        // 0 while pending
  std::int64_t new_authority_id = 0;  // the new generation; 0 while pending
};

// reserved: a serial set aside before signing. pending: issued by the portal,
// waiting for its .p12 to be downloaded (the previous key is still active).
enum class CertificateStatus { kReserved, kPending, kActive, kRevoked };

struct SerialReservation {
  std::int64_t authority_id = 0;
  std::string serial_hex;
  std::int64_t taxpayer_id = 0;
  Environment environment;
};

struct CertificateRecord {
  std::int64_t id = 0;
  std::int64_t authority_id = 0;
  std::string serial_hex;
  std::int64_t taxpayer_id = 0;
  Environment environment;
  CertificateStatus status = CertificateStatus::kReserved;
  Bytes certificate_der;
  UnixSeconds not_before = 0, not_after = 0;  // 0 while only reserved
  bool facturador_gratuito = false;
  std::optional<UnixSeconds> revoked_at;              // present exactly when revoked
  std::optional<RevocationReason> revocation_reason;  // absent: none given
  UnixSeconds created_at = 0;
  // The end of the download window of a key issued as pending; kept when such
  // a key is revoked before its download, cleared when it becomes active.
  std::optional<UnixSeconds> pending_until = std::nullopt;
};

// One line of a CRL.
struct RevokedEntry {
  std::string serial_hex;
  UnixSeconds revoked_at = 0;
  std::optional<RevocationReason> reason;
};

struct ResponderRecord {
  std::int64_t authority_id = 0;
  std::string serial_hex;
  Bytes certificate_der;
  std::string key_pem;  // encrypted PKCS#8
  UnixSeconds not_after = 0;
};

struct Activation {
  std::int64_t certificate_id = 0;
  bool facturador_gratuito = false;
  Bytes certificate_der;
  UnixSeconds not_before = 0, not_after = 0;
  // Unset: the key becomes active at once. Set: it becomes pending until this
  // time, and the active key stays active (see activate_pending).
  std::optional<UnixSeconds> pending_until = std::nullopt;
  // The private key, wrapped, kept in custody for the Herramienta Gratuita
  // (service/custody.h); empty: none is kept.
  Bytes custody_wrapped_key = {};
};

// A signed CRL as published: its number, the revocation epoch its entries
// were read under, and its validity.
struct CrlRecord {
  std::int64_t authority_id = 0;
  std::int64_t number = 0;
  std::int64_t epoch = 0;
  UnixSeconds this_update = 0, next_update = 0;
  Bytes der;
};

class CertificateStore {
 public:
  virtual ~CertificateStore() = default;

  // Certificate authorities, added all at once.
  virtual Status add_authorities(const std::vector<NewAuthority>& authorities,
                                 const AuditEvent& audit) = 0;
  // Every generation, oldest first.
  virtual Result<std::vector<AuthorityRecord>> authorities() = 0;

  // Records a rollover request. Fails with "renovacion_pendiente" when the
  // CA already has one waiting. Returns its id.
  virtual Result<std::int64_t> request_rollover(const RolloverRequest& request,
                                                const AuditEvent& audit) = 0;
  // Rollovers, newest first.
  virtual Result<std::vector<RolloverRecord>> rollovers() = 0;
  // Approves a pending request and adds its new generation, in one
  // transaction. Fails with "renovacion_no_pendiente" unless the request is
  // pending, "mismo_operador" when `approved_by` asked for it, and
  // "generacion_duplicada" when `authority.generation` is not the CA's next
  // one. Returns the new authority id.
  virtual Result<std::int64_t> approve_rollover(std::int64_t request_id,
                                                const std::string& approved_by,
                                                const NewAuthority& authority,
                                                const AuditEvent& audit) = 0;
  // An audit row about the CAs that changes nothing else: a refused request
  // or approval.
  virtual Status record_ca_event(const AuditEvent& audit) = 0;

  // Reserves a serial before anything is signed with it, so that it can never
  // be used twice, even across a crash. Fails with code "serial_duplicado"
  // when the issuer already has it. Returns the certificate row id.
  virtual Result<std::int64_t> reserve_serial(const SerialReservation& reservation) = 0;

  // Makes a reserved certificate the active key of its taxpayer and
  // environment, revoking the previous active key (reason superseded) in the
  // same transaction. Returns the revoked previous key, if there was one.
  // With activation.pending_until the certificate becomes pending instead:
  // the active key is left alone, and an earlier pending key of the same
  // taxpayer and environment is revoked (superseded) with its waiting
  // download deleted; that earlier key is what is returned then.
  virtual Result<std::optional<CertificateRecord>> activate_certificate(
      const Activation& activation, const AuditEvent& audit) = 0;

  // A pending certificate whose file was delivered becomes the active key,
  // revoking the previous active key (superseded) in the same transaction.
  // Returns the revoked previous key, if there was one. Fails with code
  // "llave_no_pendiente" unless the certificate is pending; a certificate
  // that is already active is not an error (a retried download).
  virtual Result<std::optional<CertificateRecord>> activate_pending(std::int64_t certificate_id,
                                                                    const AuditEvent& audit) = 0;

  // The pending certificates whose download window ended before `before`.
  virtual Result<std::vector<CertificateRecord>> pending_before(UnixSeconds before) = 0;
  // Revokes a pending certificate (no reason: nobody ever held it) and
  // deletes its waiting download in the same transaction. Fails with code
  // "llave_no_pendiente" when it is no longer pending.
  virtual Status revoke_pending(std::int64_t certificate_id, const AuditEvent& audit) = 0;

  // Revokes the active key of a taxpayer in an environment. Fails with code
  // "sin_llave_activa" when there is none.
  virtual Result<CertificateRecord> revoke_active(std::int64_t taxpayer_id, Environment env,
                                                  std::optional<RevocationReason> reason,
                                                  const AuditEvent& audit) = 0;

  // Issued certificates (not mere reservations) of a taxpayer, newest first.
  virtual Result<std::vector<CertificateRecord>> certificates_of(std::int64_t taxpayer_id) = 0;

  // A certificate by issuer and serial (reservations included), for OCSP.
  virtual Result<std::optional<CertificateRecord>> find_certificate(
      std::int64_t authority_id, const std::string& serial_hex) = 0;
  // The revoked certificates of a CA that have not expired at `now`.
  virtual Result<std::vector<RevokedEntry>> revoked_certificates(std::int64_t authority_id,
                                                                 UnixSeconds now) = 0;
  // The next CRL number of a CA (1, 2, ...), never handed out twice.
  virtual Result<std::int64_t> next_crl_number(std::int64_t authority_id) = 0;
  // Changes whenever a revocation commits, whichever process made it. Once a
  // revocation's store method has returned, every process's next call
  // answers the moved epoch (PostgreSQL keeps that with a lease, not with a
  // round trip per call: postgres_store.h).
  virtual Result<std::int64_t> revocation_epoch() = 0;

  // The newest delegated OCSP responder of a CA still valid after
  // `valid_after`, and adding one. add_responder refuses a serial the CA
  // already used ("serial_duplicado").
  virtual Result<std::optional<ResponderRecord>> current_responder(std::int64_t authority_id,
                                                                   UnixSeconds valid_after) = 0;
  virtual Status add_responder(const ResponderRecord& responder, const AuditEvent& audit) = 0;

  // The CRLs every server publishes: the newest one built for a CA, by any
  // server sharing the store, is the one answered, so the CRL number a
  // client sees only rises whichever server answers. add_crl keeps a built
  // CRL (and drops that CA's older ones); latest_crl returns the CA's
  // highest-numbered CRL if its number is above `newer_than` (cheap when
  // nothing changed).
  virtual Status add_crl(const CrlRecord& crl) = 0;
  virtual Result<std::optional<CrlRecord>> latest_crl(std::int64_t authority_id,
                                                      std::int64_t newer_than) = 0;
};

}  // namespace llavero
