// The store on both backends (SQLite and PostgreSQL): migrations, the
// one-active-key rule held by the database itself, serial reservations, the
// hash-chained audit log, and what many writers at once leave behind.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "store/audit.h"
#include "store/migrations.h"
#include "store/postgres/postgres_store.h"
#include "testing.h"
#include "util/clock.h"

namespace llavero {
namespace {

using testing::Backend;
using testing::make_installation;
using testing::raw_sql;
using testing::sql_count;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

class Stores : public testing::OnBothBackends {
 protected:
  SqlDialect dialect() const { return postgres() ? SqlDialect::kPostgres : SqlDialect::kSqlite; }
  // A byte string literal of the backend's SQL.
  std::string bytes_literal(std::string_view hex) const {
    return postgres() ? fmt::format("decode('{}', 'hex')", hex) : fmt::format("x'{}'", hex);
  }
  std::string drop_trigger(std::string_view name) const {
    return postgres() ? fmt::format("DROP TRIGGER {} ON audit_log", name)
                      : fmt::format("DROP TRIGGER {}", name);
  }
};
LLAVERO_ON_BOTH_BACKENDS(Stores);

TEST_P(Stores, MigrationsApplyOnceAndReopenKeepsData) {
  auto inst = install();
  // Every migration once, up to the highest number: branches take numbers
  // apart, so there may be gaps. Both dialects have the same numbers.
  std::vector<int> versions;
  for (const Migration& m : migrations(dialect())) versions.push_back(m.version);
  std::vector<int> sqlite_versions;
  for (const Migration& m : migrations(SqlDialect::kSqlite)) sqlite_versions.push_back(m.version);
  EXPECT_EQ(versions, sqlite_versions);
  const auto expected = static_cast<std::int64_t>(versions.size());
  const std::int64_t highest = *std::max_element(versions.begin(), versions.end());
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM schema_migrations"), expected);
  inst->store.reset();
  auto again = inst->open_store();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE((*again)->find_taxpayer("106470958")->has_value());
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM schema_migrations"), expected);
  EXPECT_EQ(sql_count(*inst, "SELECT MAX(version) FROM schema_migrations"), highest);
}

TEST(SqliteStore, OpenWithoutCreateRefusesAMissingFile) {
  testing::TempDir dir;
  auto store = SqliteStore::open((dir.path() / "nada.db").string(), false);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "almacen_no_disponible");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "nada.db"));
}

TEST(PostgresStore, ADatabaseThatIsNotThereIsRefused) {
  LLAVERO_REQUIRE_BACKEND(Backend::kPostgres);
  auto inst = make_installation(Backend::kPostgres);
  std::string url = inst->postgres_url;
  url.replace(url.find("prueba_"), 7, "no_existe_");
  auto store = PostgresStore::open(url);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, "almacen_no_disponible");
  EXPECT_NE(store.error().message.find("no_existe_"), std::string::npos) << store.error().message;
}

TEST(PostgresStore, OnlyPostgresUrlsSelectIt) {
  EXPECT_TRUE(is_postgres_url("postgresql://llavero@db.example/llavero"));
  EXPECT_TRUE(is_postgres_url("postgres:///llavero?host=/run/postgresql"));
  EXPECT_FALSE(is_postgres_url("llavero.db"));
  EXPECT_FALSE(is_postgres_url("/var/lib/llavero/postgresql://x"));
  EXPECT_FALSE(is_postgres_url("mysql://x"));
}

TEST(SqliteStore, PragmasForDurability) {
  auto inst = make_installation();
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM pragma_journal_mode WHERE journal_mode='wal'"),
            1);
}

