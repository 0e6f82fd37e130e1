#include "store/sqlite/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <map>
#include <stdexcept>

#include "store/audit.h"
#include "store/migrations.h"
#include "store/stored_names.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero {

using namespace stored;  // NOLINT: the stored names and column lists

namespace {

// Failures inside this file travel as exceptions to the public method, which
// turns them into an Error; the open transaction rolls back on the way.
struct SqlFailure : std::runtime_error {
  SqlFailure(std::string_view code, const std::string& message)
      : std::runtime_error(message), code(code) {}
  std::string code;
};

[[noreturn]] void fail_sql(sqlite3* db, std::string_view what) {
  throw SqlFailure(errc::kErrorAlmacen,
                   fmt::format("Error del almacén de datos ({}): {}", what, sqlite3_errmsg(db)));
}

void exec(sqlite3* db, const char* sql) {
  char* raw_message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &raw_message) != SQLITE_OK) {
    std::unique_ptr<char, decltype(&sqlite3_free)> message(raw_message, sqlite3_free);
    std::string text = message ? message.get() : "?";
    throw SqlFailure(errc::kErrorAlmacen, fmt::format("Error del almacén de datos: {}", text));
  }
}

}  // namespace

// One SQLite connection and its prepared statements, kept for reuse: the
// OCSP and CRL paths run the same few queries thousands of times a second.
// It owns the handle and the statements, so it can be neither copied nor
// moved: a copy would close the database twice.
struct SqliteStore::Connection {
  explicit Connection(sqlite3* raw) : db(raw) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    for (auto& [sql, stmt] : prepared) sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
  }
  operator sqlite3*() const { return db; }  // NOLINT: a connection is its handle

  sqlite3_stmt* prepare(std::string_view sql) {
    auto it = prepared.find(sql);
    if (it != prepared.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &stmt, nullptr) != SQLITE_OK)
      fail_sql(db, "preparar");
    prepared.emplace(std::string(sql), stmt);
    return stmt;
  }

  sqlite3* db;
  std::map<std::string, sqlite3_stmt*, std::less<>> prepared;
};

namespace {

using Connection = SqliteStore::Connection;

// A cached prepared statement in use; reset and unbound when it goes away.
class Statement {
 public:
  Statement(Connection& db, std::string_view sql) : db_(db), stmt_(db.prepare(sql)) {}
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::string_view text) {
    check(
        sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Statement& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Statement& bind(int i, std::int64_t value) {
    check(sqlite3_bind_int64(stmt_, i, value));
    return *this;
  }
  // Times are stored as format_utc text, which sorts in time order.
  Statement& bind_time(int i, UnixSeconds t) { return bind(i, format_utc(t)); }
  Statement& bind(int i, const Bytes& blob) {
    check(
        sqlite3_bind_blob(stmt_, i, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT));
    return *this;
  }
  template <typename T>
  Statement& bind_optional(int i, const std::optional<T>& value) {
    if (value) return bind(i, *value);
    check(sqlite3_bind_null(stmt_, i));
    return *this;
  }

  // True when a row is ready, false when done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail_sql(db_, "ejecutar");
  }
  void run() {
    while (step()) {
    }
  }

  std::string text(int i) const {
    auto p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }
  std::optional<std::string> optional_text(int i) const {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
    return text(i);
  }
  bool null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  bool flag(int i) const { return integer(i) != 0; }
  std::optional<std::int64_t> optional_integer(int i) const {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
    return integer(i);
  }
  // A time column; text that is not format_utc's is corruption.
  UnixSeconds time(int i, std::string_view column) const {
    const std::string stored = text(i);
    auto parsed = parse_utc(stored);
    if (!parsed) corrupt(column, stored);
    return *parsed;
  }
  std::optional<UnixSeconds> optional_time(int i, std::string_view column) const {
    if (sqlite3_column_type(stmt_, i) == SQLITE_NULL) return std::nullopt;
    return time(i, column);
  }
  Bytes blob(int i) const {
    auto p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, i));
    return p ? Bytes(p, p + sqlite3_column_bytes(stmt_, i)) : Bytes();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) fail_sql(db_, "enlazar");
  }
  Connection& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// A write transaction; rolls back unless commit() was reached.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

void append_audit(Connection& db, const AuditEvent& event) {
  std::optional<std::pair<std::int64_t, std::string>> head;
  {
    Statement s(db, "SELECT seq, hash FROM audit_head WHERE singleton = 1");
    if (s.step()) head = std::make_pair(s.integer(0), s.text(1));
  }
  const AuditRow row = next_audit_row(head, event, now_seconds());
  Statement(db,
            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, row.seq)
      .bind(2, row.at)
      .bind(3, row.actor)
      .bind(4, row.action)
      .bind(5, row.subject)
      .bind(6, row.detail)
      .bind(7, row.prev_hash)
      .bind(8, row.hash)
      .run();
  Statement(db,
            "INSERT INTO audit_head (singleton, seq, hash) VALUES (1, ?, ?) "
            "ON CONFLICT (singleton) DO UPDATE SET seq = excluded.seq, hash = excluded.hash")
      .bind(1, row.seq)
      .bind(2, row.hash)
      .run();
}

// The portal's sessions and the console's: the same columns in two tables,
// owned by a taxpayer or by an operator. SessionRecord and
// OperatorSessionRecord hold the same fields in the same order.
struct SessionTable {
  std::string_view name, owner;
};
constexpr SessionTable kPortalSessions{"sessions", "taxpayer_id"};
constexpr SessionTable kOperatorSessions{"operator_sessions", "operator_id"};

template <class Record>
void insert_session(Connection& db, const SessionTable& table, const Record& r) {
  const auto& [id_hash, owner, csrf_token, created_at, last_seen] = r;
  const std::string sql = fmt::format(
      "INSERT INTO {} (id_hash, {}, csrf_token, created_at, last_seen) "
      "VALUES (?, ?, ?, ?, ?)",
      table.name, table.owner);
  Statement(db, sql)
      .bind(1, id_hash)
      .bind(2, owner)
      .bind(3, csrf_token)
      .bind_time(4, created_at)
      .bind_time(5, last_seen)
      .run();
}

template <class Record>
std::optional<Record> find_session_row(Connection& db, const SessionTable& table,
                                       const std::string& id_hash) {
  const std::string sql =
      fmt::format("SELECT id_hash, {}, csrf_token, created_at, last_seen FROM {} WHERE id_hash = ?",
                  table.owner, table.name);
  Statement s(db, sql);
  s.bind(1, id_hash);
  if (!s.step()) return std::nullopt;
  return Record{s.text(0), s.integer(1), s.text(2),
                s.time(3, fmt::format("{}.created_at", table.name)),
                s.time(4, fmt::format("{}.last_seen", table.name))};
}

void touch_session_row(Connection& db, const SessionTable& table, const std::string& id_hash,
                       UnixSeconds last_seen) {
  const std::string sql = fmt::format("UPDATE {} SET last_seen = ? WHERE id_hash = ?", table.name);
  Statement(db, sql).bind_time(1, last_seen).bind(2, id_hash).run();
}

void delete_session_row(Connection& db, const SessionTable& table, const std::string& id_hash) {
  const std::string sql = fmt::format("DELETE FROM {} WHERE id_hash = ?", table.name);
  Statement(db, sql).bind(1, id_hash).run();
}

// The certificate of a taxpayer and environment in `status` ('active' or
// 'pending': the unique indexes allow at most one of each).
std::optional<CertificateRecord> certificate_in(Connection& db, std::int64_t taxpayer_id,
                                                std::string_view env, std::string_view status) {
  Statement s(db, fmt::format("SELECT {} FROM certificates WHERE taxpayer_id = ? AND "
                              "environment = ? AND status = ?",
                              kCertificateColumns));
  s.bind(1, taxpayer_id).bind(2, env).bind(3, status);
  if (!s.step()) return std::nullopt;
  return certificate_from(s);
}

std::optional<CertificateRecord> active_certificate(Connection& db, std::int64_t taxpayer_id,
                                                    std::string_view env) {
  return certificate_in(db, taxpayer_id, env, "active");
}

CertificateRecord certificate_by_id(Connection& db, std::int64_t id) {
  Statement s(db, fmt::format("SELECT {} FROM certificates WHERE id = ?", kCertificateColumns));
  s.bind(1, id);
  if (!s.step()) throw SqlFailure(errc::kCertificadoDesconocido, "Certificado desconocido.");
  return certificate_from(s);
}

void revoke(Connection& db, std::int64_t id, UnixSeconds at,
            std::optional<RevocationReason> reason) {
  Statement(db,
            "UPDATE certificates SET status = 'revoked', revoked_at = ?, revocation_reason = ? "
            "WHERE id = ? AND status IN ('active', 'pending')")
      .bind_time(1, at)
      .bind_optional(2, reason_name(reason))
      .bind(3, id)
      .run();
  Statement(db, "UPDATE counters SET value = value + 1 WHERE name = 'revocations'").run();
}

bool serial_taken(Connection& db, std::int64_t authority_id, const std::string& serial_hex) {
  Statement a(db, "SELECT 1 FROM certificates WHERE authority_id = ? AND serial_hex = ?");
  a.bind(1, authority_id).bind(2, serial_hex);
  if (a.step()) return true;
  Statement b(db, "SELECT 1 FROM ocsp_responders WHERE authority_id = ? AND serial_hex = ?");
  b.bind(1, authority_id).bind(2, serial_hex);
  return b.step();
}

}  // namespace

