// The SQLite store: migrations, the one-active-key rule held by the database
// itself, serial reservations, and the hash-chained audit log.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "store/audit.h"
#include "store/migrations.h"
#include "testing.h"

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
  EXPECT_EQ(inst->store->schema_version(),
            static_cast<int>(migrations(SqlDialect::kSqlite).size()));
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
  auto dup = inst->store->add_taxpayer(NewTaxpayer{"106470958", "01", "X", "Y", ""},
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
      inst->store->activate_certificate({a, false, Bytes{1}, "x", "y"}, {"t", "a", "s", "d"}).ok());
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
      inst->store->activate_certificate({a, false, Bytes{1}, "x", "y"}, {"t", "a", "s", "d"});
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());
  auto second =
      inst->store->activate_certificate({b, false, Bytes{2}, "x", "y"}, {"t", "a", "s", "d"});
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(second->has_value());
  EXPECT_EQ((*second)->serial_hex, "AA");
  EXPECT_EQ((*second)->revocation_reason, "superseded");
  auto again =
      inst->store->activate_certificate({b, false, Bytes{2}, "x", "y"}, {"t", "a", "s", "d"});
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
  AuditRow c = a;
  c.seq = 2;
  EXPECT_NE(audit_row_hash(a), audit_row_hash(c));
}

}  // namespace
}  // namespace llavero
