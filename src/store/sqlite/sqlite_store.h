// The embedded store: one SQLite file in WAL mode with foreign keys on, a
// busy timeout, and synchronous=FULL so that a committed action survives a
// power cut. Several processes may open the same file; writers take the
// database lock up front (BEGIN IMMEDIATE) so transactions never deadlock.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/store.h"

struct sqlite3;

namespace llavero {

class SqliteStore final : public Store {
 public:
  // Opens the database at `path` and applies pending migrations. With
  // `create` false a missing file is an error rather than a new database.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, bool create);
  ~SqliteStore() override;

  Result<TaxpayerRecord> add_taxpayer(const NewTaxpayer& taxpayer, const AuditEvent& audit) override;
  Result<std::optional<TaxpayerRecord>> find_taxpayer(const std::string& identification) override;
  Status add_authorities(const std::vector<NewAuthority>& authorities,
                         const AuditEvent& audit) override;
  Result<std::vector<AuthorityRecord>> authorities() override;
  Result<std::int64_t> reserve_serial(const SerialReservation& reservation) override;
  Result<std::optional<CertificateRecord>> activate_certificate(const Activation& activation,
                                                                const AuditEvent& audit) override;
  Result<CertificateRecord> revoke_active(std::int64_t taxpayer_id, Environment env,
                                          const std::optional<std::string>& reason,
                                          const AuditEvent& audit) override;
  Result<std::vector<CertificateRecord>> certificates_of(std::int64_t taxpayer_id) override;
  Result<AuditLog> audit_log() override;

  int schema_version();

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  template <typename F>
  auto guarded(F&& body) -> decltype(body());

  std::mutex mu_;  // one connection, one caller at a time
  sqlite3* db_;
};

}  // namespace llavero