template <typename F>
auto SqliteStore::guarded(F&& body) -> decltype(body()) {
  std::lock_guard lock(mu_);
  try {
    return body();
  } catch (const SqlFailure& failure) {
    return make_error(failure.code, failure.what());
  } catch (const CorruptValue& corrupt) {
    return make_error(errc::kAlmacenCorrupto, corrupt.what());
  }
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &raw, flags, nullptr) != SQLITE_OK) {
    std::string message = raw ? sqlite3_errmsg(raw) : "sin memoria";
    sqlite3_close(raw);
    return make_error(errc::kAlmacenNoDisponible,
                      fmt::format("No se pudo abrir el almacén {}: {}", path, message));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(raw));
  try {
    sqlite3_busy_timeout(raw, 15000);
    exec(raw, "PRAGMA journal_mode = WAL");
    exec(raw, "PRAGMA synchronous = FULL");
    // Deleted rows (a downloaded .p12, an old session) are overwritten, not
    // left in free pages.
    exec(raw, "PRAGMA secure_delete = ON");
    Transaction txn(raw);
    exec(raw,
         "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
         "name TEXT NOT NULL, applied_at TEXT NOT NULL)");
    // Every migration not yet recorded, in order: two branches may add
    // numbers out of order (5 after 6), and neither may be skipped.
    for (const Migration& m : migrations(SqlDialect::kSqlite)) {
      {
        Statement s(*store->db_, "SELECT 1 FROM schema_migrations WHERE version = ?");
        s.bind(1, static_cast<std::int64_t>(m.version));
        if (s.step()) continue;
      }
      exec(raw, std::string(m.sql).c_str());
      Statement(*store->db_,
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .bind(1, static_cast<std::int64_t>(m.version))
          .bind(2, m.name)
          .bind_time(3, now_seconds())
          .run();
    }
    // Migrations run with foreign keys off, as a table that others reference
    // can only be rebuilt so (migration 14); they must leave none broken.
    if (Statement(*store->db_, "PRAGMA foreign_key_check").step())
      throw SqlFailure(errc::kErrorAlmacen, "Una migración dejó referencias rotas.");
    txn.commit();
    exec(raw, "PRAGMA foreign_keys = ON");
  } catch (const SqlFailure& failure) {
    return make_error(errc::kAlmacenNoDisponible,
                      fmt::format("No se pudo preparar el almacén {}: {}", path, failure.what()));
  }
  return store;
}

SqliteStore::SqliteStore(sqlite3* db) : db_(std::make_unique<Connection>(db)) {}

