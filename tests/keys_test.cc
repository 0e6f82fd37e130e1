// The key lifecycle service: generar, revocar, estado, and what a taxpayer
// would notice when things go wrong or happen at once.
#include <gtest/gtest.h>
#include <openssl/pkcs12.h>
#include <sqlite3.h>

#include <set>
#include <thread>

#include "testing.h"
#include "util/clock.h"

namespace llavero {

using namespace llavero::service;
namespace {

using testing::keep_p12;
using testing::make_installation;

const Pin& pin() {
  static const Pin p = *Pin::parse("1234");
  return p;
}

Result<GeneratedKey> generate(KeyService& service, std::string id = "1-0647-0958",
                              Environment env = Environment::kPruebas) {
  Bytes p12;
  return service.generate(GenerateRequest{id, env, std::nullopt, false}, pin(), keep_p12(p12),
                          "test");
}

std::vector<KeyStatus> keys_of(KeyService& service, std::optional<Environment> env = std::nullopt,
                               std::string id = "1-0647-0958") {
  auto status = service.status(id, env);
  EXPECT_TRUE(status.ok());
  return *status;
}

int count_in(const std::vector<KeyStatus>& keys, KeyState state) {
  return static_cast<int>(std::count_if(keys.begin(), keys.end(),
                                        [state](const KeyStatus& k) { return k.state == state; }));
}

TEST(KeyService, GeneratingTwiceSupersedesTheFirstKey) {
  auto inst = make_installation();
  auto first = generate(*inst->service);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->file_name, "010647095876.p12");
  EXPECT_FALSE(first->superseded_serial.has_value());
  auto second = generate(*inst->service);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->superseded_serial, first->serial_hex);

  auto keys = keys_of(*inst->service, Environment::kPruebas);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].serial_hex, second->serial_hex);
  EXPECT_EQ(keys[0].state, KeyState::kActiva);
  EXPECT_EQ(keys[1].serial_hex, first->serial_hex);
  EXPECT_EQ(keys[1].state, KeyState::kRevocada);
  EXPECT_EQ(keys[1].reason, RevocationReason::kSuperseded);
  EXPECT_TRUE(keys[1].revoked_at.has_value());
}

TEST(KeyService, EnvironmentsAreIndependent) {
  auto inst = make_installation();
  ASSERT_TRUE(generate(*inst->service, "1-0647-0958", Environment::kProduccion).ok());
  ASSERT_TRUE(generate(*inst->service, "1-0647-0958", Environment::kPruebas).ok());
  ASSERT_TRUE(generate(*inst->service, "1-0647-0958", Environment::kPruebas).ok());
  auto prod = keys_of(*inst->service, Environment::kProduccion);
  ASSERT_EQ(prod.size(), 1u);
  EXPECT_EQ(prod[0].state, KeyState::kActiva);
  EXPECT_NE(key_subject(prod[0]).find("CPF-01-0647-0958"), std::string::npos);
  ASSERT_TRUE(inst->service->revoke("1-0647-0958", Environment::kPruebas, std::nullopt, "t").ok());
  EXPECT_EQ(keys_of(*inst->service, Environment::kProduccion)[0].state, KeyState::kActiva);
}

TEST(KeyService, RevokeLeavesNoActiveKeyAndRecordsTheReason) {
  auto inst = make_installation();
  ASSERT_TRUE(generate(*inst->service).ok());
  auto revoked = inst->service->revoke("106470958", Environment::kPruebas,
                                       RevocationReason::kKeyCompromise, "test");
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->state, KeyState::kRevocada);
  EXPECT_EQ(revoked->reason, RevocationReason::kKeyCompromise);
  auto keys = keys_of(*inst->service);
  EXPECT_EQ(count_in(keys, KeyState::kActiva), 0);

  auto again = inst->service->revoke("106470958", Environment::kPruebas, std::nullopt, "test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "sin_llave_activa");
  EXPECT_EQ(again.error().message,
            "No hay una llave criptográfica activa en Pruebas para revocar.");
}

