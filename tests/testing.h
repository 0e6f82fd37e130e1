// Shared test fixtures: a temporary directory, and a ready installation (a
// store holding a fresh CA hierarchy, a keyring and a key service) on either
// backend: a SQLite file, or a fresh database on the test process's own
// PostgreSQL server (postgres_server.h). The CA keys here are RSA-2048
// instead of 4096 only to keep the suite fast.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "service/authorities.h"
#include "service/config.h"
#include "service/key_service.h"
#include "store/sqlite/sqlite_store.h"

namespace llavero::testing {

using namespace llavero::service;

class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline constexpr const char* kTestPassphrase = "frase de paso de prueba";

enum class Backend { kSqlite, kPostgres };

// "Sqlite" or "Postgres": how the tests on both backends are told apart.
std::string backend_name(Backend backend);

// How gtest prints the parameter (in ctest's names too).
inline void PrintTo(Backend backend, std::ostream* os) {
  *os << backend_name(backend);
}

// Why `backend` cannot be tested here, "" when it can (PostgreSQL needs its
// binaries and a cluster that starts).
std::string backend_unavailable(Backend backend);

// Whether the harness started a PostgreSQL cluster for these tests
// (LLAVERO_TEST_POSTGRES, set by ctest): then a backend that cannot be had
// is a failure, not a skip, since ctest would count the skip as passed.
bool postgres_promised();

// Skips the calling test when `backend` cannot be had here, or fails it when
// it was promised (above).
#define LLAVERO_REQUIRE_BACKEND(backend)                                       \
  do {                                                                         \
    const std::string why_ = ::llavero::testing::backend_unavailable(backend); \
    if (!why_.empty()) {                                                       \
      if (::llavero::testing::postgres_promised()) GTEST_FAIL() << why_;       \
      GTEST_SKIP() << why_;                                                    \
    }                                                                          \
  } while (false)

struct Installation {
  TempDir dir;
  Backend backend = Backend::kSqlite;
  std::string postgres_url;  // the database of a PostgreSQL installation
  std::unique_ptr<Store> store;
  Config config;
  std::unique_ptr<CaKeyring> keyring;
  std::unique_ptr<KeyService> service;

  // The SQLite file (of a SQLite installation).
  std::string db_path() const { return (dir.path() / "llavero.db").string(); }
  // What `--db` would name: the file, or the PostgreSQL URL.
  std::string location() const;
  // Another store on the same database, as a second process would open it.
  Result<std::unique_ptr<Store>> open_store() const;
};

// An installation whose store is new and empty (no authorities, no
// taxpayers), for a test that makes its own.
std::unique_ptr<Installation> make_empty_installation(Backend backend);

// A store with the hierarchy of both environments and the two demo
// taxpayers (1-0647-0958 and 3-101-522899). The CA material is made once per
// test binary and copied into each new installation.
std::unique_ptr<Installation> make_installation(Backend backend = Backend::kSqlite);

// SQL run on the installation's database behind the store's back, on a
// connection of its own (as an operator, or an attacker, with sqlite3 or
// psql would): "" when it succeeds, else the database's message.
std::string raw_sql(const Installation& inst, const std::string& sql);

// The one number a SQL query answers (a count), on a connection of its own,
// so that it sees what the store committed. -1 when the query fails.
std::int64_t sql_count(const Installation& inst, const std::string& sql);

// The fixture of a test that runs on both backends (TEST_P, instantiated by
// LLAVERO_ON_BOTH_BACKENDS): on a machine without PostgreSQL its PostgreSQL
// instances are SKIPPED, with the reason.
class OnBothBackends : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { LLAVERO_REQUIRE_BACKEND(GetParam()); }
  Backend backend() const { return GetParam(); }
  bool postgres() const { return GetParam() == Backend::kPostgres; }
  std::unique_ptr<Installation> install() const { return make_installation(GetParam()); }
};

std::string backend_test_name(const ::testing::TestParamInfo<Backend>& info);

#define LLAVERO_ON_BOTH_BACKENDS(suite)                                               \
  INSTANTIATE_TEST_SUITE_P(, suite,                                                   \
                           ::testing::Values(::llavero::testing::Backend::kSqlite,    \
                                             ::llavero::testing::Backend::kPostgres), \
                           ::llavero::testing::backend_test_name)

// A stage callback that keeps the .p12 in `out`.
std::function<Status(const StagedKey&)> keep_p12(Bytes& out);

}  // namespace llavero::testing