SqliteStore::~SqliteStore() = default;

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  Statement s(*db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

Result<TaxpayerRecord> SqliteStore::add_taxpayer(const NewTaxpayer& t, const AuditEvent& audit) {
  return guarded([&]() -> Result<TaxpayerRecord> {
    Transaction txn(*db_);
    {
      Statement s(*db_, "SELECT 1 FROM taxpayers WHERE identification = ?");
      s.bind(1, t.identification);
      if (s.step())
        return make_error(
            errc::kContribuyenteDuplicado,
            fmt::format("Ya existe un contribuyente con la identificación {}.", t.identification));
    }
    TaxpayerRecord r{0,           t.identification, t.id_type,    t.nombre,
                     t.apellidos, t.correo,         now_seconds()};
    Statement(*db_,
              "INSERT INTO taxpayers (identification, id_type, nombre, apellidos, correo, "
              "created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, r.identification)
        .bind(2, id_type_code(r.id_type))
        .bind(3, r.nombre)
        .bind(4, r.apellidos)
        .bind(5, r.correo)
        .bind_time(6, r.created_at)
        .run();
    r.id = sqlite3_last_insert_rowid(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return r;
  });
}

Result<std::optional<TaxpayerRecord>> SqliteStore::find_taxpayer(
    const std::string& identification) {
  return guarded([&]() -> Result<std::optional<TaxpayerRecord>> {
    Statement s(*db_,
                fmt::format("SELECT {} FROM taxpayers WHERE identification = ?", kTaxpayerColumns));
    s.bind(1, identification);
    if (!s.step()) return std::optional<TaxpayerRecord>();
    return std::optional<TaxpayerRecord>(taxpayer_from(s));
  });
}

Result<std::optional<TaxpayerRecord>> SqliteStore::find_taxpayer_by_id(std::int64_t id) {
  return guarded([&]() -> Result<std::optional<TaxpayerRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM taxpayers WHERE id = ?", kTaxpayerColumns));
    s.bind(1, id);
    if (!s.step()) return std::optional<TaxpayerRecord>();
    return std::optional<TaxpayerRecord>(taxpayer_from(s));
  });
}

Status SqliteStore::add_authorities(const std::vector<NewAuthority>& list,
                                    const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    const UnixSeconds now = now_seconds();
    for (const NewAuthority& a : list) {
      Statement(*db_,
                "INSERT INTO authorities (environment, kind, subject, certificate_der, key_pem, "
                "created_at, generation) VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind(1, environment_name(a.environment))
          .bind(2, ca_kind_name(a.kind))
          .bind(3, a.subject)
          .bind(4, a.certificate_der)
          .bind(5, a.key_pem)
          .bind_time(6, now)
          .bind(7, static_cast<std::int64_t>(a.generation))
          .run();
    }
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<AuthorityRecord>> SqliteStore::authorities() {
  return guarded([&]() -> Result<std::vector<AuthorityRecord>> {
    std::vector<AuthorityRecord> out;
    Statement s(*db_,
                "SELECT id, environment, kind, subject, certificate_der, key_pem, generation "
                "FROM authorities ORDER BY generation, id");
    while (s.step())
      out.push_back(
          AuthorityRecord{s.integer(0), environment_from(s.text(1), "authorities.environment"),
                          enum_from(s.text(2), kAllCaKinds, ca_kind_name, "authorities.kind"),
                          s.text(3), s.blob(4), s.text(5), static_cast<int>(s.integer(6))});
    return out;
  });
}

namespace {

RolloverRecord rollover_from(const Statement& s) {
  RolloverRecord r;
  r.id = s.integer(0);
  r.environment = environment_from(s.text(1), "ca_rollovers.environment");
  r.kind = enum_from(s.text(2), kAllCaKinds, ca_kind_name, "ca_rollovers.kind");
  r.requested_by = s.text(3);
  r.requested_at = s.time(4, "ca_rollovers.requested_at");
  if (!s.null(5)) {
    r.approved_by = s.text(5);
    r.approved_at = s.time(6, "ca_rollovers.approved_at");
    r.new_authority_id = s.integer(7);
  }
  return r;
}

constexpr const char* kRolloverColumns =
    "id, environment, kind, requested_by, requested_at, approved_by, approved_at, "
    "new_authority_id";

}  // namespace

Result<std::int64_t> SqliteStore::request_rollover(const RolloverRequest& r,
                                                   const AuditEvent& audit) {
  return guarded([&]() -> Result<std::int64_t> {
    Transaction txn(*db_);
    std::int64_t id = 0;
    {
      Statement s(*db_,
                  "INSERT INTO ca_rollovers (environment, kind, requested_by, requested_at) "
                  "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id");
      s.bind(1, environment_name(r.environment))
          .bind(2, ca_kind_name(r.kind))
          .bind(3, r.requested_by)
          .bind_time(4, now_seconds());
      if (!s.step())
        return make_error(
            errc::kRenovacionPendiente,
            fmt::format("La CA {} de {} ya tiene una renovación pendiente de aprobar.",
                        ca_kind_name(r.kind), environment_name(r.environment)));
      id = s.integer(0);
    }
    append_audit(*db_, audit);
    txn.commit();
    return id;
  });
}

Result<std::vector<RolloverRecord>> SqliteStore::rollovers() {
  return guarded([&]() -> Result<std::vector<RolloverRecord>> {
    std::vector<RolloverRecord> out;
    Statement s(*db_,
                fmt::format("SELECT {} FROM ca_rollovers ORDER BY id DESC", kRolloverColumns));
    while (s.step()) out.push_back(rollover_from(s));
    return out;
  });
}

Result<std::int64_t> SqliteStore::approve_rollover(std::int64_t request_id,
                                                   const std::string& approved_by,
                                                   const NewAuthority& a, const AuditEvent& audit) {
  return guarded([&]() -> Result<std::int64_t> {
    Transaction txn(*db_);
    RolloverRecord request;
    {
      Statement s(*db_, fmt::format("SELECT {} FROM ca_rollovers WHERE id = ?", kRolloverColumns));
      s.bind(1, request_id);
      if (!s.step() || !s.null(5))
        return make_error(
            errc::kRenovacionNoPendiente,
            fmt::format("No hay una renovación pendiente con el número {}.", request_id));
      request = rollover_from(s);
    }
    if (request.requested_by == approved_by)
      return make_error(errc::kMismoOperador,
                        "La renovación debe aprobarla un administrador distinto del que la pidió.");
    if (request.environment != a.environment || request.kind != a.kind)
      return make_error(errc::kRenovacionNoPendiente, "La renovación es de otra CA.");
    {
      Statement s(*db_,
                  "SELECT COALESCE(MAX(generation), 0) FROM authorities "
                  "WHERE environment = ? AND kind = ?");
      s.bind(1, environment_name(a.environment)).bind(2, ca_kind_name(a.kind));
      if (!s.step() || s.integer(0) + 1 != a.generation)
        return make_error(errc::kGeneracionDuplicada,
                          fmt::format("La generación {} de la CA {} ya existe.", a.generation,
                                      ca_kind_name(a.kind)));
    }
    std::int64_t authority_id = 0;
    {
      Statement s(
          *db_,
          "INSERT INTO authorities (environment, kind, generation, subject, certificate_der, "
          "key_pem, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id");
      s.bind(1, environment_name(a.environment))
          .bind(2, ca_kind_name(a.kind))
          .bind(3, static_cast<std::int64_t>(a.generation))
          .bind(4, a.subject)
          .bind(5, a.certificate_der)
          .bind(6, a.key_pem)
          .bind_time(7, now_seconds());
      s.step();
      authority_id = s.integer(0);
    }
    Statement(*db_,
              "UPDATE ca_rollovers SET approved_by = ?, approved_at = ?, new_authority_id = ? "
              "WHERE id = ?")
        .bind(1, approved_by)
        .bind_time(2, now_seconds())
        .bind(3, authority_id)
        .bind(4, request_id)
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return authority_id;
  });
}

Status SqliteStore::record_ca_event(const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::int64_t> SqliteStore::reserve_serial(const SerialReservation& r) {
  return guarded([&]() -> Result<std::int64_t> {
    Transaction txn(*db_);
    if (serial_taken(*db_, r.authority_id, r.serial_hex))
      return make_error(errc::kSerialDuplicado,
                        fmt::format("El número de serie {} ya fue usado.", r.serial_hex));
    Statement(*db_,
              "INSERT INTO certificates (authority_id, serial_hex, taxpayer_id, environment, "
              "status, created_at) VALUES (?, ?, ?, ?, 'reserved', ?)")
        .bind(1, r.authority_id)
        .bind(2, r.serial_hex)
        .bind(3, r.taxpayer_id)
        .bind(4, environment_name(r.environment))
        .bind_time(5, now_seconds())
        .run();
    std::int64_t id = sqlite3_last_insert_rowid(*db_);
    txn.commit();
    return id;
  });
}

Result<std::optional<CertificateRecord>> SqliteStore::activate_certificate(
    const Activation& a, const AuditEvent& audit) {
  return guarded([&]() -> Result<std::optional<CertificateRecord>> {
    Transaction txn(*db_);
    CertificateRecord reserved = certificate_by_id(*db_, a.certificate_id);
    if (reserved.status != CertificateStatus::kReserved)
      return make_error(errc::kCertificadoNoReservado,
                        "El certificado ya fue activado o revocado.");
    const std::string env(environment_name(reserved.environment));
    // Immediate: the active key is superseded. Pending: only an earlier
    // pending key is, together with the file waiting for it.
    std::optional<CertificateRecord> previous =
        certificate_in(*db_, reserved.taxpayer_id, env, a.pending_until ? "pending" : "active");
    const UnixSeconds now = now_seconds();
    if (previous) {
      revoke(*db_, previous->id, now, RevocationReason::kSuperseded);
      if (a.pending_until)
        Statement(*db_, "DELETE FROM pending_downloads WHERE certificate_id = ?")
            .bind(1, previous->id)
            .run();
      previous->status = CertificateStatus::kRevoked;
      previous->revoked_at = now;
      previous->revocation_reason = RevocationReason::kSuperseded;
    }
    Statement(*db_,
              "UPDATE certificates SET status = ?, certificate_der = ?, not_before = ?, "
              "not_after = ?, facturador_gratuito = ?, pending_until = ? WHERE id = ?")
        .bind(1, a.pending_until ? "pending" : "active")
        .bind(2, a.certificate_der)
        .bind_time(3, a.not_before)
        .bind_time(4, a.not_after)
        .bind(5, static_cast<std::int64_t>(a.facturador_gratuito ? 1 : 0))
        .bind_optional(6, a.pending_until ? std::optional(format_utc(*a.pending_until))
                                          : std::optional<std::string>())
        .bind(7, a.certificate_id)
        .run();
    if (!a.custody_wrapped_key.empty())
      Statement(*db_,
                "INSERT INTO llaves_custodia (certificate_id, llave_envuelta, created_at) "
                "VALUES (?, ?, ?)")
          .bind(1, a.certificate_id)
          .bind(2, a.custody_wrapped_key)
          .bind_time(3, now)
          .run();
    append_audit(*db_, audit);
    txn.commit();
    return previous;
  });
}

Result<std::optional<CertificateRecord>> SqliteStore::activate_pending(std::int64_t certificate_id,
                                                                       const AuditEvent& audit) {
  return guarded([&]() -> Result<std::optional<CertificateRecord>> {
    Transaction txn(*db_);
    CertificateRecord pending = certificate_by_id(*db_, certificate_id);
    if (pending.status == CertificateStatus::kActive) return std::optional<CertificateRecord>();
    if (pending.status != CertificateStatus::kPending)
      return make_error(errc::kLlaveNoPendiente,
                        "La llave ya no está pendiente de descarga: fue anulada o revocada.");
    const std::string env(environment_name(pending.environment));
    std::optional<CertificateRecord> previous = active_certificate(*db_, pending.taxpayer_id, env);
    const UnixSeconds now = now_seconds();
    if (previous) {
      revoke(*db_, previous->id, now, RevocationReason::kSuperseded);
      previous->status = CertificateStatus::kRevoked;
      previous->revoked_at = now;
      previous->revocation_reason = RevocationReason::kSuperseded;
    }
    Statement(*db_,
              "UPDATE certificates SET status = 'active', pending_until = NULL WHERE id = ? AND "
              "status = 'pending'")
        .bind(1, certificate_id)
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return previous;
  });
}

Result<std::vector<CertificateRecord>> SqliteStore::pending_before(UnixSeconds before) {
  return guarded([&]() -> Result<std::vector<CertificateRecord>> {
    std::vector<CertificateRecord> out;
    Statement s(*db_, fmt::format("SELECT {} FROM certificates WHERE status = 'pending' AND "
                                  "pending_until < ? ORDER BY id",
                                  kCertificateColumns));
    s.bind_time(1, before);
    while (s.step()) out.push_back(certificate_from(s));
    return out;
  });
}

Status SqliteStore::revoke_pending(std::int64_t certificate_id, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    CertificateRecord pending = certificate_by_id(*db_, certificate_id);
    if (pending.status != CertificateStatus::kPending)
      return make_error(errc::kLlaveNoPendiente, "La llave ya no está pendiente de descarga.");
    revoke(*db_, certificate_id, now_seconds(), std::nullopt);
    Statement(*db_, "DELETE FROM pending_downloads WHERE certificate_id = ?")
        .bind(1, certificate_id)
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<CertificateRecord> SqliteStore::revoke_active(std::int64_t taxpayer_id, Environment env,
                                                     std::optional<RevocationReason> reason,
                                                     const AuditEvent& audit) {
  return guarded([&]() -> Result<CertificateRecord> {
    Transaction txn(*db_);
    auto active = active_certificate(*db_, taxpayer_id, environment_name(env));
    if (!active)
      return make_error(errc::kSinLlaveActiva,
                        fmt::format("No hay una llave criptográfica activa en {} para revocar.",
                                    environment_label(env)));
    const UnixSeconds now = now_seconds();
    revoke(*db_, active->id, now, reason);
    append_audit(*db_, audit);
    txn.commit();
    active->status = CertificateStatus::kRevoked;
    active->revoked_at = now;
    active->revocation_reason = reason;
    return *active;
  });
}

Result<std::vector<CertificateRecord>> SqliteStore::certificates_of(std::int64_t taxpayer_id) {
  return guarded([&]() -> Result<std::vector<CertificateRecord>> {
    std::vector<CertificateRecord> out;
    Statement s(*db_, fmt::format("SELECT {} FROM certificates WHERE taxpayer_id = ? AND status <> "
                                  "'reserved' ORDER BY not_before DESC, id DESC",
                                  kCertificateColumns));
    s.bind(1, taxpayer_id);
    while (s.step()) out.push_back(certificate_from(s));
    return out;
  });
}

Result<std::optional<CertificateRecord>> SqliteStore::find_certificate(
    std::int64_t authority_id, const std::string& serial_hex) {
  return guarded([&]() -> Result<std::optional<CertificateRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM certificates WHERE authority_id = ? AND "
                                  "serial_hex = ?",
                                  kCertificateColumns));
    s.bind(1, authority_id).bind(2, serial_hex);
    if (!s.step()) return std::optional<CertificateRecord>();
    return std::optional<CertificateRecord>(certificate_from(s));
  });
}

Result<std::vector<RevokedEntry>> SqliteStore::revoked_certificates(std::int64_t authority_id,
                                                                    UnixSeconds now) {
  return guarded([&]() -> Result<std::vector<RevokedEntry>> {
    std::vector<RevokedEntry> out;
    Statement s(*db_,
                "SELECT serial_hex, revoked_at, revocation_reason FROM certificates "
                "WHERE authority_id = ? AND status = 'revoked' AND not_after >= ?");
    s.bind(1, authority_id).bind_time(2, now);
    while (s.step())
      out.push_back(
          RevokedEntry{s.text(0), s.time(1, "certificates.revoked_at"),
                       reason_from(s.optional_text(2), "certificates.revocation_reason")});
    return out;
  });
}

Result<std::int64_t> SqliteStore::next_crl_number(std::int64_t authority_id) {
  return guarded([&]() -> Result<std::int64_t> {
    Transaction txn(*db_);
    Statement(*db_,
              "INSERT INTO crl_numbers (authority_id, last_number) VALUES (?, 1) "
              "ON CONFLICT (authority_id) DO UPDATE SET last_number = last_number + 1")
        .bind(1, authority_id)
        .run();
    Statement s(*db_, "SELECT last_number FROM crl_numbers WHERE authority_id = ?");
    s.bind(1, authority_id);
    if (!s.step()) throw SqlFailure(errc::kErrorAlmacen, "Número de CRL perdido.");
    std::int64_t number = s.integer(0);
    txn.commit();
    return number;
  });
}

Status SqliteStore::add_crl(const CrlRecord& crl) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_,
              "INSERT OR IGNORE INTO crls (authority_id, number, epoch, this_update, next_update, "
              "der) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, crl.authority_id)
        .bind(2, crl.number)
        .bind(3, crl.epoch)
        .bind_time(4, crl.this_update)
        .bind_time(5, crl.next_update)
        .bind(6, crl.der)
        .run();
    Statement(*db_, "DELETE FROM crls WHERE authority_id = ? AND number < ?")
        .bind(1, crl.authority_id)
        .bind(2, crl.number)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<CrlRecord>> SqliteStore::latest_crl(std::int64_t authority_id,
                                                         std::int64_t newer_than) {
  return guarded([&]() -> Result<std::optional<CrlRecord>> {
    Statement s(*db_,
                "SELECT number, epoch, this_update, next_update, der FROM crls "
                "WHERE authority_id = ? AND number > ? ORDER BY number DESC LIMIT 1");
    s.bind(1, authority_id).bind(2, newer_than);
    if (!s.step()) return std::optional<CrlRecord>();
    return std::optional<CrlRecord>(CrlRecord{authority_id, s.integer(0), s.integer(1),
                                              s.time(2, "crls.this_update"),
                                              s.time(3, "crls.next_update"), s.blob(4)});
  });
}

Result<std::int64_t> SqliteStore::revocation_epoch() {
  return guarded([&]() -> Result<std::int64_t> {
    Statement s(*db_, "SELECT value FROM counters WHERE name = 'revocations'");
    return s.step() ? s.integer(0) : std::int64_t{0};
  });
}

Result<std::optional<ResponderRecord>> SqliteStore::current_responder(std::int64_t authority_id,
                                                                      UnixSeconds valid_after) {
  return guarded([&]() -> Result<std::optional<ResponderRecord>> {
    Statement s(*db_,
                "SELECT serial_hex, certificate_der, key_pem, not_after FROM ocsp_responders "
                "WHERE authority_id = ? AND not_after > ? ORDER BY not_after DESC LIMIT 1");
    s.bind(1, authority_id).bind_time(2, valid_after);
    if (!s.step()) return std::optional<ResponderRecord>();
    return std::optional<ResponderRecord>(ResponderRecord{
        authority_id, s.text(0), s.blob(1), s.text(2), s.time(3, "ocsp_responders.not_after")});
  });
}

Status SqliteStore::add_responder(const ResponderRecord& r, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    if (serial_taken(*db_, r.authority_id, r.serial_hex))
      return make_error(errc::kSerialDuplicado,
                        fmt::format("El número de serie {} ya fue usado.", r.serial_hex));
    Statement(*db_,
              "INSERT INTO ocsp_responders (authority_id, serial_hex, certificate_der, key_pem, "
              "not_after, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(1, r.authority_id)
        .bind(2, r.serial_hex)
        .bind(3, r.certificate_der)
        .bind(4, r.key_pem)
        .bind_time(5, r.not_after)
        .bind_time(6, now_seconds())
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Status SqliteStore::ping() {
  return guarded([&]() -> Status {
    Statement s(*db_, "SELECT 1");
    s.step();
    return Ok{};
  });
}

Result<bool> SqliteStore::lead() {
  return true;  // one server per SQLite file: it is the leader
}

Status SqliteStore::set_password_hash(std::int64_t taxpayer_id, const std::string& hash,
                                      const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_, "UPDATE taxpayers SET password_hash = ? WHERE id = ?")
        .bind(1, hash)
        .bind(2, taxpayer_id)
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<std::string>> SqliteStore::password_hash(std::int64_t taxpayer_id) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    Statement s(*db_, "SELECT password_hash FROM taxpayers WHERE id = ?");
    s.bind(1, taxpayer_id);
    if (!s.step()) return std::optional<std::string>();
    return s.optional_text(0);
  });
}

Status SqliteStore::record_login_event(const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Status SqliteStore::create_session(const SessionRecord& r, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    insert_session(*db_, kPortalSessions, r);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<SessionRecord>> SqliteStore::find_session(const std::string& id_hash) {
  return guarded([&]() -> Result<std::optional<SessionRecord>> {
    return find_session_row<SessionRecord>(*db_, kPortalSessions, id_hash);
  });
}

Status SqliteStore::touch_session(const std::string& id_hash, UnixSeconds last_seen) {
  return guarded([&]() -> Status {
    touch_session_row(*db_, kPortalSessions, id_hash, last_seen);
    return Ok{};
  });
}

Status SqliteStore::delete_session(const std::string& id_hash) {
  return guarded([&]() -> Status {
    delete_session_row(*db_, kPortalSessions, id_hash);
    return Ok{};
  });
}

Result<bool> SqliteStore::spend_nonce(const std::string& nonce_hash, UnixSeconds now) {
  return guarded([&]() -> Result<bool> {
    Statement(*db_,
              "INSERT INTO spent_nonces (nonce_hash, spent_at) VALUES (?, ?) "
              "ON CONFLICT (nonce_hash) DO NOTHING")
        .bind(1, nonce_hash)
        .bind_time(2, now)
        .run();
    return sqlite3_changes(*db_) == 1;
  });
}

Status SqliteStore::put_download(const PendingDownload& d) {
  return guarded([&]() -> Status {
    Statement(*db_,
              "INSERT INTO pending_downloads (token_hash, taxpayer_id, environment, file_name, "
              "ciphertext, expires_at, certificate_id) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, d.token_hash)
        .bind(2, d.taxpayer_id)
        .bind(3, environment_name(d.environment))
        .bind(4, d.file_name)
        .bind(5, d.ciphertext)
        .bind_time(6, d.expires_at)
        .bind_optional(7, d.certificate_id)
        .run();
    return Ok{};
  });
}

Result<std::optional<PendingDownload>> SqliteStore::find_download(const std::string& token_hash) {
  return guarded([&]() -> Result<std::optional<PendingDownload>> {
    Statement s(*db_,
                "SELECT token_hash, taxpayer_id, environment, file_name, ciphertext, expires_at, "
                "certificate_id FROM pending_downloads WHERE token_hash = ?");
    s.bind(1, token_hash);
    if (!s.step()) return std::optional<PendingDownload>();
    return std::optional<PendingDownload>(PendingDownload{
        s.text(0), s.integer(1), environment_from(s.text(2), "pending_downloads.environment"),
        s.text(3), s.blob(4), s.time(5, "pending_downloads.expires_at"), s.optional_integer(6)});
  });
}

Status SqliteStore::delete_download(const std::string& token_hash) {
  return guarded([&]() -> Status {
    Statement(*db_, "DELETE FROM pending_downloads WHERE token_hash = ?").bind(1, token_hash).run();
    return Ok{};
  });
}

Status SqliteStore::purge(UnixSeconds now, UnixSeconds idle_before) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_, "DELETE FROM pending_downloads WHERE expires_at <= ?").bind_time(1, now).run();
    Statement(*db_, "DELETE FROM sessions WHERE last_seen < ?").bind_time(1, idle_before).run();
    Statement(*db_, "DELETE FROM spent_nonces WHERE spent_at < ?").bind_time(1, idle_before).run();
    txn.commit();
    return Ok{};
  });
}

Status SqliteStore::set_api_credential(const ApiCredential& c, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_,
              "INSERT INTO api_credentials (taxpayer_id, environment, username, password_hash, "
              "created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (taxpayer_id, environment) DO UPDATE "
              "SET username = excluded.username, password_hash = excluded.password_hash, "
              "created_at = excluded.created_at")
        .bind(1, c.taxpayer_id)
        .bind(2, environment_name(c.environment))
        .bind(3, c.username)
        .bind(4, c.password_hash)
        .bind_time(5, now_seconds())
        .run();
    // A new password ends every session of the old one: refresh tokens
    // issued before it mint no more access tokens.
    Statement(*db_, "UPDATE refresh_tokens SET revoked = 1 WHERE username = ?")
        .bind(1, c.username)
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<ApiCredential>> SqliteStore::find_api_credential(const std::string& username) {
  return guarded([&]() -> Result<std::optional<ApiCredential>> {
    Statement s(*db_,
                "SELECT taxpayer_id, environment, username, password_hash FROM api_credentials "
                "WHERE username = ?");
    s.bind(1, username);
    if (!s.step()) return std::optional<ApiCredential>();
    return std::optional<ApiCredential>(
        ApiCredential{s.integer(0), environment_from(s.text(1), "api_credentials.environment"),
                      s.text(2), s.text(3)});
  });
}

Status SqliteStore::put_refresh_token(const RefreshTokenRecord& t) {
  return guarded([&]() -> Status {
    Statement(*db_,
              "INSERT INTO refresh_tokens (token_hash, session_id, username, realm, client_id, "
              "expires_at, revoked) VALUES (?, ?, ?, ?, ?, ?, 0)")
        .bind(1, t.token_hash)
        .bind(2, t.session_id)
        .bind(3, t.username)
        .bind(4, t.realm)
        .bind(5, t.client_id)
        .bind_time(6, t.expires_at)
        .run();
    return Ok{};
  });
}

Result<std::optional<RefreshTokenRecord>> SqliteStore::find_refresh_token(const std::string& hash) {
  return guarded([&]() -> Result<std::optional<RefreshTokenRecord>> {
    Statement s(*db_,
                "SELECT token_hash, session_id, username, realm, client_id, expires_at, revoked "
                "FROM refresh_tokens WHERE token_hash = ?");
    s.bind(1, hash);
    if (!s.step()) return std::optional<RefreshTokenRecord>();
    return std::optional<RefreshTokenRecord>(
        RefreshTokenRecord{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4),
                           s.time(5, "refresh_tokens.expires_at"), s.integer(6) != 0});
  });
}