TEST_P(Stores, DuplicateTaxpayerIsRefusedAndNotAudited) {
  auto inst = install();
  const auto rows = sql_count(*inst, "SELECT COUNT(*) FROM audit_log");
  auto dup = inst->store->add_taxpayer(NewTaxpayer{"106470958", IdType::kFisica, "X", "Y", ""},
                                       AuditEvent{"t", "a", "s", "d"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, "contribuyente_duplicado");
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM audit_log"), rows);
}

TEST_P(Stores, TheDatabaseItselfAllowsOneActiveKeyPerTaxpayerAndEnvironment) {
  auto inst = install();
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
  std::string message =
      raw_sql(*inst, fmt::format("UPDATE certificates SET status='active', certificate_der={} "
                                 "WHERE id={}",
                                 bytes_literal("01"), b));
  EXPECT_NE(lower(message).find("unique"), std::string::npos) << message;
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM certificates WHERE status='active'"), 1);
  // And one pending key.
  message = raw_sql(*inst, fmt::format("UPDATE certificates SET status='pending', "
                                       "certificate_der={}, pending_until=not_before WHERE id={}",
                                       bytes_literal("01"), a));
  EXPECT_EQ(message, "");
  message = raw_sql(*inst, fmt::format("UPDATE certificates SET status='pending', "
                                       "certificate_der={}, pending_until=created_at WHERE id={}",
                                       bytes_literal("01"), b));
  EXPECT_NE(lower(message).find("unique"), std::string::npos) << message;
}

TEST_P(Stores, ActivationRevokesThePreviousKeyAsSuperseded) {
  auto inst = install();
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
  EXPECT_EQ(again.error().code, "certificado_no_reservado");
  EXPECT_EQ(*inst->store->revocation_epoch(), 1);
}

TEST_P(Stores, ASerialIsReservedOncePerIssuer) {
  auto inst = install();
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
TEST_P(Stores, TheDatabaseItselfRefusesADuplicateSerial) {
  auto inst = install();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  ASSERT_TRUE(
      inst->store->reserve_serial({authorities[1].id, "ABC", taxpayer.id, Environment::kPruebas})
          .ok());
  const std::string message =
      raw_sql(*inst,
              "INSERT INTO certificates (authority_id, serial_hex, taxpayer_id, environment, "
              "status, created_at) SELECT authority_id, serial_hex, taxpayer_id, "
              "environment, status, created_at FROM certificates WHERE serial_hex = 'ABC'");
  EXPECT_NE(lower(message).find("unique"), std::string::npos) << message;
}

TEST_P(Stores, RevokingWithNoActiveKeyChangesNothing) {
  auto inst = install();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  const auto rows = sql_count(*inst, "SELECT COUNT(*) FROM audit_log");
  auto revoked = inst->store->revoke_active(taxpayer.id, Environment::kPruebas, std::nullopt,
                                            {"t", "llave.revocar", "s", "d"});
  ASSERT_FALSE(revoked.ok());
  EXPECT_EQ(revoked.error().code, "sin_llave_activa");
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM audit_log"), rows);
}

// A key in custody goes away in the very transaction that revokes its
// certificate: the database's trigger, not the code, sees to it.
TEST_P(Stores, RevokingACertificateDropsItsKeyInCustody) {
  auto inst = install();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  std::int64_t a =
      *inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kPruebas});
  Activation activation{a, true, Bytes{1}, 1000, 2000};
  activation.custody_wrapped_key = Bytes{9, 9, 9};
  ASSERT_TRUE(inst->store->activate_certificate(activation, {"t", "a", "s", "d"}).ok());
  auto kept = inst->store->custody_key(taxpayer.id, Environment::kPruebas);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->wrapped_key, (Bytes{9, 9, 9}));
  ASSERT_EQ(raw_sql(*inst, "UPDATE certificates SET status = 'revoked', revoked_at = created_at"),
            "");
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM llaves_custodia"), 0);
}

// Edits a value behind the store's back with the CHECK constraints off, as
// someone with the sqlite3 CLI (or psql, dropping them) could; the store must
// refuse to read it.
void corrupt(const testing::Installation& inst, const std::string& sql) {
  if (inst.backend == Backend::kPostgres) {
    ASSERT_EQ(raw_sql(inst,
                      "DO $$ DECLARE r record; BEGIN FOR r IN SELECT conrelid::regclass AS t, "
                      "conname FROM pg_constraint WHERE contype = 'c' AND connamespace = "
                      "'public'::regnamespace LOOP EXECUTE format('ALTER TABLE %s DROP "
                      "CONSTRAINT %I', r.t, r.conname); END LOOP; END $$; " +
                          sql),
              "");
    return;
  }
  ASSERT_EQ(raw_sql(inst, "PRAGMA ignore_check_constraints = ON; " + sql), "");
}

