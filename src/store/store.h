// Store: everything llavero keeps — taxpayers, CAs, certificates and their
// revocations, and the audit log — behind one interface, so that the SQLite
// store of a single machine and the PostgreSQL store of a cluster are
// interchangeable and run the same tests.
//
// Every method that changes state is one transaction, and each appends its
// audit row inside that same transaction: an action and its audit row are
// committed together or not at all. The rule "at most one active key per
// taxpayer and environment" lives in the schema (a unique partial index), so
// that no caller can break it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "id/environment.h"
#include "util/hash.h"
#include "util/result.h"

namespace llavero {

// One row to append to the audit log; the store adds time, sequence and hashes.
struct AuditEvent {
  std::string actor;    // "cli:root", "portal:106470958", ...
  std::string action;   // "llave.generar", "llave.revocar", ...
  std::string subject;  // whom it concerns, e.g. an identification
  std::string detail;   // free text, never a secret
};

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

struct NewTaxpayer {
  std::string identification;  // digits only, as Identification::digits()
  std::string id_type;         // "01".."04"
  std::string nombre;
  std::string apellidos;  // empty for a Jurídica
  std::string correo;
};

struct TaxpayerRecord {
  std::int64_t id = 0;
  std::string identification, id_type, nombre, apellidos, correo, created_at;
};

struct NewAuthority {
  Environment environment;
  std::string kind;     // "root" | "pf" | "pj"
  std::string subject;  // one-line, for people
  Bytes certificate_der;
  std::string key_pem;  // encrypted PKCS#8
};

struct AuthorityRecord {
  std::int64_t id = 0;
  Environment environment;
  std::string kind, subject;
  Bytes certificate_der;
  std::string key_pem;
};

enum class CertificateStatus { kReserved, kActive, kRevoked };

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
  std::string not_before, not_after;  // ISO-8601 UTC
  bool facturador_gratuito = false;
  std::optional<std::string> revoked_at;
  std::optional<std::string> revocation_reason;  // RFC 5280 name, absent = none given
  std::string created_at;
};

// One line of a CRL.
struct RevokedEntry {
  std::string serial_hex;
  std::string revoked_at;
  std::optional<std::string> reason;
};

struct ResponderRecord {
  std::int64_t authority_id = 0;
  std::string serial_hex;
  Bytes certificate_der;
  std::string key_pem;  // encrypted PKCS#8
  std::string not_after;
};

struct LoginFailures {
  int failures = 0;
  std::optional<std::string> locked_until;
};

struct SessionRecord {
  std::string id_hash;
  std::int64_t taxpayer_id = 0;
  std::string csrf_token;
  std::string created_at, last_seen;
};

struct PendingDownload {
  std::string token_hash;
  std::int64_t taxpayer_id = 0;
  Environment environment;
  std::string file_name;
  Bytes ciphertext;
  std::string expires_at;
};

struct ApiCredential {
  std::int64_t taxpayer_id = 0;
  Environment environment;
  std::string username;
  std::string password_hash;
};

struct RefreshTokenRecord {
  std::string token_hash;
  std::string session_id;
  std::string username;
  std::string realm;
  std::string client_id;
  std::string expires_at;
  bool revoked = false;
};

struct ServiceKey {
  std::string name;
  std::string key_pem;    // encrypted PKCS#8
  Bytes certificate_der;  // may be empty
};

enum class ComprobanteState { kRecibido, kProcesando, kAceptado, kRechazado };

struct ComprobanteRecord {
  std::string clave;
  Environment environment;
  std::string username;
  std::string fecha;
  std::string emisor_tipo, emisor_numero;
  std::optional<std::string> receptor_tipo, receptor_numero;
  Bytes xml;
  ComprobanteState state = ComprobanteState::kRecibido;
  Bytes respuesta_xml;
  std::string received_at, updated_at;
};

struct Activation {
  std::int64_t certificate_id = 0;
  bool facturador_gratuito = false;
  Bytes certificate_der;
  std::string not_before, not_after;
};

class Store {
 public:
  virtual ~Store() = default;

  // Taxpayers. add_taxpayer fails with code "contribuyente_duplicado" when the
  // identification exists.
  virtual Result<TaxpayerRecord> add_taxpayer(const NewTaxpayer& taxpayer,
                                              const AuditEvent& audit) = 0;
  virtual Result<std::optional<TaxpayerRecord>> find_taxpayer(
      const std::string& identification) = 0;
  virtual Result<std::optional<TaxpayerRecord>> find_taxpayer_by_id(std::int64_t id) = 0;

  // Certificate authorities, added all at once.
  virtual Status add_authorities(const std::vector<NewAuthority>& authorities,
                                 const AuditEvent& audit) = 0;
  virtual Result<std::vector<AuthorityRecord>> authorities() = 0;

  // Reserves a serial before anything is signed with it, so that it can never
  // be used twice, even across a crash. Fails with code "serial_duplicado"
  // when the issuer already has it. Returns the certificate row id.
  virtual Result<std::int64_t> reserve_serial(const SerialReservation& reservation) = 0;

  // Makes a reserved certificate the active key of its taxpayer and
  // environment, revoking the previous active key (reason superseded) in the
  // same transaction. Returns the revoked previous key, if there was one.
  virtual Result<std::optional<CertificateRecord>> activate_certificate(
      const Activation& activation, const AuditEvent& audit) = 0;

