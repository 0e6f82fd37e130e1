#include "testing.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "pki/authority.h"
#include "postgres_server.h"
#include "store/postgres/postgres_store.h"
#include "util/clock.h"

namespace fs = std::filesystem;

namespace llavero::testing {

using namespace llavero::service;

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "llavero-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

const std::vector<NewAuthority>& shared_authorities() {
  static const std::vector<NewAuthority> list = [] {
    std::vector<NewAuthority> out;
    SecretString passphrase(kTestPassphrase);
    for (Environment env : kAllEnvironments) {
      HierarchyOptions options;
      options.key_bits = 2048;
      options.now = now_seconds() - 60;
      options.base_url = "http://127.0.0.1:8080";
      auto hierarchy = create_hierarchy(env, options);
      if (!hierarchy) throw std::runtime_error(hierarchy.error().message);
      for (const Authority& a : *hierarchy) {
        out.push_back(NewAuthority{
            env, a.kind, ossl::subject_line(*a.certificate), *ossl::x509_to_der(*a.certificate),
            *ossl::private_key_to_encrypted_pem(*a.private_key, passphrase)});
      }
    }
    return out;
  }();
  return list;
}

}  // namespace

std::string backend_name(Backend backend) {
  return backend == Backend::kPostgres ? "Postgres" : "Sqlite";
}

std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info) {
  return backend_name(info.param);
}

std::string backend_unavailable(Backend backend) {
  if (backend == Backend::kSqlite) return "";
  // Starts the process's cluster on first use; its reason stays.
  static const std::string why = postgres_unavailable();
  return why;
}

bool postgres_promised() {
  const char* url = std::getenv("LLAVERO_TEST_POSTGRES");
  return url != nullptr && *url != '\0';
}

std::string Installation::location() const {
  return backend == Backend::kPostgres ? postgres_url : db_path();
}

Result<std::unique_ptr<Store>> Installation::open_store() const {
  if (backend == Backend::kPostgres) {
    auto store = PostgresStore::open(postgres_url);
    if (!store) return store.error();
    return std::unique_ptr<Store>(std::move(*store));
  }
  auto store = SqliteStore::open(db_path(), false);
  if (!store) return store.error();
  return std::unique_ptr<Store>(std::move(*store));
}

std::unique_ptr<Installation> make_empty_installation(Backend backend) {
  auto inst = std::make_unique<Installation>();
  inst->backend = backend;
  if (backend == Backend::kPostgres) {
    std::string why;
    auto database = postgres_database(&why);
    if (!database) throw std::runtime_error(why);
    inst->postgres_url = database->url;
    auto store = PostgresStore::open(inst->postgres_url);
    if (!store) throw std::runtime_error(store.error().message);
    inst->store = std::move(*store);
  } else {
    auto store = SqliteStore::open(inst->db_path(), true);
    if (!store) throw std::runtime_error(store.error().message);
    inst->store = std::move(*store);
  }
  return inst;
}

std::unique_ptr<Installation> make_installation(Backend backend) {
  auto inst = make_empty_installation(backend);
  auto added =
      inst->store->add_authorities(shared_authorities(), AuditEvent{"test", "init", "", ""});
  if (!added) throw std::runtime_error(added.error().message);
  inst->keyring = std::make_unique<CaKeyring>(*inst->store, SecretString(kTestPassphrase));
  inst->service = std::make_unique<KeyService>(*inst->store, inst->config, *inst->keyring);
  for (const NewTaxpayerRequest& t :
       {NewTaxpayerRequest{"1-0647-0958", "CONTRIBUYENTE", "PEÑA DE PRUEBA", "prueba@example.com"},
        NewTaxpayerRequest{"3-101-522899", "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA", "", ""}}) {
    auto made = inst->service->create_taxpayer(t, "test");
    if (!made) throw std::runtime_error(made.error().message);
  }
  return inst;
}

std::string raw_sql(const Installation& inst, const std::string& sql) {
  if (inst.backend == Backend::kPostgres) return postgres_sql(inst.postgres_url, sql);
  sqlite3* db = nullptr;
  sqlite3_open(inst.db_path().c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string out = rc == SQLITE_OK ? "" : (message ? message : "error");
  sqlite3_free(message);
  sqlite3_close(db);
  return out;
}

std::int64_t sql_count(const Installation& inst, const std::string& sql) {
  if (inst.backend == Backend::kPostgres) {
    std::string value;
    if (!postgres_sql(inst.postgres_url, sql, &value).empty() || value.empty()) return -1;
    return std::stoll(value);
  }
  sqlite3* db = nullptr;
  sqlite3_open(inst.db_path().c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  std::int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW)
    n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

std::function<Status(const StagedKey&)> keep_p12(Bytes& out) {
  return [&out](const StagedKey& key) -> Status {
    out = key.p12;
    return Ok{};
  };
}

}  // namespace llavero::testing