Status SqliteStore::revoke_token_session(const std::string& session_id) {
  return guarded([&]() -> Status {
    Statement(*db_, "UPDATE refresh_tokens SET revoked = 1 WHERE session_id = ?")
        .bind(1, session_id)
        .run();
    return Ok{};
  });
}

Result<std::optional<RefreshTokenRecord>> SqliteStore::spend_refresh_token(
    const std::string& hash, std::string_view realm, std::string_view client_id) {
  return guarded([&]() -> Result<std::optional<RefreshTokenRecord>> {
    Transaction txn(*db_);
    Statement s(*db_,
                "SELECT token_hash, session_id, username, realm, client_id, expires_at, revoked "
                "FROM refresh_tokens WHERE token_hash = ?");
    s.bind(1, hash);
    if (!s.step()) return std::optional<RefreshTokenRecord>();
    RefreshTokenRecord record{s.text(0),        s.text(1), s.text(2),
                              s.text(3),        s.text(4), s.time(5, "refresh_tokens.expires_at"),
                              s.integer(6) != 0};
    if (record.realm != realm || record.client_id != client_id)
      return std::optional<RefreshTokenRecord>(std::move(record));
    if (record.revoked)
      Statement(*db_, "UPDATE refresh_tokens SET revoked = 1 WHERE session_id = ?")
          .bind(1, record.session_id)
          .run();
    else
      Statement(*db_, "UPDATE refresh_tokens SET revoked = 1 WHERE token_hash = ?")
          .bind(1, hash)
          .run();
    txn.commit();
    return std::optional<RefreshTokenRecord>(std::move(record));
  });
}

