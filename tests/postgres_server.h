// A throwaway PostgreSQL server for the tests that run on both backends.
//
// The first test that asks for a database starts one cluster for the whole
// test process: `initdb` into a temporary directory and `pg_ctl start` on a
// unix socket in that directory (no TCP port). Run as root, both run as the
// `postgres` user (runuser), who is given the directory. Each test gets a
// fresh database of its own; the cluster is stopped and its directory
// removed when the process exits.
//
// When $LLAVERO_TEST_POSTGRES holds the URL of the maintenance database
// ("postgres") of a cluster already running (ctest's fixture "postgres",
// tests/lib/pg_cluster.sh), the databases are made there instead, named
// after the process, and dropped when it exits: ctest runs each test in a
// process of its own, and one cluster per run saves a start per test.
//
// The binaries are looked for in $LLAVERO_PG_BIN, else in
// /usr/lib/postgresql/15/bin (Debian's postgresql-15). Without them, or if
// the cluster does not start, postgres_database() says why and the tests of
// the PostgreSQL backend are reported SKIPPED by gtest, never passed; under
// ctest, which promised a cluster, they fail (testing.h).
#pragma once

#include <optional>
#include <string>

namespace llavero::testing {

struct PostgresDatabase {
  std::string url;   // postgresql:///<name>?host=<socket dir>&user=postgres
  std::string name;  // the database's name
};

// Why no database can be had here, "" when it can (starts the process's
// cluster on first use).
std::string postgres_unavailable();

// A new, empty database on the process's cluster, or nullopt with `why` set.
std::optional<PostgresDatabase> postgres_database(std::string* why);

// Runs SQL on `url` on a connection of its own; "" when it succeeds, else the
// server's message. `first_value`, when given, receives the first column of
// the first row ("" if none).
std::string postgres_sql(const std::string& url, const std::string& sql,
                         std::string* first_value = nullptr);

}  // namespace llavero::testing