template <typename T>
void expect_corrupt(const Result<T>& read, std::string_view column, std::string_view value) {
  ASSERT_FALSE(read.ok()) << column;
  EXPECT_EQ(read.error().code, "almacen_corrupto");
  EXPECT_NE(read.error().message.find(column), std::string::npos) << read.error().message;
  EXPECT_NE(read.error().message.find(value), std::string::npos) << read.error().message;
}

TEST_P(Stores, AnUnknownEnvironmentIsAnErrorNotPruebas) {
  auto inst = install();
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
  corrupt(*inst, "UPDATE certificates SET environment = 'stag'");
  corrupt(*inst, "UPDATE api_credentials SET environment = 'staging'");
  expect_corrupt(inst->store->find_certificate(authorities[1].id, "AA"), "certificates.environment",
                 "stag");
  expect_corrupt(inst->store->find_api_credential("u@prod"), "api_credentials.environment",
                 "staging");
  corrupt(*inst, "UPDATE authorities SET environment = 'PRUEBAS' WHERE id = 1");
  expect_corrupt(inst->store->authorities(), "authorities.environment", "PRUEBAS");
}

TEST_P(Stores, UnknownKindsReasonsStatesAndTypesAreErrors) {
  auto inst = install();
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

  corrupt(*inst, "UPDATE certificates SET revocation_reason = 'unspecified'");
  expect_corrupt(inst->store->find_certificate(authorities[1].id, "AA"),
                 "certificates.revocation_reason", "unspecified");
  corrupt(*inst, "UPDATE certificates SET revocation_reason = NULL, status = 'suspended'");
  expect_corrupt(inst->store->find_certificate(authorities[1].id, "AA"), "certificates.status",
                 "suspended");
  corrupt(*inst, "UPDATE taxpayers SET id_type = '05' WHERE identification = '106470958'");
  expect_corrupt(inst->store->find_taxpayer("106470958"), "taxpayers.id_type", "05");
  corrupt(*inst, "UPDATE comprobantes SET estado = 'perdido'");
  expect_corrupt(inst->store->find_comprobante(comprobante.clave), "comprobantes.estado",
                 "perdido");
  corrupt(*inst, "UPDATE authorities SET kind = 'intermedia' WHERE id = 2");
  expect_corrupt(inst->store->authorities(), "authorities.kind", "intermedia");
}

TEST_P(Stores, TimesAreStoredAsTheyAlwaysWere) {
  auto inst = install();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  std::int64_t a =
      *inst->store->reserve_serial({authorities[1].id, "AA", taxpayer.id, Environment::kPruebas});
  const UnixSeconds not_before = 1'764'633'600;  // 2025-12-02T00:00:00Z
  ASSERT_TRUE(inst->store
                  ->activate_certificate({a, false, Bytes{1}, not_before, not_before + 86400},
                                         {"t", "a", "s", "d"})
                  .ok());
  EXPECT_EQ(sql_count(*inst,
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

// SQLite keeps times as text, so a time that does not parse can be written
// behind the store's back and must be refused on reading; PostgreSQL's
// TIMESTAMPTZ column refuses it on writing.
TEST_P(Stores, ATimeThatDoesNotParseIsAnError) {
  auto inst = install();
  const std::string update =
      "UPDATE taxpayers SET created_at = '2025-12-02 00:00 mañana' WHERE identification = "
      "'106470958'";
  if (postgres()) {
    EXPECT_NE(raw_sql(*inst, update).find("invalid input syntax"), std::string::npos);
    EXPECT_TRUE(inst->store->find_taxpayer("106470958").ok());
    return;
  }
  corrupt(*inst, update);
  expect_corrupt(inst->store->find_taxpayer("106470958"), "taxpayers.created_at",
                 "2025-12-02 00:00 mañana");
}

TEST_P(Stores, BytesComeBackAsTheyWent) {
  auto inst = install();
  ComprobanteRecord c;
  c.clave = "50601012600010647095800100001010000000001100000002";
  c.environment = Environment::kPruebas;
  c.emisor_numero = "106470958";
  for (int i = 0; i < 256; ++i) c.xml.push_back(static_cast<std::uint8_t>(i));
  ASSERT_TRUE(inst->store->add_comprobante(c).ok());
  auto found = inst->store->find_comprobante(c.clave);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->xml, c.xml);
  EXPECT_TRUE((*found)->respuesta_xml.empty());
  EXPECT_FALSE((*found)->receptor_numero.has_value());
}

TEST_P(Stores, ADuplicateClaveOrConsecutivoIsNamed) {
  auto inst = install();
  ComprobanteRecord c;
  c.clave = "50601012600010647095800100001010000000001100000003";
  c.environment = Environment::kPruebas;
  c.emisor_numero = "106470958";
  c.consecutivo = "00100001010000000001";
  c.xml = Bytes{'<', 'x', '/', '>'};
  ASSERT_TRUE(inst->store->add_comprobante(c).ok());
  auto again = inst->store->add_comprobante(c);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "clave_duplicada");
  ComprobanteRecord other = c;
  other.clave = "50601012600010647095800100001010000000001100000004";
  auto reused = inst->store->add_comprobante(other);
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().code, "consecutivo_usado");
  EXPECT_NE(reused.error().message.find(c.clave), std::string::npos);
}