Status SqliteStore::put_service_key(const ServiceKey& k, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_,
              "INSERT INTO service_keys (name, key_pem, certificate_der, created_at) "
              "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO NOTHING")
        .bind(1, k.name)
        .bind(2, k.key_pem)
        .bind(3, k.certificate_der)
        .bind_time(4, now_seconds())
        .run();
    if (sqlite3_changes(*db_) == 1) append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<ServiceKey>> SqliteStore::service_key(const std::string& name) {
  return guarded([&]() -> Result<std::optional<ServiceKey>> {
    Statement s(*db_, "SELECT name, key_pem, certificate_der FROM service_keys WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return std::optional<ServiceKey>();
    return std::optional<ServiceKey>(ServiceKey{s.text(0), s.text(1), s.blob(2)});
  });
}

Status SqliteStore::add_comprobante(const ComprobanteRecord& c) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    {
      Statement s(*db_, "SELECT 1 FROM comprobantes WHERE clave = ?");
      s.bind(1, c.clave);
      if (s.step())
        return make_error(errc::kClaveDuplicada,
                          fmt::format("El comprobante con clave {} ya fue recibido.", c.clave));
    }
    if (c.consecutivo) {
      Statement s(*db_,
                  "SELECT clave FROM comprobantes WHERE environment = ? AND emisor_numero = ? "
                  "AND consecutivo = ?");
      s.bind(1, environment_name(c.environment)).bind(2, c.emisor_numero).bind(3, *c.consecutivo);
      if (s.step())
        return make_error(errc::kConsecutivoUsado,
                          fmt::format("El consecutivo {} ya fue utilizado por el emisor en el "
                                      "comprobante {}.",
                                      *c.consecutivo, s.text(0)));
    }
    const UnixSeconds now = now_seconds();
    Statement(*db_, fmt::format("INSERT INTO comprobantes ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                "'recibido', NULL, ?, ?, ?, NULL, 0, NULL, ?, NULL, ?)",
                                kComprobanteColumns))
        .bind(1, c.clave)
        .bind(2, environment_name(c.environment))
        .bind(3, c.username)
        .bind(4, c.fecha)
        .bind(5, c.emisor_tipo)
        .bind(6, c.emisor_numero)
        .bind_optional(7, c.receptor_tipo)
        .bind_optional(8, c.receptor_numero)
        .bind(9, c.xml)
        .bind_time(10, now)
        .bind_time(11, now)
        .bind_optional(12, c.callback_url)
        .bind_optional(13, c.consecutivo)
        .bind_optional(14, c.escenario)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<ComprobanteRecord>> SqliteStore::find_comprobante(const std::string& clave) {
  return guarded([&]() -> Result<std::optional<ComprobanteRecord>> {
    Statement s(*db_,
                fmt::format("SELECT {} FROM comprobantes WHERE clave = ?", kComprobanteColumns));
    s.bind(1, clave);
    if (!s.step()) return std::optional<ComprobanteRecord>();
    return std::optional<ComprobanteRecord>(comprobante_from(s));
  });
}

Result<std::optional<ComprobanteRecord>> SqliteStore::claim_comprobante() {
  return guarded([&]() -> Result<std::optional<ComprobanteRecord>> {
    // A claim need not survive a power cut: at startup every 'procesando'
    // row goes back to 'recibido'. So this commit skips the fsync.
    exec(*db_, "PRAGMA synchronous = NORMAL");
    struct Restore {
      sqlite3* db;
      ~Restore() { sqlite3_exec(db, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr); }
    } restore{*db_};
    Transaction txn(*db_);
    std::optional<ComprobanteRecord> found;
    {
      // The IN term lets SQLite use the partial index of pending rows.
      Statement s(*db_, fmt::format("SELECT {} FROM comprobantes WHERE estado IN ('recibido', "
                                    "'procesando') AND estado = 'recibido' "
                                    "ORDER BY received_at LIMIT 1",
                                    kComprobanteColumns));
      if (s.step()) found = comprobante_from(s);
    }
    if (!found) return found;
    Statement(*db_, "UPDATE comprobantes SET estado = 'procesando', updated_at = ? WHERE clave = ?")
        .bind_time(1, now_seconds())
        .bind(2, found->clave)
        .run();
    txn.commit();
    found->state = ComprobanteState::kProcesando;
    return found;
  });
}

Status SqliteStore::finish_comprobante(const std::string& clave, ComprobanteState state,
                                       const Bytes& respuesta_xml) {
  return guarded([&]() -> Status {
    // A final state makes the callback due at once; it is stored with the
    // state, so a restart loses no callback.
    const bool final =
        state != ComprobanteState::kRecibido && state != ComprobanteState::kProcesando;
    const UnixSeconds now = now_seconds();
    Statement(*db_,
              "UPDATE comprobantes SET estado = ?, respuesta_xml = ?, updated_at = ?, "
              "callback_estado = CASE WHEN ? AND callback_url IS NOT NULL THEN 'pendiente' "
              "ELSE callback_estado END, "
              "callback_siguiente = CASE WHEN ? AND callback_url IS NOT NULL THEN ? "
              "ELSE callback_siguiente END WHERE clave = ?")
        .bind(1, state_name(state))
        .bind(2, respuesta_xml)
        .bind_time(3, now)
        .bind(4, static_cast<std::int64_t>(final))
        .bind(5, static_cast<std::int64_t>(final))
        .bind_time(6, now)
        .bind(7, clave)
        .run();
    return Ok{};
  });
}

Status SqliteStore::requeue_comprobantes(UnixSeconds claimed_before) {
  return guarded([&]() -> Status {
    Statement(*db_,
              "UPDATE comprobantes SET estado = 'recibido' WHERE estado = 'procesando' "
              "AND updated_at <= ?")
        .bind_time(1, claimed_before)
        .run();
    return Ok{};
  });
}

Status SqliteStore::set_referencia(const std::string& clave, const std::string& referencia) {
  return guarded([&]() -> Status {
    Statement(*db_, "UPDATE comprobantes SET referencia = ? WHERE clave = ?")
        .bind(1, referencia)
        .bind(2, clave)
        .run();
    return Ok{};
  });
}

Result<std::optional<std::string>> SqliteStore::clave_with_consecutivo(
    Environment env, const std::string& emisor, const std::string& consecutivo,
    const std::string& except) {
  return guarded([&]() -> Result<std::optional<std::string>> {
    // The consecutivo is the clave's digits 22 to 41 (and the column when
    // stored); a MensajeReceptor (clave-consecutivoReceptor) has none.
    Statement s(*db_,
                "SELECT clave FROM comprobantes WHERE environment = ? AND emisor_numero = ? "
                "AND clave <> ? AND instr(clave, '-') = 0 "
                "AND (consecutivo = ? OR substr(clave, 22, 20) = ?) LIMIT 1");
    s.bind(1, environment_name(env))
        .bind(2, emisor)
        .bind(3, except)
        .bind(4, consecutivo)
        .bind(5, consecutivo);
    if (!s.step()) return std::optional<std::string>();
    return std::optional<std::string>(s.text(0));
  });
}

Result<std::vector<ComprobanteRecord>> SqliteStore::claim_callbacks(UnixSeconds now,
                                                                    UnixSeconds lease_until,
                                                                    int limit) {
  return guarded([&]() -> Result<std::vector<ComprobanteRecord>> {
    // Times are ISO-8601 UTC text, so they compare as text.
    Transaction txn(*db_);
    std::vector<ComprobanteRecord> out;
    {
      Statement s(*db_, fmt::format("SELECT {} FROM comprobantes WHERE callback_estado = "
                                    "'pendiente' AND callback_siguiente <= ? "
                                    "ORDER BY callback_siguiente LIMIT ?",
                                    kComprobanteColumns));
      s.bind_time(1, now).bind(2, static_cast<std::int64_t>(limit));
      while (s.step()) out.push_back(comprobante_from(s));
    }
    for (ComprobanteRecord& c : out) {
      Statement(*db_, "UPDATE comprobantes SET callback_siguiente = ? WHERE clave = ?")
          .bind_time(1, lease_until)
          .bind(2, c.clave)
          .run();
      c.callback_next = lease_until;
    }
    txn.commit();
    return out;
  });
}

