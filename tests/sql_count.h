// The one number a SQL query over a test installation's SQLite file answers
// (a count), read on a connection of its own so that it sees what the store
// committed. -1 when the query fails.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "testing.h"

namespace llavero::testing {

inline std::int64_t sql_count(const Installation& inst, const std::string& sql) {
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

}  // namespace llavero::testing