// --- many writers at once: each thread has its own store, as each server
// process would.

std::vector<std::unique_ptr<llavero::Store>> more_stores(const testing::Installation& inst, int n) {
  std::vector<std::unique_ptr<llavero::Store>> out;
  for (int i = 0; i < n; ++i) {
    auto store = inst.open_store();
    if (!store) throw std::runtime_error(store.error().message);
    out.push_back(std::move(*store));
  }
  return out;
}

// Issue 13: a revocation through one server's store is seen by every other
// server's store from the moment it returns. On PostgreSQL the other store
// answers the epoch from its lease, so this holds only because a revocation
// outlives the leases before returning.
TEST_P(Stores, ARevocationThroughAnotherStoreMovesTheEpochAtOnce) {
  auto inst = install();
  auto other = std::move(more_stores(*inst, 1)[0]);
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  const std::int64_t issuer = (*inst->store->authorities())[1].id;
  const std::int64_t before = *inst->store->revocation_epoch();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(*inst->store->revocation_epoch(), before + std::max(i - 1, 0));
    std::int64_t id =
        *other->reserve_serial({issuer, fmt::format("E{}", i), taxpayer.id, Environment::kPruebas});
    ASSERT_TRUE(other->activate_certificate({id, false, Bytes{1}, 1000, 2000}, {"t", "a", "s", "d"})
                    .ok());  // from the second on, the previous key is superseded
    EXPECT_EQ(*inst->store->revocation_epoch(), before + i) << "activación " << i;
  }
  ASSERT_TRUE(other
                  ->revoke_active(taxpayer.id, Environment::kPruebas,
                                  RevocationReason::kKeyCompromise, {"t", "a", "s", "d"})
                  .ok());
  EXPECT_EQ(*inst->store->revocation_epoch(), before + 3);
  // A revocation that found nothing to revoke moves nothing.
  EXPECT_FALSE(
      other->revoke_active(taxpayer.id, Environment::kPruebas, std::nullopt, {"t", "a", "s", "d"})
          .ok());
  EXPECT_EQ(*inst->store->revocation_epoch(), before + 3);
}

TEST_P(Stores, ManyWritersKeepTheAuditChainOneLine) {
  auto inst = install();
  constexpr int kWriters = 6, kEach = 20;
  auto stores = more_stores(*inst, kWriters);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i)
        if (!stores[static_cast<std::size_t>(w)]
                 ->record_login_event({"t", "login", fmt::format("{}-{}", w, i), ""})
                 .ok())
          ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  auto check = verify_audit_chain(*inst->store->audit_log());
  EXPECT_FALSE(check.first_bad_seq.has_value()) << check.problem;
  EXPECT_EQ(check.rows, 3 + kWriters * kEach);
}