Status SqliteStore::record_callback_attempt(const std::string& clave,
                                            const CallbackAttempt& attempt, CallbackState state,
                                            UnixSeconds next) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_,
              "INSERT INTO callback_intentos (clave, intento, at, status, error) "
              "VALUES (?, ?, ?, ?, ?)")
        .bind(1, clave)
        .bind(2, static_cast<std::int64_t>(attempt.number))
        .bind_time(3, attempt.at)
        .bind(4, static_cast<std::int64_t>(attempt.status))
        .bind(5, attempt.error)
        .run();
    Statement(*db_,
              "UPDATE comprobantes SET callback_estado = ?, callback_intentos = ?, "
              "callback_siguiente = ? WHERE clave = ?")
        .bind(1, callback_state_name(state))
        .bind(2, static_cast<std::int64_t>(attempt.number))
        .bind_time(3, next)
        .bind(4, clave)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<CallbackAttempt>> SqliteStore::callback_attempts(const std::string& clave) {
  return guarded([&]() -> Result<std::vector<CallbackAttempt>> {
    Statement s(*db_,
                "SELECT intento, at, status, error FROM callback_intentos WHERE clave = ? "
                "ORDER BY intento");
    s.bind(1, clave);
    std::vector<CallbackAttempt> out;
    while (s.step())
      out.push_back(CallbackAttempt{static_cast<int>(s.integer(0)),
                                    s.time(1, "callback_intentos.at"),
                                    static_cast<int>(s.integer(2)), s.text(3)});
    return out;
  });
}

Result<ComprobantePage> SqliteStore::list_comprobantes(const ComprobanteQuery& q) {
  return guarded([&]() -> Result<ComprobantePage> {
    const std::string where =
        "environment = ?1 AND (emisor_numero = ?2 OR receptor_numero = ?2) "
        "AND (?3 IS NULL OR emisor_numero = ?3) AND (?4 IS NULL OR receptor_numero = ?4) "
        "AND instr(clave, '-') = 0";
    auto bind = [&](Statement& s) {
      s.bind(1, environment_name(q.environment))
          .bind(2, q.party)
          .bind_optional(3, q.emisor)
          .bind_optional(4, q.receptor);
    };
    ComprobantePage page;
    {
      Statement s(*db_, "SELECT COUNT(*) FROM comprobantes WHERE " + where);
      bind(s);
      if (s.step()) page.total = s.integer(0);
    }
    Statement s(
        *db_, fmt::format("SELECT {} FROM comprobantes WHERE {} ORDER BY {} LIMIT ?5 "
                          "OFFSET ?6",
                          kComprobanteColumns, where,
                          q.newest_first ? "received_at DESC, clave DESC" : "received_at, clave"));
    bind(s);
    s.bind(5, q.limit).bind(6, q.offset);
    while (s.step()) page.items.push_back(comprobante_from(s));
    return page;
  });
}

Result<std::vector<ComprobanteRecord>> SqliteStore::referencing(const std::string& clave) {
  return guarded([&]() -> Result<std::vector<ComprobanteRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM comprobantes WHERE referencia = ? ORDER BY "
                                  "received_at",
                                  kComprobanteColumns));
    s.bind(1, clave);
    std::vector<ComprobanteRecord> out;
    while (s.step()) out.push_back(comprobante_from(s));
    return out;
  });
}

Result<std::int64_t> SqliteStore::purge_comprobantes(Environment env) {
  return guarded([&]() -> Result<std::int64_t> {
    Transaction txn(*db_);
    std::int64_t count = 0;
    {
      Statement s(*db_, "SELECT COUNT(*) FROM comprobantes WHERE environment = ?");
      s.bind(1, environment_name(env));
      if (s.step()) count = s.integer(0);
    }
    Statement(*db_,
              "DELETE FROM callback_intentos WHERE clave IN (SELECT clave FROM comprobantes "
              "WHERE environment = ?)")
        .bind(1, environment_name(env))
        .run();
    Statement(*db_, "DELETE FROM comprobantes WHERE environment = ?")
        .bind(1, environment_name(env))
        .run();
    txn.commit();
    return count;
  });
}

// --- MailStore ---------------------------------------------------------------------

Result<std::vector<MailRecord>> SqliteStore::claim_mails(UnixSeconds now, UnixSeconds lease_until,
                                                         int limit) {
  return guarded([&]() -> Result<std::vector<MailRecord>> {
    Transaction txn(*db_);
    std::vector<MailRecord> out;
    {
      Statement s(*db_, fmt::format("SELECT {} FROM correos_emitidos WHERE estado = 'pendiente' "
                                    "AND siguiente <= ? ORDER BY siguiente LIMIT ?",
                                    kMailColumns));
      s.bind_time(1, now).bind(2, static_cast<std::int64_t>(limit));
      while (s.step()) out.push_back(mail_from(s));
    }
    for (MailRecord& m : out) {
      Statement(*db_, "UPDATE correos_emitidos SET siguiente = ? WHERE clave = ?")
          .bind_time(1, lease_until)
          .bind(2, m.clave)
          .run();
      m.next = lease_until;
    }
    txn.commit();
    return out;
  });
}

Result<std::optional<MailRecord>> SqliteStore::find_mail(const std::string& clave) {
  return guarded([&]() -> Result<std::optional<MailRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM correos_emitidos WHERE clave = ?", kMailColumns));
    s.bind(1, clave);
    if (!s.step()) return std::optional<MailRecord>();
    return std::optional<MailRecord>(mail_from(s));
  });
}

Status SqliteStore::record_mail(const std::string& clave, const std::optional<MailAttempt>& attempt,
                                MailState state, int round_attempts, UnixSeconds next) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    if (attempt)
      Statement(*db_,
                "INSERT INTO correo_intentos (clave, intento, at, destinatario, entregado, error) "
                "VALUES (?, ?, ?, ?, ?, ?)")
          .bind(1, clave)
          .bind(2, static_cast<std::int64_t>(attempt->number))
          .bind_time(3, attempt->at)
          .bind(4, attempt->to)
          .bind(5, static_cast<std::int64_t>(attempt->delivered))
          .bind(6, attempt->error)
          .run();
    Statement(*db_,
              "UPDATE correos_emitidos SET estado = ?, intentos = ?, siguiente = ? "
              "WHERE clave = ?")
        .bind(1, mail_state_name(state))
        .bind(2, static_cast<std::int64_t>(round_attempts))
        .bind_time(3, next)
        .bind(4, clave)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<MailAttempt>> SqliteStore::mail_attempts(const std::string& clave) {
  return guarded([&]() -> Result<std::vector<MailAttempt>> {
    Statement s(*db_, fmt::format("SELECT {} FROM correo_intentos WHERE clave = ? ORDER BY intento",
                                  kMailAttemptColumns));
    s.bind(1, clave);
    std::vector<MailAttempt> out;
    while (s.step()) out.push_back(mail_attempt_from(s));
    return out;
  });
}

