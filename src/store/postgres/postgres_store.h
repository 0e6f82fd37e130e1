// The shared store: a PostgreSQL 15 database, for several machines serving
// one installation. Selected by a URL (postgresql://… or postgres://…, in
// `--db` or in `db = …` of llavero.conf); SQLite stays the default.
//
// The invariants are the database's, as with SQLite: the partial unique
// indexes (one active and one pending key per taxpayer and environment), the
// CHECKs, the append-only triggers of the audit log. What SQLite gets from
// its single writer is taken explicitly here, under READ COMMITTED:
//   - the audit chain is appended under a transaction-scoped advisory lock,
//     so it stays linear with any number of writers on any number of hosts;
//   - a key's lifecycle (activate, supersede, revoke) locks its taxpayer row;
//   - the reception's work is claimed with FOR UPDATE SKIP LOCKED;
//   - a counter of consecutivos is locked while its number is used;
//   - a list of Clientes or Productos is counted against its limit under its
//     owner's row lock;
//   - CRL numbers come from a sequence.
// A transaction that loses a deadlock, a serialization check or a unique-key
// race is run again from the start (a few times), as a whole.
//
// Connections come from a small pool (up to kMaxConnections): each caller
// takes one for the length of one store method.
//
// The revocation epoch is asked before every OCSP and CRL answer, thousands
// of times a second: a round trip each would make the database the OCSP
// bottleneck. So it is read on a lease: a thread of the store reads it every
// kEpochRefresh on its own connection, and revocation_epoch() answers from
// memory while the read it has was sent less than kEpochLease ago (else it
// reads, as before). A revocation, in turn, returns only kEpochLease after its
// commit: by then every process on the database holds an epoch read after
// that commit, or reads again. So a revocation is still seen by every server
// from the moment its command returns (issue 13), and each request costs no
// round trip.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace llavero {

// postgresql://… or postgres://…: a PostgreSQL connection URI.
bool is_postgres_url(std::string_view location);

class PostgresStore final : public Store {
 public:
  static constexpr int kMaxConnections = 8;
  // How long an epoch read stays trusted after it was sent, which is also
  // how long a revocation waits after its commit; and how often the store's
  // thread reads it (several reads per lease, so a slow one is outlived).
  static constexpr std::chrono::milliseconds kEpochLease{100};
  static constexpr std::chrono::milliseconds kEpochRefresh{25};

  // Connects to the database at `url` (libpq's connection URI) and applies
  // the pending migrations. The database must exist.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url);
  ~PostgresStore() override;

  // TaxpayerStore
  Result<TaxpayerRecord> add_taxpayer(const NewTaxpayer& taxpayer,
                                      const AuditEvent& audit) override;
  Result<std::optional<TaxpayerRecord>> find_taxpayer(const std::string& identification) override;
  Result<std::optional<TaxpayerRecord>> find_taxpayer_by_id(std::int64_t id) override;

  // CertificateStore
  Status add_authorities(const std::vector<NewAuthority>& authorities,
                         const AuditEvent& audit) override;
  Result<std::vector<AuthorityRecord>> authorities() override;
  Result<std::int64_t> request_rollover(const RolloverRequest& request,
                                        const AuditEvent& audit) override;
  Result<std::vector<RolloverRecord>> rollovers() override;
  Result<std::int64_t> approve_rollover(std::int64_t request_id, const std::string& approved_by,
                                        const NewAuthority& authority,
                                        const AuditEvent& audit) override;
  Status record_ca_event(const AuditEvent& audit) override;
  Result<std::int64_t> reserve_serial(const SerialReservation& reservation) override;
  Result<std::optional<CertificateRecord>> activate_certificate(const Activation& activation,
                                                                const AuditEvent& audit) override;
  Result<std::optional<CertificateRecord>> activate_pending(std::int64_t certificate_id,
                                                            const AuditEvent& audit) override;
  Result<std::vector<CertificateRecord>> pending_before(UnixSeconds before) override;
  Status revoke_pending(std::int64_t certificate_id, const AuditEvent& audit) override;
  Result<CertificateRecord> revoke_active(std::int64_t taxpayer_id, Environment env,
                                          std::optional<RevocationReason> reason,
                                          const AuditEvent& audit) override;
  Result<std::vector<CertificateRecord>> certificates_of(std::int64_t taxpayer_id) override;
  Result<std::optional<CertificateRecord>> find_certificate(std::int64_t authority_id,
                                                            const std::string& serial_hex) override;
  Result<std::vector<RevokedEntry>> revoked_certificates(std::int64_t authority_id,
                                                         UnixSeconds now) override;
  Result<std::int64_t> next_crl_number(std::int64_t authority_id) override;
  Result<std::int64_t> revocation_epoch() override;
  Result<std::optional<ResponderRecord>> current_responder(std::int64_t authority_id,
                                                           UnixSeconds valid_after) override;
  Status add_responder(const ResponderRecord& responder, const AuditEvent& audit) override;
  Status add_crl(const CrlRecord& crl) override;
  Result<std::optional<CrlRecord>> latest_crl(std::int64_t authority_id,
                                              std::int64_t newer_than) override;