TEST_P(Stores, ManyWorkersNeverClaimOneComprobanteTwice) {
  auto inst = install();
  constexpr int kComprobantes = 60, kWorkers = 4;
  for (int i = 0; i < kComprobantes; ++i) {
    ComprobanteRecord c;
    c.clave = fmt::format("506010126000106470958001000010100000{:05d}1100000001", i);
    c.environment = Environment::kPruebas;
    c.emisor_numero = "106470958";
    c.xml = Bytes{'<', 'x', '/', '>'};
    ASSERT_TRUE(inst->store->add_comprobante(c).ok());
  }
  auto stores = more_stores(*inst, kWorkers);
  std::mutex mu;
  std::vector<std::string> claimed;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w)
    threads.emplace_back([&, w] {
      for (;;) {
        auto next = stores[static_cast<std::size_t>(w)]->claim_comprobante();
        if (!next.ok() || !next->has_value()) return;
        EXPECT_EQ((*next)->state, ComprobanteState::kProcesando);
        std::lock_guard lock(mu);
        claimed.push_back((*next)->clave);
      }
    });
  for (auto& t : threads) t.join();
  // A claim may come back empty while others hold rows; whatever is left is
  // claimed afterwards, and nothing twice.
  while (true) {
    auto next = inst->store->claim_comprobante();
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) break;
    claimed.push_back((*next)->clave);
  }
  EXPECT_EQ(claimed.size(), static_cast<std::size_t>(kComprobantes));
  EXPECT_EQ(std::set<std::string>(claimed.begin(), claimed.end()).size(), claimed.size());
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM comprobantes WHERE estado = 'procesando'"),
            kComprobantes);
}

TEST_P(Stores, ConcurrentActivationsLeaveOneActiveKey) {
  auto inst = install();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  constexpr int kWriters = 5;
  auto stores = more_stores(*inst, kWriters);
  std::vector<std::int64_t> ids;
  for (int i = 0; i < kWriters; ++i)
    ids.push_back(*inst->store->reserve_serial(
        {authorities[1].id, fmt::format("C{}", i), taxpayer.id, Environment::kPruebas}));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      auto done = stores[static_cast<std::size_t>(i)]->activate_certificate(
          {ids[static_cast<std::size_t>(i)], false, Bytes{1}, 1000, 2000}, {"t", "a", "s", "d"});
      if (!done.ok()) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM certificates WHERE status = 'active'"), 1);
  EXPECT_EQ(sql_count(*inst,
                      "SELECT COUNT(*) FROM certificates WHERE status = 'revoked' AND "
                      "revocation_reason = 'superseded'"),
            kWriters - 1);
  EXPECT_EQ(*inst->store->revocation_epoch(), kWriters - 1);
}

TEST_P(Stores, CrlNumbersOnlyGrowAcrossStores) {
  auto inst = install();
  auto authorities = *inst->store->authorities();
  auto other = more_stores(*inst, 1);
  std::int64_t last = 0;
  for (int i = 0; i < 6; ++i) {
    llavero::Store& store = i % 2 ? *other[0] : *inst->store;
    auto number = store.next_crl_number(authorities[1].id);
    ASSERT_TRUE(number.ok());
    EXPECT_GT(*number, last);
    last = *number;
  }
}

// A comprobante as the reception stores it, of the demo emisor.
ComprobanteRecord received(std::string clave) {
  ComprobanteRecord c;
  c.clave = std::move(clave);
  c.environment = Environment::kPruebas;
  c.emisor_numero = "106470958";
  c.xml = Bytes{'<', 'x', '/', '>'};
  return c;
}