TEST(KeyService, RevokeWithoutReasonHasNone) {
  auto inst = make_installation();
  ASSERT_TRUE(generate(*inst->service).ok());
  auto revoked = inst->service->revoke("106470958", Environment::kPruebas, std::nullopt, "test");
  ASSERT_TRUE(revoked.ok());
  EXPECT_FALSE(revoked->reason.has_value());
}

TEST(KeyService, JuridicaIsIssuedByThePersonaJuridicaCa) {
  auto inst = make_installation();
  Bytes p12;
  auto made = inst->service->generate(
      GenerateRequest{"3-101-522899", Environment::kProduccion, P12Profile::kModerno, true}, pin(),
      keep_p12(p12), "test");
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->file_name, "3101522899" + iso7064_mod97_10("3101522899") + ".p12");
  const unsigned char* p = p12.data();
  ossl::Pkcs12 parsed(d2i_PKCS12(nullptr, &p, static_cast<long>(p12.size())));
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ASSERT_EQ(PKCS12_parse(parsed.get(), "1234", &key, &cert, nullptr), 1);
  ossl::PKey owned_key(key);
  ossl::X509Ptr owned_cert(cert);
  char issuer[256];
  X509_NAME_get_text_by_NID(X509_get_issuer_name(cert), NID_commonName, issuer, sizeof issuer);
  EXPECT_STREQ(issuer, "CA PERSONA JURIDICA");
  EXPECT_TRUE(keys_of(*inst->service, std::nullopt, "3-101-522899")[0].facturador_gratuito);
}

TEST(KeyService, AFailedStageActivatesNothing) {
  auto inst = make_installation();
  auto first = generate(*inst->service);
  ASSERT_TRUE(first.ok());
  auto failed = inst->service->generate(
      GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, false}, pin(),
      [](const StagedKey&) -> Status { return make_error("disco_lleno", "Disco lleno."); }, "test");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, "disco_lleno");
  auto keys = keys_of(*inst->service);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].serial_hex, first->serial_hex);
  EXPECT_EQ(keys[0].state, KeyState::kActiva);
}

// The serial is reserved before anything is signed with it: a failure after
// signing (here the .p12 cannot be kept) leaves it reserved, burnt, so it
// is never signed again.
TEST(KeyService, AFailureAfterSigningBurnsTheSerial) {
  auto inst = make_installation();
  auto failed = inst->service->generate(
      GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, false}, pin(),
      [](const StagedKey&) -> Status { return make_error("disco_lleno", "Disco lleno."); }, "test");
  ASSERT_FALSE(failed.ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(inst->db_path().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM certificates WHERE status = 'reserved'", -1, &stmt,
                     nullptr);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(stmt, 0), 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(KeyService, WrongCaPassphraseIssuesNothing) {
  auto inst = make_installation();
  CaKeyring wrong(*inst->store, SecretString("otra frase"));
  KeyService service(*inst->store, inst->config, wrong);
  auto audit_before = inst->store->audit_log()->rows.size();
  auto made = generate(service);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.error().code, "frase_incorrecta");
  EXPECT_TRUE(keys_of(*inst->service).empty());
  EXPECT_EQ(inst->store->audit_log()->rows.size(), audit_before);
}

TEST(KeyService, UnknownTaxpayerAndBadIdentification) {
  auto inst = make_installation();
  auto unknown = generate(*inst->service, "2-100-042005");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, "contribuyente_desconocido");
  EXPECT_NE(unknown.error().message.find("2-100-042005"), std::string::npos);
  auto bad = generate(*inst->service, "12-34");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "identificacion_invalida");
}