  // AccountStore
  Status set_password_hash(std::int64_t taxpayer_id, const std::string& hash,
                           const AuditEvent& audit) override;
  Result<std::optional<std::string>> password_hash(std::int64_t taxpayer_id) override;
  Status record_login_event(const AuditEvent& audit) override;
  Status create_session(const SessionRecord& session, const AuditEvent& audit) override;
  Result<std::optional<SessionRecord>> find_session(const std::string& id_hash) override;
  Status touch_session(const std::string& id_hash, UnixSeconds last_seen) override;
  Status delete_session(const std::string& id_hash) override;
  Result<bool> spend_nonce(const std::string& nonce_hash, UnixSeconds now) override;
  Status put_download(const PendingDownload& download) override;
  Result<std::optional<PendingDownload>> find_download(const std::string& token_hash) override;
  Status delete_download(const std::string& token_hash) override;
  Status purge(UnixSeconds now, UnixSeconds idle_before) override;
  Status set_api_credential(const ApiCredential& credential, const AuditEvent& audit) override;
  Result<std::optional<ApiCredential>> find_api_credential(const std::string& username) override;
  Status put_refresh_token(const RefreshTokenRecord& token) override;
  Result<std::optional<RefreshTokenRecord>> find_refresh_token(
      const std::string& token_hash) override;
  Status revoke_token_session(const std::string& session_id) override;
  Result<std::optional<RefreshTokenRecord>> spend_refresh_token(
      const std::string& token_hash, std::string_view realm, std::string_view client_id) override;

  // ComprobanteStore
  Status put_service_key(const ServiceKey& key, const AuditEvent& audit) override;
  Result<std::optional<ServiceKey>> service_key(const std::string& name) override;
  Status add_comprobante(const ComprobanteRecord& comprobante) override;
  Result<std::optional<ComprobanteRecord>> find_comprobante(const std::string& clave) override;
  Result<std::optional<ComprobanteRecord>> claim_comprobante() override;
  Status finish_comprobante(const std::string& clave, ComprobanteState state,
                            const Bytes& respuesta_xml) override;
  Status requeue_comprobantes(UnixSeconds claimed_before) override;
  Status set_referencia(const std::string& clave, const std::string& referencia) override;
  Result<std::optional<std::string>> clave_with_consecutivo(Environment env,
                                                            const std::string& emisor,
                                                            const std::string& consecutivo,
                                                            const std::string& except) override;
  Result<std::vector<ComprobanteRecord>> claim_callbacks(UnixSeconds now, UnixSeconds lease_until,
                                                         int limit) override;
  Status record_callback_attempt(const std::string& clave, const CallbackAttempt& attempt,
                                 CallbackState state, UnixSeconds next) override;
  Result<std::vector<CallbackAttempt>> callback_attempts(const std::string& clave) override;
  Result<ComprobantePage> list_comprobantes(const ComprobanteQuery& query) override;
  Result<std::vector<ComprobanteRecord>> referencing(const std::string& clave) override;
  Result<std::int64_t> purge_comprobantes(Environment env) override;

