// The SQLite store: migrations, the one-active-key rule held by the database
// itself, serial reservations, and the hash-chained audit log.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>

#include "store/audit.h"
#include "store/migrations.h"
#include "testing.h"
#include "util/clock.h"

namespace llavero {
namespace {

using testing::make_installation;

// Runs SQL on the database file behind the store's back, as an operator
// (or an attacker) with the sqlite3 CLI would. Returns SQLite's message.
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string out = rc == SQLITE_OK ? "" : (message ? message : "error");
  sqlite3_free(message);
  sqlite3_close(db);
  return out;
}

std::int64_t count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  std::int64_t n = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

TEST(SqliteStore, MigrationsApplyOnceAndReopenKeepsData) {
  auto inst = make_installation();
  // The highest number: branches take numbers apart, so there may be gaps.
  int highest = 0;
  for (const Migration& m : migrations(SqlDialect::kSqlite)) highest = std::max(highest, m.version);
  EXPECT_EQ(inst->store->schema_version(), highest);
  inst->store.reset();
  auto again = SqliteStore::open(inst->db_path(), false);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->find_taxpayer("106470958")->has_value());
  EXPECT_EQ(count(inst->db_path(), "SELECT COUNT(*) FROM schema_migrations"),
            static_cast<std::int64_t>(migrations(SqlDialect::kSqlite).size()));
}

TEST(SqliteStore, OpenWithoutCreateRefusesAMissingFile) {
  testing::TempDir dir;
  auto store = SqliteStore::open((dir.path() / "nada.db").string(), false);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "almacen_no_disponible");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "nada.db"));
}

TEST(SqliteStore, PragmasForDurability) {
  auto inst = make_installation();
  EXPECT_EQ(
      count(inst->db_path(), "SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode='wal'"),
      1);
}

TEST(SqliteStore, DuplicateTaxpayerIsRefusedAndNotAudited) {
  auto inst = make_installation();
  const auto rows = count(inst->db_path(), "SELECT COUNT(*) FROM audit_log");
  auto dup = inst->store->add_taxpayer(NewTaxpayer{"106470958", IdType::kFisica, "X", "Y", ""},
                                       AuditEvent{"t", "a", "s", "d"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "contribuyente_duplicado");
  EXPECT_EQ(count(inst->db_path(), "SELECT COUNT(*) FROM audit_log"), rows);
}

TEST(SqliteStore, TheDatabaseItselfAllowsOneActiveKeyPerTaxpayerAndEnvironment) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  std::int64_t a =
      *inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kPruebas});
  std::int64_t b =
      *inst->store->reserve_serial({authorities[1].id, "BB", taxpayer.id, Environment::kPruebas});
  ASSERT_TRUE(
      inst->store->activate_certificate({a, false, Bytes{1}, 1000, 2000}, {"t", "a", "s", "d"})
          .ok());
  // Going around the store: the unique partial index refuses a second active row.
  std::string message = raw_sql(
      inst->db_path(),
      fmt::format("UPDATE certificates SET status='active', certificate_der=x'01' WHERE id={}", b));
  EXPECT_NE(message.find("UNIQUE"), std::string::npos) << message;
  EXPECT_EQ(count(inst->db_path(), "SELECT COUNT(*) FROM certificates WHERE status='active'"), 1);
}

TEST(SqliteStore, ActivationRevokesThePreviousKeyAsSuperseded) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  std::int64_t a =
      *inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kPruebas});
  std::int64_t b =
      *inst->store->reserve_serial({authorities[1].id, "BB", taxpayer.id, Environment::kPruebas});
  auto first =
      inst->store->activate_certificate({a, false, Bytes{1}, 1000, 2000}, {"t", "a", "s", "d"});
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());
  auto second =
      inst->store->activate_certificate({b, false, Bytes{2}, 1000, 2000}, {"t", "a", "s", "d"});
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->serial_hex, "AA");
  EXPECT_EQ((*second)->revocation_reason, RevocationReason::kSuperseded);
  auto again =
      inst->store->activate_certificate({b, false, Bytes{2}, 1000, 2000}, {"t", "a", "s", "d"});
  EXPECT_FALSE(again.ok());
}