TEST(KeyService, TaxpayerRegistrationRules) {
  auto inst = make_installation();
  struct Case {
    NewTaxpayerRequest request;
    std::string code;
  } cases[] = {
      {{"3-101-000001", "EMPRESA", "APELLIDO", ""}, "dato_invalido"},
      {{"1-1111-1111", "NOMBRE", "", ""}, "dato_faltante"},
      {{"1-1111-1111", "", "APELLIDOS", ""}, "dato_faltante"},
      {{"1-1111-1111", "NO\nMBRE", "APELLIDOS", ""}, "dato_invalido"},
      {{"1-1111-1111", "NOMBRE", "APELLIDOS", "sin-arroba"}, "dato_invalido"},
      {{"1-0647-0958", "OTRO", "NOMBRE", ""}, "contribuyente_duplicado"},
  };
  for (const Case& c : cases) {
    auto made = inst->service->create_taxpayer(c.request, "test");
    ASSERT_FALSE(made.ok()) << c.request.identification;
    EXPECT_EQ(made.error().code, c.code) << made.error().message;
  }
  auto ok = inst->service->create_taxpayer({"155812345678", "ANA", "PÉREZ", ""}, "test");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->id_type, IdType::kDimex);
}

TEST(KeyService, PastNotAfterIsReportedVencida) {
  auto inst = make_installation();
  const auto taxpayer = **inst->store->find_taxpayer("106470958");
  auto authorities = *inst->store->authorities();
  auto id =
      inst->store->reserve_serial({authorities[1].id, "0A", taxpayer.id, Environment::kPruebas});
  ASSERT_TRUE(inst->store
                  ->activate_certificate({*id, false, Bytes{1}, *parse_utc("2020-01-01T00:00:00Z"),
                                          *parse_utc("2023-12-31T00:00:00Z")},
                                         {"t", "a", "s", "d"})
                  .ok());
  auto keys = keys_of(*inst->service);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].state, KeyState::kVencida);
}

// Many generar requests at once for one taxpayer: exactly one key ends up
// active, the rest are superseded, and no serial appears twice — whether the
// requests share a connection or each has its own (as separate processes do).
void generate_concurrently(bool own_connection) {
  auto inst = make_installation();
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      std::unique_ptr<SqliteStore> store;
      std::unique_ptr<CaKeyring> keyring;
      std::unique_ptr<KeyService> service;
      KeyService* use = inst->service.get();
      if (own_connection) {
        store = std::move(*SqliteStore::open(inst->db_path(), false));
        keyring = std::make_unique<CaKeyring>(*store, SecretString(testing::kTestPassphrase));
        service = std::make_unique<KeyService>(*store, inst->config, *keyring);
        use = service.get();
      }
      if (!generate(*use).ok()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto keys = keys_of(*inst->service, Environment::kPruebas);
  ASSERT_EQ(keys.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(count_in(keys, KeyState::kActiva), 1);
  EXPECT_EQ(count_in(keys, KeyState::kRevocada), kThreads - 1);
  std::set<std::string> serials;
  for (const auto& k : keys) {
    serials.insert(k.serial_hex);
    if (k.state == KeyState::kRevocada) {
      EXPECT_EQ(k.reason, RevocationReason::kSuperseded);
    }
  }
  EXPECT_EQ(serials.size(), static_cast<std::size_t>(kThreads));
}

TEST(KeyService, ConcurrentGenerationSharedConnection) {
  generate_concurrently(false);
}
TEST(KeyService, ConcurrentGenerationSeparateConnections) {
  generate_concurrently(true);
}

TEST(KeyService, EveryActionIsAudited) {
  auto inst = make_installation();
  ASSERT_TRUE(generate(*inst->service).ok());
  ASSERT_TRUE(
      inst->service->revoke("1-0647-0958", Environment::kPruebas, std::nullopt, "alguien").ok());
  auto log = *inst->store->audit_log();
  ASSERT_GE(log.rows.size(), 2u);
  const AuditRow& generated = log.rows[log.rows.size() - 2];
  const AuditRow& revoked = log.rows.back();
  EXPECT_EQ(generated.action, "llave.generar");
  EXPECT_EQ(generated.subject, "106470958");
  EXPECT_EQ(revoked.action, "llave.revocar");
  EXPECT_EQ(revoked.actor, "alguien");
  for (const AuditRow& row : log.rows) EXPECT_EQ(row.detail.find("1234"), std::string::npos);
}

}  // namespace
}  // namespace llavero