Status SqliteStore::request_mail(const std::string& clave, UnixSeconds now,
                                 const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_,
              "INSERT INTO correos_emitidos (clave, estado, intentos, siguiente) "
              "VALUES (?, 'pendiente', 0, ?) ON CONFLICT (clave) DO UPDATE SET "
              "estado = 'pendiente', intentos = 0, siguiente = excluded.siguiente")
        .bind(1, clave)
        .bind_time(2, now)
        .run();
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<AuditLog> SqliteStore::audit_log() {
  return guarded([&]() -> Result<AuditLog> {
    AuditLog log;
    exec(*db_, "BEGIN");  // one snapshot for rows and head
    try {
      Statement s(*db_,
                  "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log "
                  "ORDER BY seq");
      while (s.step())
        log.rows.push_back(AuditRow{s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4),
                                    s.text(5), s.text(6), s.text(7)});
      Statement h(*db_, "SELECT seq, hash FROM audit_head WHERE singleton = 1");
      if (h.step()) log.head = std::make_pair(h.integer(0), h.text(1));
    } catch (...) {
      sqlite3_exec(*db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    exec(*db_, "COMMIT");
    return log;
  });
}

// --- ToolStore ---------------------------------------------------------------------

Result<std::optional<CustodyRecord>> SqliteStore::custody_key(std::int64_t taxpayer_id,
                                                              Environment env) {
  return guarded([&]() -> Result<std::optional<CustodyRecord>> {
    Statement s(*db_,
                "SELECT c.id, c.serial_hex, c.certificate_der, k.llave_envuelta "
                "FROM llaves_custodia k JOIN certificates c ON c.id = k.certificate_id "
                "WHERE c.taxpayer_id = ? AND c.environment = ? AND c.status = 'active'");
    s.bind(1, taxpayer_id).bind(2, environment_name(env));
    if (!s.step()) return std::optional<CustodyRecord>();
    return std::optional<CustodyRecord>(
        CustodyRecord{s.integer(0), taxpayer_id, env, s.text(1), s.blob(2), s.blob(3)});
  });
}

Status SqliteStore::delete_custody_key(std::int64_t taxpayer_id, Environment env,
                                       const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_,
              "DELETE FROM llaves_custodia WHERE certificate_id IN (SELECT id FROM certificates "
              "WHERE taxpayer_id = ? AND environment = ?)")
        .bind(1, taxpayer_id)
        .bind(2, environment_name(env))
        .run();
    if (sqlite3_changes(*db_) == 0)
      return make_error(errc::kSinLlaveCustodia,
                        "No hay una llave guardada para firmar automáticamente.");
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<EmittedRecord> SqliteStore::emit_numbered(
    const ConsecutivoKey& key,
    const std::function<Result<NumberedEmission>(std::int64_t numero)>& build) {
  return guarded([&]() -> Result<EmittedRecord> {
    Transaction txn(*db_);
    const std::string env(environment_name(key.environment));
    std::int64_t numero = 1;
    {
      Statement s(*db_,
                  "SELECT ultimo FROM consecutivos WHERE environment = ? AND emisor = ? AND "
                  "sucursal = ? AND terminal = ? AND tipo = ?");
      s.bind(1, env)
          .bind(2, key.emisor)
          .bind(3, key.sucursal)
          .bind(4, key.terminal)
          .bind(5, key.tipo);
      if (s.step()) numero = s.integer(0) + 1;
    }
    auto built = build(numero);
    if (!built) return built.error();
    EmittedRecord& r = built->record;
    r.created_at = now_seconds();
    Statement(*db_,
              "INSERT INTO consecutivos (environment, emisor, sucursal, terminal, tipo, ultimo) "
              "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (environment, emisor, sucursal, terminal, "
              "tipo) DO UPDATE SET ultimo = excluded.ultimo")
        .bind(1, env)
        .bind(2, key.emisor)
        .bind(3, key.sucursal)
        .bind(4, key.terminal)
        .bind(5, key.tipo)
        .bind(6, numero)
        .run();
    Statement(*db_, fmt::format("INSERT INTO emitidos ({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                kEmittedColumns))
        .bind(1, r.clave)
        .bind(2, environment_name(r.environment))
        .bind(3, r.taxpayer_id)
        .bind(4, r.tipo)
        .bind(5, r.consecutivo)
        .bind(6, r.receptor_nombre)
        .bind(7, r.total)
        .bind(8, r.moneda)
        .bind(9, r.xml)
        .bind_time(10, r.created_at)
        .run();
    append_audit(*db_, built->audit);
    txn.commit();
    return std::move(r);
  });
}

Result<EmittedPage> SqliteStore::emitted(std::int64_t taxpayer_id, Environment env,
                                         const EmittedFilter& filter, std::int64_t offset,
                                         std::int64_t limit) {
  return guarded([&]() -> Result<EmittedPage> {
    constexpr std::string_view kWhere =
        "taxpayer_id = ?1 AND environment = ?2 "
        "AND ((?3 IS NULL AND ?4 IS NULL) OR receptor_nombre LIKE '%' || ?3 || '%' ESCAPE '\\' "
        "OR receptor_numero = ?4) "
        "AND (?5 IS NULL OR created_at >= ?5) AND (?6 IS NULL OR created_at < ?6) "
        "AND (?7 IS NULL OR estado = ?7) AND (?8 = 0 OR NOT recibido) "
        // A MensajeReceptor (05–07) is listed in Recibidos, beside what it answers.
        "AND tipo NOT IN ('05', '06', '07')";
    auto optional = [](const std::string& s) {
      return s.empty() ? std::nullopt : std::optional<std::string>(s);
    };
    auto time = [](const std::optional<UnixSeconds>& t) {
      return t ? std::optional<std::string>(format_utc(*t)) : std::nullopt;
    };
    const std::string pattern = like_literal(filter.receptor_text);
    auto bind = [&](Statement& s) {
      s.bind(1, taxpayer_id)
          .bind(2, environment_name(env))
          .bind_optional(3, optional(pattern))
          .bind_optional(4, optional(filter.receptor_digits))
          .bind_optional(5, time(filter.from))
          .bind_optional(6, time(filter.until))
          .bind_optional(7, filter.state ? std::optional<std::string>(state_name(*filter.state))
                                         : std::nullopt)
          .bind(8, std::int64_t{filter.not_received ? 1 : 0});
    };
    EmittedPage page;
    {
      Statement s(*db_, fmt::format("SELECT count(*) FROM {} WHERE {}", kEmittedJoined, kWhere));
      bind(s);
      if (s.step()) page.total = s.integer(0);
    }
    Statement s(*db_, fmt::format("SELECT {}, estado, respuesta_xml FROM {} WHERE {} "
                                  "ORDER BY created_at DESC, consecutivo DESC LIMIT ?9 OFFSET ?10",
                                  kEmittedColumns, kEmittedJoined, kWhere));
    bind(s);
    s.bind(9, limit).bind(10, offset);
    while (s.step()) page.items.push_back(emitted_row_from(s));
    return page;
  });
}

Result<std::optional<EmittedRecord>> SqliteStore::find_emitted(const std::string& clave) {
  return guarded([&]() -> Result<std::optional<EmittedRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM emitidos WHERE clave = ?", kEmittedColumns));
    s.bind(1, clave);
    if (!s.step()) return std::optional<EmittedRecord>();
    return std::optional<EmittedRecord>(emitted_from(s));
  });
}

Result<std::optional<EmittedRecord>> SqliteStore::receptor_answer(Environment env,
                                                                  const std::string& clave) {
  return guarded([&]() -> Result<std::optional<EmittedRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM emitidos WHERE environment = ? AND "
                                  "substr(clave, 1, 50) = ? AND tipo IN ('05', '06', '07')",
                                  kEmittedColumns));
    s.bind(1, environment_name(env)).bind(2, clave.substr(0, 50));
    if (!s.step()) return std::optional<EmittedRecord>();
    return std::optional<EmittedRecord>(emitted_from(s));
  });
}

// --- ToolStore: Clientes and Productos ------------------------------------------------

namespace {

[[noreturn]] void fail(const Error& error) {
  throw SqlFailure(error.code, error.message);
}

// Refuses an add to a list (`table`) that already has `max` entries.
void require_room(Connection& db, std::string_view table, std::int64_t taxpayer_id, Environment env,
                  std::int64_t max, std::string_view what) {
  Statement s(
      db, fmt::format("SELECT count(*) FROM {} WHERE taxpayer_id = ? AND environment = ?", table));
  s.bind(1, taxpayer_id).bind(2, environment_name(env));
  if (s.step() && s.integer(0) >= max) fail(list_full(what, max));
}

// Refuses a client whose identification the list has already (but `except`).
void require_new_identification(Connection& db, const ClienteRecord& c, std::int64_t except) {
  Statement s(db,
              "SELECT nombre FROM clientes WHERE taxpayer_id = ? AND environment = ? AND "
              "identificacion = ? AND id <> ?");
  s.bind(1, c.taxpayer_id).bind(2, environment_name(c.environment)).bind(3, c.identificacion);
  s.bind(4, except);
  if (s.step()) fail(cliente_duplicado(s.text(0)));
}

// Runs `statement` (which names the row by id, owner and environment, in
// that order, after its own parameters) and fails unless it changed a row.
void change_listed(Connection& db, Statement& statement, int first, std::int64_t id,
                   std::int64_t taxpayer_id, Environment env) {
  statement.bind(first, id).bind(first + 1, taxpayer_id).bind(first + 2, environment_name(env));
  statement.run();
  if (sqlite3_changes(db) == 0) fail(not_listed());
}

// Deletes an entry of a list (`table`) by id, owner and environment, with
// its audit row.
void delete_listed(Connection& db, std::string_view table, std::int64_t taxpayer_id,
                   Environment env, std::int64_t id, const AuditEvent& audit) {
  Transaction txn(db);
  Statement s(db, fmt::format("DELETE FROM {} WHERE id = ? AND taxpayer_id = ? AND "
                              "environment = ?",
                              table));
  change_listed(db, s, 1, id, taxpayer_id, env);
  append_audit(db, audit);
  txn.commit();
}

template <typename Record, typename From>
ListPage<Record> list_page(Connection& db, std::string_view table, std::string_view columns,
                           std::string_view order, std::int64_t taxpayer_id, Environment env,
                           std::int64_t offset, std::int64_t limit, From from) {
  ListPage<Record> page;
  {
    Statement s(db, fmt::format("SELECT count(*) FROM {} WHERE taxpayer_id = ? AND "
                                "environment = ?",
                                table));
    s.bind(1, taxpayer_id).bind(2, environment_name(env));
    if (s.step()) page.total = s.integer(0);
  }
  Statement s(db, fmt::format("SELECT {} FROM {} WHERE taxpayer_id = ? AND environment = ? "
                              "ORDER BY {} COLLATE NOCASE, id LIMIT ? OFFSET ?",
                              columns, table, order));
  s.bind(1, taxpayer_id).bind(2, environment_name(env)).bind(3, limit).bind(4, offset);
  while (s.step()) page.items.push_back(from(s));
  return page;
}

template <typename Record, typename From>
std::optional<Record> find_listed(Connection& db, std::string_view table, std::string_view columns,
                                  std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                  From from) {
  Statement s(db, fmt::format("SELECT {} FROM {} WHERE id = ? AND taxpayer_id = ? AND "
                              "environment = ?",
                              columns, table));
  s.bind(1, id).bind(2, taxpayer_id).bind(3, environment_name(env));
  if (!s.step()) return std::nullopt;
  return from(s);
}

}  // namespace