TEST_P(Stores, OneLeaderAtATimeAndTheNextTakesOverWhenItStops) {
  auto inst = install();
  auto others = more_stores(*inst, 2);
  auto first = inst->store->lead();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(*first);
  EXPECT_TRUE(*inst->store->lead());  // asking again keeps it
  if (!postgres()) return;            // SQLite: the one process always leads
  EXPECT_FALSE(*others[0]->lead());
  EXPECT_FALSE(*others[1]->lead());
  inst->store.reset();  // the leader stops: its session, and the lock, end
  // The server releases the lock when the session's backend has exited,
  // a moment after the client hung up: ask again for a while (bounded).
  bool took_over = false;
  for (int i = 0; i < 200 && !took_over; ++i) {
    took_over = *others[1]->lead();
    if (!took_over) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_TRUE(took_over);
  EXPECT_FALSE(*others[0]->lead());
}

TEST_P(Stores, ADueCallbackOrCorreoIsClaimedByOneServerUntilItsLeaseEnds) {
  auto inst = install();
  auto other = more_stores(*inst, 1);
  ComprobanteRecord c = received("50601012600010647095800100001010000000001100000001");
  c.callback_url = "http://127.0.0.1:9/callback";
  ASSERT_TRUE(inst->store->add_comprobante(c).ok());
  ASSERT_TRUE(inst->store->finish_comprobante(c.clave, ComprobanteState::kAceptado, {}).ok());
  const UnixSeconds now = now_seconds();
  auto taken = inst->store->claim_callbacks(now + 1, now + 60, 10);
  ASSERT_TRUE(taken.ok()) << taken.error().message;
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ(taken->front().clave, c.clave);
  // Another server, and the same one, find nothing due while it is claimed.
  EXPECT_TRUE(other[0]->claim_callbacks(now + 1, now + 60, 10)->empty());
  EXPECT_TRUE(inst->store->claim_callbacks(now + 59, now + 120, 10)->empty());
  // The claim lapses (its server died before recording the attempt).
  auto again = other[0]->claim_callbacks(now + 61, now + 120, 10);
  ASSERT_EQ(again->size(), 1u);
  // Recorded: due when the attempt says, not before.
  ASSERT_TRUE(other[0]
                  ->record_callback_attempt(c.clave, {1, now, 500, "respuesta HTTP 500"},
                                            CallbackState::kPendiente, now + 200)
                  .ok());
  EXPECT_TRUE(inst->store->claim_callbacks(now + 150, now + 300, 10)->empty());
  EXPECT_EQ(inst->store->claim_callbacks(now + 200, now + 300, 10)->size(), 1u);
}

TEST_P(Stores, TheNewestCrlOfACaIsTheOneReadWhoeverStoredIt) {
  auto inst = install();
  auto authorities = *inst->store->authorities();
  auto other = more_stores(*inst, 1);
  const std::int64_t ca = authorities[1].id;
  EXPECT_FALSE(inst->store->latest_crl(ca, 0)->has_value());
  ASSERT_TRUE(inst->store->add_crl({ca, 8, 1, 1000, 2000, Bytes{8}}).ok());
  // A lower number stored afterwards (two servers built at once) is not read.
  ASSERT_TRUE(other[0]->add_crl({ca, 7, 1, 1001, 2001, Bytes{7}}).ok());
  auto latest = other[0]->latest_crl(ca, 0);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->number, 8);
  EXPECT_EQ((*latest)->der, Bytes{8});
  EXPECT_EQ((*latest)->this_update, 1000);
  EXPECT_FALSE(inst->store->latest_crl(ca, 8)->has_value());  // nothing newer than ours
  EXPECT_FALSE(inst->store->latest_crl(authorities[2].id, 0)->has_value());
}

TEST_P(Stores, OnlyOldClaimsOfTheQueueAreRequeued) {
  auto inst = install();
  const ComprobanteRecord c = received("50601012600010647095800100001010000000002100000001");
  ASSERT_TRUE(inst->store->add_comprobante(c).ok());
  ASSERT_TRUE(inst->store->claim_comprobante()->has_value());
  const UnixSeconds now = now_seconds();
  ASSERT_TRUE(inst->store->requeue_comprobantes(now - 30).ok());  // a live server's claim
  EXPECT_FALSE(inst->store->claim_comprobante()->has_value());
  ASSERT_TRUE(inst->store->requeue_comprobantes(now + 1).ok());  // its server is gone
  EXPECT_TRUE(inst->store->claim_comprobante()->has_value());
}