TEST(SqliteStore, ASerialIsReservedOncePerIssuer) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  ASSERT_TRUE(
      inst->store->reserve_serial({authorities[1].id, "ABC", taxpayer.id, Environment::kPruebas})
          .ok());
  auto dup =
      inst->store->reserve_serial({authorities[1].id, "ABC", taxpayer.id, Environment::kPruebas});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "serial_duplicado");
  // Another issuer may hold the same number.
  EXPECT_TRUE(
      inst->store->reserve_serial({authorities[2].id, "ABC", taxpayer.id, Environment::kPruebas})
          .ok());
}

// The store looks before it reserves; the database refuses a duplicate by
// itself too, for two processes that both looked before either inserted.
TEST(SqliteStore, TheDatabaseItselfRefusesADuplicateSerial) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  ASSERT_TRUE(
      inst->store->reserve_serial({authorities[1].id, "ABC", taxpayer.id, Environment::kPruebas})
          .ok());
  EXPECT_NE(raw_sql(inst->db_path(),
                    "INSERT INTO certificates (authority_id, serial_hex, taxpayer_id, environment, "
                    "status, created_at) SELECT authority_id, serial_hex, taxpayer_id, "
                    "environment, status, created_at FROM certificates WHERE serial_hex = 'ABC'")
                .find("UNIQUE"),
            std::string::npos);
}

TEST(SqliteStore, RevokingWithNoActiveKeyChangesNothing) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  const auto rows = count(inst->db_path(), "SELECT COUNT(*) FROM audit_log");
  auto revoked = inst->store->revoke_active(taxpayer.id, Environment::kPruebas, std::nullopt,
                                            {"t", "llave.revocar", "s", "d"});
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, "sin_llave_activa");
  EXPECT_EQ(count(inst->db_path(), "SELECT COUNT(*) FROM audit_log"), rows);
}

// Edits a value behind the store's back with the CHECK constraints off, as
// someone with the sqlite3 CLI could; the store must refuse to read it.
void corrupt(const std::string& path, const std::string& sql) {
  ASSERT_EQ(raw_sql(path, "PRAGMA ignore_check_constraints = ON; " + sql), "");
}

template <typename T>
void expect_corrupt(const Result<T>& read, std::string_view column, std::string_view value) {
  ASSERT_FALSE(read.ok()) << column;
  EXPECT_EQ(read.error().code, "almacen_corrupto");
  EXPECT_NE(read.error().message.find(column), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find(value), std::string::npos) << read.error().message;
}

TEST(SqliteStore, AnUnknownEnvironmentIsAnErrorNotPruebas) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  ASSERT_TRUE(
      inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kProduccion})
          .ok());
  ASSERT_TRUE(inst->store
                  ->set_api_credential({taxpayer.id, Environment::kProduccion, "u@prod", "hash"},
                                       {"t", "a", "s", "d"})
                  .ok());
  // "stag" is a spelling people may type (parse_environment takes it), never
  // one the store writes.
  corrupt(inst->db_path(), "UPDATE certificates SET environment = 'stag'");
  corrupt(inst->db_path(), "UPDATE api_credentials SET environment = 'staging'");
  expect_corrupt(inst->store->find_certificate(authorities[1].id, "AA"), "certificates.environment",
                 "stag");
  expect_corrupt(inst->store->find_api_credential("u@prod"), "api_credentials.environment",
                 "staging");
  corrupt(inst->db_path(), "UPDATE authorities SET environment = 'PRUEBAS' WHERE id = 1");
  expect_corrupt(inst->store->authorities(), "authorities.environment", "PRUEBAS");
}