Result<ClienteRecord> SqliteStore::add_cliente(const ClienteRecord& c, std::int64_t max,
                                               const AuditEvent& audit) {
  return guarded([&]() -> Result<ClienteRecord> {
    Transaction txn(*db_);
    require_new_identification(*db_, c, 0);
    require_room(*db_, "clientes", c.taxpayer_id, c.environment, max, "clientes");
    Statement(*db_,
              "INSERT INTO clientes (taxpayer_id, environment, id_type, identificacion, nombre, "
              "correo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(1, c.taxpayer_id)
        .bind(2, environment_name(c.environment))
        .bind(3, id_type_code(c.id_type))
        .bind(4, c.identificacion)
        .bind(5, c.nombre)
        .bind(6, c.correo)
        .bind_time(7, now_seconds())
        .run();
    ClienteRecord out = c;
    out.id = sqlite3_last_insert_rowid(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return out;
  });
}

Status SqliteStore::update_cliente(const ClienteRecord& c, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    require_new_identification(*db_, c, c.id);
    Statement s(*db_,
                "UPDATE clientes SET id_type = ?, identificacion = ?, nombre = ?, correo = ? "
                "WHERE id = ? AND taxpayer_id = ? AND environment = ?");
    s.bind(1, id_type_code(c.id_type)).bind(2, c.identificacion).bind(3, c.nombre);
    s.bind(4, c.correo);
    change_listed(*db_, s, 5, c.id, c.taxpayer_id, c.environment);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Status SqliteStore::delete_cliente(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                   const AuditEvent& audit) {
  return guarded([&]() -> Status {
    delete_listed(*db_, "clientes", taxpayer_id, env, id, audit);
    return Ok{};
  });
}

Result<std::optional<ClienteRecord>> SqliteStore::find_cliente(std::int64_t taxpayer_id,
                                                               Environment env, std::int64_t id) {
  return guarded([&]() -> Result<std::optional<ClienteRecord>> {
    return find_listed<ClienteRecord>(*db_, "clientes", kClienteColumns, taxpayer_id, env, id,
                                      cliente_from<Statement>);
  });
}

Result<ListPage<ClienteRecord>> SqliteStore::clientes(std::int64_t taxpayer_id, Environment env,
                                                      std::int64_t offset, std::int64_t limit) {
  return guarded([&]() -> Result<ListPage<ClienteRecord>> {
    return list_page<ClienteRecord>(*db_, "clientes", kClienteColumns, "nombre", taxpayer_id, env,
                                    offset, limit, cliente_from<Statement>);
  });
}

Result<ProductoRecord> SqliteStore::add_producto(const ProductoRecord& p, std::int64_t max,
                                                 const AuditEvent& audit) {
  return guarded([&]() -> Result<ProductoRecord> {
    Transaction txn(*db_);
    require_room(*db_, "productos", p.taxpayer_id, p.environment, max, "productos");
    Statement(*db_,
              "INSERT INTO productos (taxpayer_id, environment, cabys, descripcion, unidad, "
              "precio, tarifa, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, p.taxpayer_id)
        .bind(2, environment_name(p.environment))
        .bind(3, p.cabys)
        .bind(4, p.descripcion)
        .bind(5, p.unidad)
        .bind(6, p.precio)
        .bind(7, p.tarifa)
        .bind_time(8, now_seconds())
        .run();
    ProductoRecord out = p;
    out.id = sqlite3_last_insert_rowid(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return out;
  });
}

Status SqliteStore::update_producto(const ProductoRecord& p, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement s(*db_,
                "UPDATE productos SET cabys = ?, descripcion = ?, unidad = ?, precio = ?, "
                "tarifa = ? WHERE id = ? AND taxpayer_id = ? AND environment = ?");
    s.bind(1, p.cabys).bind(2, p.descripcion).bind(3, p.unidad).bind(4, p.precio);
    s.bind(5, p.tarifa);
    change_listed(*db_, s, 6, p.id, p.taxpayer_id, p.environment);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Status SqliteStore::delete_producto(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                    const AuditEvent& audit) {
  return guarded([&]() -> Status {
    delete_listed(*db_, "productos", taxpayer_id, env, id, audit);
    return Ok{};
  });
}

Result<std::optional<ProductoRecord>> SqliteStore::find_producto(std::int64_t taxpayer_id,
                                                                 Environment env, std::int64_t id) {
  return guarded([&]() -> Result<std::optional<ProductoRecord>> {
    return find_listed<ProductoRecord>(*db_, "productos", kProductoColumns, taxpayer_id, env, id,
                                       producto_from<Statement>);
  });
}

Result<ListPage<ProductoRecord>> SqliteStore::productos(std::int64_t taxpayer_id, Environment env,
                                                        std::int64_t offset, std::int64_t limit) {
  return guarded([&]() -> Result<ListPage<ProductoRecord>> {
    return list_page<ProductoRecord>(*db_, "productos", kProductoColumns, "descripcion",
                                     taxpayer_id, env, offset, limit, producto_from<Statement>);
  });
}

// ---------------------------------------------------------------- OperatorStore

Result<OperatorRecord> SqliteStore::add_operator(const OperatorRecord& record,
                                                 const AuditEvent& audit) {
  return guarded([&]() -> Result<OperatorRecord> {
    Transaction txn(*db_);
    {
      Statement s(*db_, "SELECT 1 FROM operators WHERE username = ?");
      s.bind(1, record.username);
      if (s.step())
        return make_error(errc::kOperadorDuplicado,
                          fmt::format("Ya existe un operador con el usuario {}.", record.username));
    }
    OperatorRecord r = record;
    r.created_at = now_seconds();
    Statement s(*db_,
                "INSERT INTO operators (username, role, password_hash, disabled, created_at) "
                "VALUES (?, ?, ?, ?, ?)");
    s.bind(1, r.username)
        .bind(2, operator_role_name(r.role))
        .bind(3, r.password_hash)
        .bind(4, static_cast<std::int64_t>(r.disabled))
        .bind_time(5, r.created_at);
    s.run();
    r.id = sqlite3_last_insert_rowid(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return r;
  });
}

Result<std::optional<OperatorRecord>> SqliteStore::find_operator(const std::string& username) {
  return guarded([&]() -> Result<std::optional<OperatorRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM operators WHERE username = ?", kOperatorColumns));
    s.bind(1, username);
    if (!s.step()) return std::optional<OperatorRecord>();
    return std::optional<OperatorRecord>(operator_from(s));
  });
}

Result<std::optional<OperatorRecord>> SqliteStore::find_operator_by_id(std::int64_t id) {
  return guarded([&]() -> Result<std::optional<OperatorRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM operators WHERE id = ?", kOperatorColumns));
    s.bind(1, id);
    if (!s.step()) return std::optional<OperatorRecord>();
    return std::optional<OperatorRecord>(operator_from(s));
  });
}

Result<std::vector<OperatorRecord>> SqliteStore::operators() {
  return guarded([&]() -> Result<std::vector<OperatorRecord>> {
    Statement s(*db_, fmt::format("SELECT {} FROM operators ORDER BY username", kOperatorColumns));
    std::vector<OperatorRecord> out;
    while (s.step()) out.push_back(operator_from(s));
    return out;
  });
}

Status SqliteStore::set_operator_disabled(std::int64_t id, bool disabled, const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    Statement(*db_, "UPDATE operators SET disabled = ? WHERE id = ?")
        .bind(1, static_cast<std::int64_t>(disabled))
        .bind(2, id)
        .run();
    if (disabled)
      Statement(*db_, "DELETE FROM operator_sessions WHERE operator_id = ?").bind(1, id).run();
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Status SqliteStore::set_operator_totp(std::int64_t id, const Bytes& sealed) {
  return guarded([&]() -> Status {
    Statement(*db_, "UPDATE operators SET totp_sealed = ? WHERE id = ? AND totp_enrolled = 0")
        .bind(1, sealed)
        .bind(2, id)
        .run();
    return Ok{};
  });
}

Result<bool> SqliteStore::spend_totp_step(std::int64_t id, std::int64_t step) {
  return guarded([&]() -> Result<bool> {
    Statement update(*db_,
                     "UPDATE operators SET totp_last_step = ?, totp_enrolled = 1 "
                     "WHERE id = ? AND totp_last_step < ?");
    update.bind(1, step).bind(2, id).bind(3, step);
    update.run();
    return sqlite3_changes(*db_) == 1;
  });
}

Status SqliteStore::create_operator_session(const OperatorSessionRecord& r,
                                            const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    insert_session(*db_, kOperatorSessions, r);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<OperatorSessionRecord>> SqliteStore::find_operator_session(
    const std::string& id_hash) {
  return guarded([&]() -> Result<std::optional<OperatorSessionRecord>> {
    return find_session_row<OperatorSessionRecord>(*db_, kOperatorSessions, id_hash);
  });
}

Status SqliteStore::touch_operator_session(const std::string& id_hash, UnixSeconds last_seen) {
  return guarded([&]() -> Status {
    touch_session_row(*db_, kOperatorSessions, id_hash, last_seen);
    return Ok{};
  });
}

Status SqliteStore::delete_operator_session(const std::string& id_hash) {
  return guarded([&]() -> Status {
    delete_session_row(*db_, kOperatorSessions, id_hash);
    return Ok{};
  });
}

Status SqliteStore::purge_operator_sessions(UnixSeconds idle_before) {
  return guarded([&]() -> Status {
    Statement(*db_, "DELETE FROM operator_sessions WHERE last_seen < ?")
        .bind_time(1, idle_before)
        .run();
    return Ok{};
  });
}

Status SqliteStore::record_operator_event(const AuditEvent& audit) {
  return guarded([&]() -> Status {
    Transaction txn(*db_);
    append_audit(*db_, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<TaxpayerRecord>> SqliteStore::search_taxpayers(const std::string& text,
                                                                  int limit) {
  return guarded([&]() -> Result<std::vector<TaxpayerRecord>> {
    // The text is matched literally: LIKE's wildcards in it are escaped.
    std::string pattern = "%";
    for (char c : text) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    Statement s(*db_, fmt::format("SELECT {} FROM taxpayers WHERE identification LIKE ? ESCAPE "
                                  "'\\' OR lower(nombre || ' ' || apellidos) LIKE lower(?) "
                                  "ESCAPE '\\' ORDER BY identification LIMIT ?",
                                  kTaxpayerColumns));
    s.bind(1, pattern).bind(2, pattern).bind(3, static_cast<std::int64_t>(limit));
    std::vector<TaxpayerRecord> out;
    while (s.step()) out.push_back(taxpayer_from(s));
    return out;
  });
}

Result<std::vector<AuthorityCounts>> SqliteStore::authority_counts() {
  return guarded([&]() -> Result<std::vector<AuthorityCounts>> {
    Statement s(*db_,
                "SELECT authority_id, SUM(CASE WHEN status <> 'reserved' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) FROM certificates "
                "GROUP BY authority_id ORDER BY authority_id");
    std::vector<AuthorityCounts> out;
    while (s.step()) out.push_back(AuthorityCounts{s.integer(0), s.integer(1), s.integer(2)});
    return out;
  });
}

}  // namespace llavero