  // Revokes the active key of a taxpayer in an environment. Fails with code
  // "sin_llave_activa" when there is none.
  virtual Result<CertificateRecord> revoke_active(std::int64_t taxpayer_id, Environment env,
                                                  const std::optional<std::string>& reason,
                                                  const AuditEvent& audit) = 0;

  // Issued certificates (not mere reservations) of a taxpayer, newest first.
  virtual Result<std::vector<CertificateRecord>> certificates_of(std::int64_t taxpayer_id) = 0;

  // A certificate by issuer and serial (reservations included), for OCSP.
  virtual Result<std::optional<CertificateRecord>> find_certificate(
      std::int64_t authority_id, const std::string& serial_hex) = 0;
  // The revoked certificates of a CA that have not expired at `now` (ISO-8601).
  virtual Result<std::vector<RevokedEntry>> revoked_certificates(std::int64_t authority_id,
                                                                 const std::string& now) = 0;
  // The next CRL number of a CA (1, 2, ...), never handed out twice.
  virtual Result<std::int64_t> next_crl_number(std::int64_t authority_id) = 0;
  // Changes whenever a revocation commits, whichever process made it.
  virtual Result<std::int64_t> revocation_epoch() = 0;

  // The newest delegated OCSP responder of a CA still valid after
  // `valid_after`, and adding one. add_responder refuses a serial the CA
  // already used ("serial_duplicado").
  virtual Result<std::optional<ResponderRecord>> current_responder(
      std::int64_t authority_id, const std::string& valid_after) = 0;
  virtual Status add_responder(const ResponderRecord& responder, const AuditEvent& audit) = 0;

  // Portal passwords and login throttling.
  virtual Status set_password_hash(std::int64_t taxpayer_id, const std::string& hash,
                                   const AuditEvent& audit) = 0;
  virtual Result<std::optional<std::string>> password_hash(std::int64_t taxpayer_id) = 0;
  virtual Result<LoginFailures> login_failures(std::int64_t taxpayer_id) = 0;
  // Counts a failure; at `lock_after` failures the account is locked until
  // `lock_until` and the count starts over.
  virtual Result<LoginFailures> record_login_failure(std::int64_t taxpayer_id, int lock_after,
                                                     const std::string& lock_until,
                                                     const AuditEvent& audit) = 0;
  virtual Status clear_login_failures(std::int64_t taxpayer_id) = 0;

  // Sessions.
  virtual Status create_session(const SessionRecord& session, const AuditEvent& audit) = 0;
  virtual Result<std::optional<SessionRecord>> find_session(const std::string& id_hash) = 0;
  virtual Status touch_session(const std::string& id_hash, const std::string& last_seen) = 0;
  virtual Status delete_session(const std::string& id_hash) = 0;

  // Marks a single-use token spent; false if it already was.
  virtual Result<bool> spend_nonce(const std::string& nonce_hash, const std::string& now) = 0;

  // Downloads waiting to be fetched.
  virtual Status put_download(const PendingDownload& download) = 0;
  virtual Result<std::optional<PendingDownload>> find_download(const std::string& token_hash) = 0;
  virtual Status delete_download(const std::string& token_hash) = 0;
  // Removes expired downloads, sessions idle since `idle_before`, and old nonces.
  virtual Status purge(const std::string& now, const std::string& idle_before) = 0;

  // API credentials: setting one replaces the previous of that environment.
  virtual Status set_api_credential(const ApiCredential& credential, const AuditEvent& audit) = 0;
  virtual Result<std::optional<ApiCredential>> find_api_credential(const std::string& username) = 0;

  // Refresh tokens of the token endpoint.
  virtual Status put_refresh_token(const RefreshTokenRecord& token) = 0;
  virtual Result<std::optional<RefreshTokenRecord>> find_refresh_token(
      const std::string& token_hash) = 0;
  virtual Status revoke_token_session(const std::string& session_id) = 0;

  // Service keys: put_service_key keeps the first one stored under a name
  // (two servers starting at once agree on one); service_key reads it.
  virtual Status put_service_key(const ServiceKey& key, const AuditEvent& audit) = 0;
  virtual Result<std::optional<ServiceKey>> service_key(const std::string& name) = 0;

  // Comprobantes. add_comprobante fails with "clave_duplicada" for a clave
  // already received. claim_comprobante moves one 'recibido' to 'procesando'
  // and returns it; finish_comprobante records the answer.
  virtual Status add_comprobante(const ComprobanteRecord& comprobante) = 0;
  virtual Result<std::optional<ComprobanteRecord>> find_comprobante(const std::string& clave) = 0;
  virtual Result<std::optional<ComprobanteRecord>> claim_comprobante() = 0;
  virtual Status finish_comprobante(const std::string& clave, ComprobanteState state,
                                    const Bytes& respuesta_xml) = 0;
  // After a restart: whatever was being processed is processed again.
  virtual Status requeue_comprobantes() = 0;

  // A trivial query: is the store there and answering?
  virtual Status ping() = 0;

  // The audit log in order with the head recorded beside it, read as one
  // consistent snapshot.
  virtual Result<AuditLog> audit_log() = 0;
};

}  // namespace llavero