TEST_P(Stores, ConsecutivosHaveNoGapsWithManyEmitters) {
  auto inst = install();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  constexpr int kWriters = 4, kEach = 5;
  auto stores = more_stores(*inst, kWriters);
  const ConsecutivoKey key{Environment::kPruebas, "106470958", "001", "00001", "01"};
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        auto made = stores[static_cast<std::size_t>(w)]->emit_numbered(
            key, [&](std::int64_t numero) -> Result<NumberedEmission> {
              NumberedEmission e;
              e.record.clave = fmt::format("clave-{:010d}", numero);
              e.record.environment = Environment::kPruebas;
              e.record.taxpayer_id = taxpayer.id;
              e.record.tipo = "01";
              e.record.consecutivo = fmt::format("{:010d}", numero);
              e.record.xml = Bytes{'<', 'x', '/', '>'};
              e.audit = {"t", "emitir", "s", ""};
              return e;
            });
        if (!made.ok()) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM emitidos"), kWriters * kEach);
  EXPECT_EQ(sql_count(*inst, "SELECT MAX(ultimo) FROM consecutivos"), kWriters * kEach);
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(DISTINCT consecutivo) FROM emitidos"), kWriters * kEach);
}

// --- the audit log

TEST_P(Stores, IntactChainVerifies) {
  auto inst = install();
  auto check = verify_audit_chain(*inst->store->audit_log());
  EXPECT_FALSE(check.first_bad_seq.has_value()) << check.problem;
  EXPECT_EQ(check.rows, 3);  // init + two taxpayers
  EXPECT_EQ(check.head_hash.size(), 64u);
}

TEST_P(Stores, TriggersForbidEditsThroughSql) {
  auto inst = install();
  EXPECT_NE(raw_sql(*inst, "UPDATE audit_log SET detail='x' WHERE seq=2").find("append-only"),
            std::string::npos);
  EXPECT_NE(raw_sql(*inst, "DELETE FROM audit_log WHERE seq=2").find("append-only"),
            std::string::npos);
  EXPECT_EQ(sql_count(*inst, "SELECT COUNT(*) FROM audit_log"), 3);
}

TEST_P(Stores, ChangedRowIsNamed) {
  auto inst = install();
  ASSERT_EQ(raw_sql(*inst, drop_trigger("audit_log_no_update") +
                               "; UPDATE audit_log SET detail='otro' WHERE seq=2"),
            "");
  auto check = verify_audit_chain(*inst->store->audit_log());
  ASSERT_TRUE(check.first_bad_seq.has_value());
  EXPECT_EQ(*check.first_bad_seq, 2);
  EXPECT_NE(check.problem.find("modificada"), std::string::npos);
}

TEST_P(Stores, DeletedMiddleRowIsNamed) {
  auto inst = install();
  ASSERT_EQ(
      raw_sql(*inst, drop_trigger("audit_log_no_delete") + "; DELETE FROM audit_log WHERE seq=2"),
      "");
  auto check = verify_audit_chain(*inst->store->audit_log());
  ASSERT_TRUE(check.first_bad_seq.has_value());
  EXPECT_EQ(*check.first_bad_seq, 2);
}

TEST_P(Stores, DeletedLastRowIsNamed) {
  auto inst = install();
  ASSERT_EQ(
      raw_sql(*inst, drop_trigger("audit_log_no_delete") + "; DELETE FROM audit_log WHERE seq=3"),
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
TEST_P(Stores, ARowWithAnyFieldRewrittenIsNamed) {
  const std::vector<std::string> updates = {
      "at = '1999-01-01T00:00:00Z'", "actor = 'otro'",  "action = 'otra'",
      "subject = '999999999'",       "detail = 'otro'",
  };
  for (const std::string& update : updates) {
    auto inst = install();
    ASSERT_EQ(raw_sql(*inst, drop_trigger("audit_log_no_update") + "; UPDATE audit_log SET " +
                                 update + " WHERE seq=2"),
              "");
    auto check = verify_audit_chain(*inst->store->audit_log());
    ASSERT_TRUE(check.first_bad_seq.has_value()) << update << ": la bitácora parece íntegra";
    EXPECT_EQ(*check.first_bad_seq, 2) << update;
  }
}

}  // namespace
}  // namespace llavero