TEST(SqliteStore, UnknownKindsReasonsStatesAndTypesAreErrors) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  ASSERT_TRUE(
      inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kPruebas})
          .ok());
  ComprobanteRecord comprobante;
  comprobante.clave = "50601012600010647095800100001010000000001100000001";
  comprobante.environment = Environment::kPruebas;
  comprobante.xml = Bytes{'<', 'x', '/', '>'};
  ASSERT_TRUE(inst->store->add_comprobante(comprobante).ok());

  corrupt(inst->db_path(), "UPDATE certificates SET revocation_reason = 'unspecified'");
  expect_corrupt(inst->store->find_certificate(authorities[1].id, "AA"),
                 "certificates.revocation_reason", "unspecified");
  corrupt(inst->db_path(),
          "UPDATE certificates SET revocation_reason = NULL, status = 'suspended'");
  expect_corrupt(inst->store->find_certificate(authorities[1].id, "AA"), "certificates.status",
                 "suspended");
  corrupt(inst->db_path(),
          "UPDATE taxpayers SET id_type = '05' WHERE identification = '106470958'");
  expect_corrupt(inst->store->find_taxpayer("106470958"), "taxpayers.id_type", "05");
  corrupt(inst->db_path(), "UPDATE comprobantes SET estado = 'perdido'");
  expect_corrupt(inst->store->find_comprobante(comprobante.clave), "comprobantes.estado",
                 "perdido");
  corrupt(inst->db_path(), "UPDATE authorities SET kind = 'intermedia' WHERE id = 2");
  expect_corrupt(inst->store->authorities(), "authorities.kind", "intermedia");
}

TEST(SqliteStore, TimesAreStoredAsTheyAlwaysWere) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  std::int64_t a =
      *inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kPruebas});
  const UnixSeconds not_before = 1'764'633'600;  // 2025-12-02T00:00:00Z
  ASSERT_TRUE(inst->store
                  ->activate_certificate({a, false, Bytes{1}, not_before, not_before + 86400},
                                         {"t", "a", "s", "d"})
                  .ok());
  EXPECT_EQ(count(inst->db_path(),
                  "SELECT COUNT(*) FROM certificates WHERE not_before = '2025-12-02T00:00:00Z' "
                  "AND not_after = '2025-12-03T00:00:00Z'"),
            1);
  auto found = inst->store->find_certificate(authorities[1].id, "AA");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->not_before, not_before);
  EXPECT_EQ((*found)->not_after, not_before + 86400);
  EXPECT_FALSE((*found)->revoked_at.has_value());
  auto revoked = inst->store->revoke_active(taxpayer.id, Environment::kPruebas,
                                            RevocationReason::kKeyCompromise, {"t", "a", "s", "d"});
  ASSERT_TRUE(revoked.ok());
  ASSERT_TRUE(revoked->revoked_at.has_value());
  EXPECT_LE(std::abs(*revoked->revoked_at - now_seconds()), 60);
  auto entries = inst->store->revoked_certificates(authorities[1].id, not_before);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].revoked_at, *revoked->revoked_at);
  EXPECT_EQ((*entries)[0].reason, RevocationReason::kKeyCompromise);
  // Expired at `now`: no longer on the CRL.
  EXPECT_TRUE(inst->store->revoked_certificates(authorities[1].id, not_before + 86401)->empty());
}

TEST(SqliteStore, ATimeThatDoesNotParseIsAnError) {
  auto inst = make_installation();
  corrupt(inst->db_path(),
          "UPDATE taxpayers SET created_at = '2025-12-02 00:00' WHERE identification = "
          "'106470958'");
  expect_corrupt(inst->store->find_taxpayer("106470958"), "taxpayers.created_at",
                 "2025-12-02 00:00");
}

TEST(AuditLog, IntactChainVerifies) {
  auto inst = make_installation();
  auto check = verify_audit_chain(*inst->store->audit_log());
  EXPECT_FALSE(check.first_bad_seq.has_value()) << check.problem;
  EXPECT_EQ(check.rows, 3);  // init + two taxpayers
  EXPECT_EQ(check.head_hash.size(), 64u);
}

TEST(AuditLog, TriggersForbidEditsThroughSql) {
  auto inst = make_installation();
  EXPECT_NE(
      raw_sql(inst->db_path(), "UPDATE audit_log SET detail='x' WHERE seq=2").find("append-only"),
      std::string::npos);
  EXPECT_NE(raw_sql(inst->db_path(), "DELETE FROM audit_log WHERE seq=2").find("append-only"),
            std::string::npos);
}