  // ToolStore
  Result<std::optional<CustodyRecord>> custody_key(std::int64_t taxpayer_id,
                                                   Environment env) override;
  Status delete_custody_key(std::int64_t taxpayer_id, Environment env,
                            const AuditEvent& audit) override;
  Result<EmittedRecord> emit_numbered(
      const ConsecutivoKey& key,
      const std::function<Result<NumberedEmission>(std::int64_t numero)>& build) override;
  Result<EmittedPage> emitted(std::int64_t taxpayer_id, Environment env,
                              const EmittedFilter& filter, std::int64_t offset,
                              std::int64_t limit) override;
  Result<std::optional<EmittedRecord>> find_emitted(const std::string& clave) override;
  Result<std::optional<EmittedRecord>> receptor_answer(Environment env,
                                                       const std::string& clave) override;
  Result<ClienteRecord> add_cliente(const ClienteRecord& c, std::int64_t max,
                                    const AuditEvent& audit) override;
  Status update_cliente(const ClienteRecord& c, const AuditEvent& audit) override;
  Status delete_cliente(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                        const AuditEvent& audit) override;
  Result<std::optional<ClienteRecord>> find_cliente(std::int64_t taxpayer_id, Environment env,
                                                    std::int64_t id) override;
  Result<ListPage<ClienteRecord>> clientes(std::int64_t taxpayer_id, Environment env,
                                           std::int64_t offset, std::int64_t limit) override;
  Result<ProductoRecord> add_producto(const ProductoRecord& p, std::int64_t max,
                                      const AuditEvent& audit) override;
  Status update_producto(const ProductoRecord& p, const AuditEvent& audit) override;
  Status delete_producto(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                         const AuditEvent& audit) override;
  Result<std::optional<ProductoRecord>> find_producto(std::int64_t taxpayer_id, Environment env,
                                                      std::int64_t id) override;
  Result<ListPage<ProductoRecord>> productos(std::int64_t taxpayer_id, Environment env,
                                             std::int64_t offset, std::int64_t limit) override;

  // MailStore
  Result<std::vector<MailRecord>> claim_mails(UnixSeconds now, UnixSeconds lease_until,
                                              int limit) override;
  Result<std::optional<MailRecord>> find_mail(const std::string& clave) override;
  Status record_mail(const std::string& clave, const std::optional<MailAttempt>& attempt,
                     MailState state, int round_attempts, UnixSeconds next) override;
  Result<std::vector<MailAttempt>> mail_attempts(const std::string& clave) override;
  Status request_mail(const std::string& clave, UnixSeconds now, const AuditEvent& audit) override;

  // OperatorStore
  Result<OperatorRecord> add_operator(const OperatorRecord& record,
                                      const AuditEvent& audit) override;
  Result<std::optional<OperatorRecord>> find_operator(const std::string& username) override;
  Result<std::optional<OperatorRecord>> find_operator_by_id(std::int64_t id) override;
  Result<std::vector<OperatorRecord>> operators() override;
  Status set_operator_disabled(std::int64_t id, bool disabled, const AuditEvent& audit) override;
  Status set_operator_totp(std::int64_t id, const Bytes& sealed) override;
  Result<bool> spend_totp_step(std::int64_t id, std::int64_t step) override;
  Status create_operator_session(const OperatorSessionRecord& session,
                                 const AuditEvent& audit) override;
  Result<std::optional<OperatorSessionRecord>> find_operator_session(
      const std::string& id_hash) override;
  Status touch_operator_session(const std::string& id_hash, UnixSeconds last_seen) override;
  Status delete_operator_session(const std::string& id_hash) override;
  Status purge_operator_sessions(UnixSeconds idle_before) override;
  Status record_operator_event(const AuditEvent& audit) override;
  Result<std::vector<TaxpayerRecord>> search_taxpayers(const std::string& text, int limit) override;
  Result<std::vector<AuthorityCounts>> authority_counts() override;

  // AuditStore
  Result<AuditLog> audit_log() override;

  // Store
  Status ping() override;
  Result<bool> lead() override;

  int schema_version();

  struct Connection;

 private:
  explicit PostgresStore(std::string url);
  template <typename F>
  auto guarded(F&& body) -> decltype(body(std::declval<Connection&>()));
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> connection);

  using Clock = std::chrono::steady_clock;
  // Keeps the newest epoch and the latest send time of the reads so far.
  void remember_epoch(std::int64_t epoch, Clock::time_point sent);
  // The lease reader's loop (started by the first revocation_epoch()).
  void keep_epoch_fresh();

  std::string url_;
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_connections_ = 0;

  // lead(): the session holding the leader's advisory lock (or asking for
  // it), outside the pool so that the lock lives as long as the process.
  std::mutex leader_mu_;
  std::unique_ptr<Connection> leader_;
  bool leading_ = false;

  // The epoch lease: the newest epoch read, and when the latest read was
  // sent. Started lazily: a CLI command that never asks runs no thread.
  std::mutex epoch_mu_;
  std::condition_variable epoch_stop_;
  std::int64_t epoch_ = 0;
  Clock::time_point epoch_sent_ = Clock::time_point::min();
  bool epoch_reader_started_ = false;
  bool stopping_ = false;
  std::thread epoch_reader_;
};

}  // namespace llavero
