// The schema as numbered migrations. A store applies, in order and each in its
// own transaction, every migration whose number is above the highest one
// recorded in schema_migrations. Migrations are append-only: a released one
// is never edited, a change is a new number.
#pragma once

#include <span>
#include <string_view>

namespace llavero {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

enum class SqlDialect { kSqlite, kPostgres };

std::span<const Migration> migrations(SqlDialect dialect);

}  // namespace llavero