TEST(AuditLog, ChangedRowIsNamed) {
  auto inst = make_installation();
  ASSERT_EQ(raw_sql(inst->db_path(),
                    "DROP TRIGGER audit_log_no_update; "
                    "UPDATE audit_log SET detail='otro' WHERE seq=2"),
            "");
  auto check = verify_audit_chain(*inst->store->audit_log());
  ASSERT_TRUE(check.first_bad_seq.has_value());
  EXPECT_EQ(*check.first_bad_seq, 2);
  EXPECT_NE(check.problem.find("modificada"), std::string::npos);
}

TEST(AuditLog, DeletedMiddleRowIsNamed) {
  auto inst = make_installation();
  ASSERT_EQ(raw_sql(inst->db_path(),
                    "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq=2"),
            "");
  auto check = verify_audit_chain(*inst->store->audit_log());
  ASSERT_TRUE(check.first_bad_seq.has_value());
  EXPECT_EQ(*check.first_bad_seq, 2);
}

TEST(AuditLog, DeletedLastRowIsNamed) {
  auto inst = make_installation();
  ASSERT_EQ(raw_sql(inst->db_path(),
                    "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq=3"),
            "");
  auto check = verify_audit_chain(*inst->store->audit_log());
  ASSERT_TRUE(check.first_bad_seq.has_value());
  EXPECT_EQ(*check.first_bad_seq, 3);
}

TEST(AuditLog, HashCoversEveryFieldWithoutAmbiguity) {
  AuditRow a{1, "t", "actor", "ab", "c", "d", "p", ""};
  AuditRow b{1, "t", "actor", "a", "bc", "d", "p", ""};
  EXPECT_NE(audit_row_hash(a), audit_row_hash(b));
}

// Each field of a row on its own: a hash that leaves one out lets that field
// be rewritten unnoticed (a row backdated, renumbered, re-attributed).
TEST(AuditLog, ChangingAnyOneFieldChangesTheHash) {
  const AuditRow row{
      7,        "2025-03-04T05:06:07Z",         "portal", "llave.revocar", "106470958",
      "motivo", std::string(kAuditGenesisHash), ""};
  const std::string original = audit_row_hash(row);
  const std::vector<std::pair<const char*, void (*)(AuditRow&)>> changes = {
      {"seq", [](AuditRow& r) { r.seq = 8; }},
      {"at", [](AuditRow& r) { r.at = "1999-03-04T05:06:07Z"; }},
      {"actor", [](AuditRow& r) { r.actor = "cli"; }},
      {"action", [](AuditRow& r) { r.action = "llave.generar"; }},
      {"subject", [](AuditRow& r) { r.subject = "3101522899"; }},
      {"detail", [](AuditRow& r) { r.detail = "otro"; }},
      {"prev_hash", [](AuditRow& r) { r.prev_hash[0] = '1'; }},
  };
  for (const auto& [field, change] : changes) {
    AuditRow changed = row;
    change(changed);
    EXPECT_NE(audit_row_hash(changed), original) << "el hash no cubre " << field;
  }
}

// The same through the database, as `auditoria verificar` reads it: a row
// rewritten in place (triggers dropped), one field at a time, is named.
TEST(AuditLog, ARowWithAnyFieldRewrittenIsNamed) {
  const std::vector<std::string> updates = {
      "at = '1999-01-01T00:00:00Z'", "actor = 'otro'",  "action = 'otra'",
      "subject = '999999999'",       "detail = 'otro'",
  };
  for (const std::string& update : updates) {
    auto inst = make_installation();
    ASSERT_EQ(raw_sql(inst->db_path(), "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET " +
                                           update + " WHERE seq=2"),
              "");
    auto check = verify_audit_chain(*inst->store->audit_log());
    ASSERT_TRUE(check.first_bad_seq.has_value()) << update << ": la bitácora parece íntegra";
    EXPECT_EQ(*check.first_bad_seq, 2) << update;
  }
}

}  // namespace
}  // namespace llavero
