#include "store/postgres/postgres_store.h"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "store/audit.h"
#include "store/migrations.h"
#include "store/stored_names.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero {

using namespace stored;  // NOLINT: the stored names and column lists

namespace {

// SQLSTATEs worth running a transaction again for: it lost a race that a
// second run, from the start, resolves (or reports as the right error).
constexpr std::string_view kSerializationFailure = "40001";
constexpr std::string_view kDeadlockDetected = "40P01";
constexpr std::string_view kUniqueViolation = "23505";
constexpr int kAttempts = 5;

// The key of the advisory lock the audit chain is appended under.
constexpr std::int64_t kAuditLockKey = 0x6c6c6176'65726f01;  // "llavero" 1
// kAuditLockKey + 1 serializes migrations; this one is the leader's (lead()).
constexpr std::int64_t kLeaderLockKey = kAuditLockKey + 2;

// Failures inside this file travel as exceptions to the public method, which
// turns them into an Error; the open transaction rolls back on the way.
struct SqlFailure : std::runtime_error {
  SqlFailure(std::string_view code, const std::string& message, std::string sqlstate = "")
      : std::runtime_error(message), code(code), sqlstate(std::move(sqlstate)) {}
  std::string code;
  std::string sqlstate;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

[[noreturn]] void fail_result(PGconn* db, const PGresult* r, std::string_view what) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(db);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  throw SqlFailure(errc::kErrorAlmacen,
                   fmt::format("Error del almacén de datos ({}): {}", what, message),
                   state ? state : "");
}

// Plain SQL without parameters (several statements are allowed).
void exec(PGconn* db, const char* sql) {
  ResultPtr r(PQexec(db, sql));
  const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail_result(db, r.get(), "ejecutar");
}

// PostgreSQL writes a TIMESTAMPTZ, with TimeZone UTC and DateStyle ISO, as
// "2025-12-02 00:00:00+00"; the records carry UnixSeconds.
std::optional<UnixSeconds> parse_pg_time(std::string_view text) {
  if (text.size() != 22 || text[10] != ' ' || text.substr(19) != "+00") return std::nullopt;
  std::string iso(text.substr(0, 19));
  iso[10] = 'T';
  iso += 'Z';
  return parse_utc(iso);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

// One libpq connection, with the session settings the edge conversions rely
// on. It owns the handle, so it can be neither copied nor moved.
struct PostgresStore::Connection {
  explicit Connection(ConnPtr raw) : db(std::move(raw)) {}
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  operator PGconn*() const { return db.get(); }  // NOLINT: a connection is its handle
  bool healthy() const { return PQstatus(db.get()) == CONNECTION_OK; }
  ConnPtr db;
  // Set by a transaction that moved the revocation epoch: its store method
  // returns only once the other processes' epoch leases are outlived.
  bool moved_epoch = false;
};

namespace {

using Connection = PostgresStore::Connection;

// One parameterised statement: bind by position ($1 is 1), then run() or
// step() through its rows. Parameters travel as text, bytes as binary.
class Statement {
 public:
  Statement(Connection& db, std::string_view sql) : db_(db), sql_(sql) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, std::string_view text) { return set(i, std::string(text), 0); }
  Statement& bind(int i, const char* text) { return bind(i, std::string_view(text)); }
  Statement& bind(int i, const std::string& text) { return bind(i, std::string_view(text)); }
  Statement& bind(int i, std::int64_t value) { return set(i, std::to_string(value), 0); }
  Statement& bind_bool(int i, bool value) { return set(i, value ? "true" : "false", 0); }
  Statement& bind_time(int i, UnixSeconds t) { return bind(i, format_utc(t)); }
  Statement& bind(int i, const Bytes& blob) {
    return set(i, std::string(blob.begin(), blob.end()), 1);
  }
  template <typename T>
  Statement& bind_optional(int i, const std::optional<T>& value) {
    if (value) return bind(i, *value);
    grow(i);
    values_[i - 1].reset();
    return *this;
  }

  // Runs the statement; the number of rows it changed (or returned).
  std::int64_t run() {
    execute();
    const char* n = PQcmdTuples(result_.get());
    std::int64_t count = 0;
    if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), count);
    return count;
  }
  // True when a row is ready, false when done.
  bool step() {
    if (!result_) execute();
    return ++row_ < PQntuples(result_.get());
  }

  bool null(int i) const { return PQgetisnull(result_.get(), row_, i) != 0; }
  std::string text(int i) const {
    return std::string(PQgetvalue(result_.get(), row_, i),
                       static_cast<std::size_t>(PQgetlength(result_.get(), row_, i)));
  }
  std::optional<std::string> optional_text(int i) const {
    if (null(i)) return std::nullopt;
    return text(i);
  }
  std::int64_t integer(int i) const {
    const std::string t = text(i);
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
    if (ec != std::errc() || end != t.data() + t.size()) corrupt(PQfname(result_.get(), i), t);
    return value;
  }
  std::optional<std::int64_t> optional_integer(int i) const {
    if (null(i)) return std::nullopt;
    return integer(i);
  }
  bool flag(int i) const { return text(i) == "t"; }
  UnixSeconds time(int i, std::string_view column) const {
    const std::string stored = text(i);
    auto parsed = parse_pg_time(stored);
    if (!parsed) corrupt(column, stored);
    return *parsed;
  }
  std::optional<UnixSeconds> optional_time(int i, std::string_view column) const {
    if (null(i)) return std::nullopt;
    return time(i, column);
  }
  // BYTEA in its hex output ("\x0a1b…"; bytea_output is set to hex).
  Bytes blob(int i) const {
    if (null(i)) return Bytes();
    const char* p = PQgetvalue(result_.get(), row_, i);
    const std::size_t n = static_cast<std::size_t>(PQgetlength(result_.get(), row_, i));
    if (n < 2 || p[0] != '\\' || p[1] != 'x' || n % 2 != 0)
      corrupt(PQfname(result_.get(), i), "bytea");
    Bytes out;
    out.reserve((n - 2) / 2);
    for (std::size_t k = 2; k < n; k += 2) {
      const int hi = hex_digit(p[k]), lo = hex_digit(p[k + 1]);
      if (hi < 0 || lo < 0) corrupt(PQfname(result_.get(), i), "bytea");
      out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return out;
  }

 private:
  void grow(int i) {
    if (values_.size() < static_cast<std::size_t>(i)) {
      values_.resize(static_cast<std::size_t>(i));
      formats_.resize(static_cast<std::size_t>(i), 0);
    }
  }
  Statement& set(int i, std::string value, int format) {
    grow(i);
    values_[i - 1] = std::move(value);
    formats_[i - 1] = format;
    return *this;
  }
  void execute() {
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const auto& v : values_) {
      values.push_back(v ? v->data() : nullptr);
      lengths.push_back(v ? static_cast<int>(v->size()) : 0);
    }
    result_.reset(PQexecParams(db_, sql_.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), lengths.data(), formats_.data(), 0));
    const auto status = result_ ? PQresultStatus(result_.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      fail_result(db_, result_.get(), "ejecutar");
    row_ = -1;
  }

  Connection& db_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  ResultPtr result_;
  int row_ = -1;
};

// A transaction; rolls back unless commit() was reached.
class Transaction {
 public:
  explicit Transaction(PGconn* db, const char* begin = "BEGIN") : db_(db) { exec(db_, begin); }
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }
  ~Transaction() {
    if (!done_) PQclear(PQexec(db_, "ROLLBACK"));
  }

 private:
  PGconn* db_;
  bool done_ = false;
};

// Appends to the hash chain. The advisory lock, held to the end of the
// transaction, makes every writer read the head the previous one committed:
// the chain stays one line however many processes write.
void append_audit(Connection& db, const AuditEvent& event) {
  Statement(db, "SELECT pg_advisory_xact_lock($1)").bind(1, kAuditLockKey).run();
  std::optional<std::pair<std::int64_t, std::string>> head;
  {
    Statement s(db, "SELECT seq, hash FROM audit_head WHERE singleton = 1");
    if (s.step()) head = std::make_pair(s.integer(0), s.text(1));
  }
  const AuditRow row = next_audit_row(head, event, now_seconds());
  Statement(db,
            "INSERT INTO audit_log (seq, at, actor, action, subject, detail, prev_hash, hash) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
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
            "INSERT INTO audit_head (singleton, seq, hash) VALUES (1, $1, $2) "
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
      "VALUES ($1, $2, $3, $4, $5)",
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
  const std::string sql = fmt::format(
      "SELECT id_hash, {}, csrf_token, created_at, last_seen FROM {} WHERE id_hash = $1",
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
  const std::string sql =
      fmt::format("UPDATE {} SET last_seen = $1 WHERE id_hash = $2", table.name);
  Statement(db, sql).bind_time(1, last_seen).bind(2, id_hash).run();
}

void delete_session_row(Connection& db, const SessionTable& table, const std::string& id_hash) {
  const std::string sql = fmt::format("DELETE FROM {} WHERE id_hash = $1", table.name);
  Statement(db, sql).bind(1, id_hash).run();
}

std::optional<CertificateRecord> certificate_in(Connection& db, std::int64_t taxpayer_id,
                                                std::string_view env, std::string_view status) {
  Statement s(db, fmt::format("SELECT {} FROM certificates WHERE taxpayer_id = $1 AND "
                              "environment = $2 AND status = $3",
                              kCertificateColumns));
  s.bind(1, taxpayer_id).bind(2, env).bind(3, status);
  if (!s.step()) return std::nullopt;
  return certificate_from(s);
}

// A key's lifecycle changes under its taxpayer's row lock: two activations
// (or an activation and a revocation) of one taxpayer take turns, so the
// previous key each one supersedes is the one really there.
void lock_taxpayer(Connection& db, std::int64_t taxpayer_id) {
  Statement(db, "SELECT 1 FROM taxpayers WHERE id = $1 FOR NO KEY UPDATE")
      .bind(1, taxpayer_id)
      .run();
}

// The certificate `id`, read after its taxpayer was locked.
CertificateRecord locked_certificate(Connection& db, std::int64_t id) {
  std::int64_t taxpayer_id = 0;
  {
    Statement s(db, "SELECT taxpayer_id FROM certificates WHERE id = $1");
    s.bind(1, id);
    if (!s.step()) throw SqlFailure(errc::kCertificadoDesconocido, "Certificado desconocido.");
    taxpayer_id = s.integer(0);
  }
  lock_taxpayer(db, taxpayer_id);
  Statement s(db, fmt::format("SELECT {} FROM certificates WHERE id = $1", kCertificateColumns));
  s.bind(1, id);
  if (!s.step()) throw SqlFailure(errc::kCertificadoDesconocido, "Certificado desconocido.");
  return certificate_from(s);
}

void revoke(Connection& db, std::int64_t id, UnixSeconds at,
            std::optional<RevocationReason> reason) {
  Statement(db,
            "UPDATE certificates SET status = 'revoked', revoked_at = $1, revocation_reason = $2 "
            "WHERE id = $3 AND status IN ('active', 'pending')")
      .bind_time(1, at)
      .bind_optional(2, reason_name(reason))
      .bind(3, id)
      .run();
  Statement(db, "UPDATE counters SET value = value + 1 WHERE name = 'revocations'").run();
  db.moved_epoch = true;
}

std::int64_t read_epoch(Connection& db) {
  Statement s(db, "SELECT value FROM counters WHERE name = 'revocations'");
  return s.step() ? s.integer(0) : std::int64_t{0};
}

void mark_superseded(CertificateRecord& previous, UnixSeconds now) {
  previous.status = CertificateStatus::kRevoked;
  previous.revoked_at = now;
  previous.revocation_reason = RevocationReason::kSuperseded;
}

bool retryable(const SqlFailure& failure) {
  return failure.sqlstate == kSerializationFailure || failure.sqlstate == kDeadlockDetected ||
         failure.sqlstate == kUniqueViolation;
}

Result<ConnPtr> connect(const std::string& url) {
  ConnPtr db(PQconnectdb(url.c_str()));
  if (!db || PQstatus(db.get()) != CONNECTION_OK) {
    std::string message = db ? PQerrorMessage(db.get()) : "sin memoria";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return make_error(
        errc::kAlmacenNoDisponible,
        fmt::format("No se pudo conectar con la base de datos PostgreSQL: {}", message));
  }
  try {
    // The edge conversions read times in UTC, ISO, and bytes in hex. No JIT:
    // the store's queries are short, and the planner, misled by correlated
    // columns (a CA's revoked rows are the expired ones), can expect
    // hundreds of thousands of rows where there are none; compiling for
    // them took 150 ms of the producción CRL, whose query reads no row, on
    // bench-growth's store of 1 000 000 taxpayers.
    exec(db.get(),
         "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET bytea_output = 'hex'; "
         "SET client_encoding = 'UTF8'; SET client_min_messages = 'warning'; SET jit = off");
  } catch (const SqlFailure& failure) {
    return make_error(errc::kAlmacenNoDisponible, failure.what());
  }
  return db;
}

}  // namespace

bool is_postgres_url(std::string_view location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

PostgresStore::PostgresStore(std::string url) : url_(std::move(url)) {}

PostgresStore::~PostgresStore() {
  {
    std::lock_guard lock(epoch_mu_);
    stopping_ = true;
  }
  epoch_stop_.notify_all();
  if (epoch_reader_.joinable()) epoch_reader_.join();
}

std::unique_ptr<PostgresStore::Connection> PostgresStore::acquire() {
  std::unique_lock lock(mu_);
  available_.wait(lock, [&] { return !idle_.empty() || open_connections_ < kMaxConnections; });
  if (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    return c;
  }
  ++open_connections_;
  lock.unlock();
  auto made = connect(url_);
  if (!made) {
    lock.lock();
    --open_connections_;
    available_.notify_one();
    throw SqlFailure(made.error().code, made.error().message);
  }
  return std::make_unique<Connection>(std::move(*made));
}

void PostgresStore::release(std::unique_ptr<Connection> connection) {
  if (!connection) return;  // never acquired
  std::lock_guard lock(mu_);
  // A broken connection, or one left inside a transaction, is not reused.
  if (connection && connection->healthy() && PQtransactionStatus(*connection) == PQTRANS_IDLE)
    idle_.push_back(std::move(connection));
  else
    --open_connections_;
  available_.notify_one();
}

template <typename F>
auto PostgresStore::guarded(F&& body) -> decltype(body(std::declval<Connection&>())) {
  bool moved_epoch = false;  // in any attempt: one that failed may have committed
  auto attempts = [&]() -> decltype(body(std::declval<Connection&>())) {
    for (int attempt = 1;; ++attempt) {
      std::unique_ptr<Connection> db;
      auto put_back = [&] {
        if (!db) return;
        moved_epoch = moved_epoch || db->moved_epoch;
        db->moved_epoch = false;
        release(std::move(db));
      };
      try {
        db = acquire();
        auto out = body(*db);
        put_back();
        return out;
      } catch (const SqlFailure& failure) {
        put_back();
        if (attempt < kAttempts && retryable(failure)) continue;
        return make_error(failure.code, failure.what());
      } catch (const CorruptValue& corrupt) {
        put_back();
        return make_error(errc::kAlmacenCorrupto, corrupt.what());
      }
    }
  };
  auto out = attempts();
  // Every other process's lease on the old epoch ends within kEpochLease of
  // the commit (the header): only then has the revocation happened for all.
  if (moved_epoch) std::this_thread::sleep_for(kEpochLease + std::chrono::milliseconds(5));
  return out;
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(url));
  auto made = connect(url);
  if (!made) return made.error();
  Connection db(std::move(*made));
  try {
    Transaction txn(db);
    // Two servers starting together: one migrates, the other waits and then
    // finds nothing left to do.
    Statement(db, "SELECT pg_advisory_xact_lock($1)").bind(1, kAuditLockKey + 1).run();
    exec(db,
         "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
         "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)");
    // Every migration not yet recorded, in order: two branches may add
    // numbers out of order (5 after 6), and neither may be skipped.
    for (const Migration& m : migrations(SqlDialect::kPostgres)) {
      {
        Statement s(db, "SELECT 1 FROM schema_migrations WHERE version = $1");
        s.bind(1, static_cast<std::int64_t>(m.version));
        if (s.step()) continue;
      }
      exec(db, std::string(m.sql).c_str());
      Statement(db, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
          .bind(1, static_cast<std::int64_t>(m.version))
          .bind(2, m.name)
          .bind_time(3, now_seconds())
          .run();
    }
    txn.commit();
  } catch (const SqlFailure& failure) {
    return make_error(errc::kAlmacenNoDisponible,
                      fmt::format("No se pudo preparar el almacén PostgreSQL: {}", failure.what()));
  }
  store->release(std::make_unique<Connection>(std::move(db.db)));
  store->open_connections_ = 1;
  return store;
}

int PostgresStore::schema_version() {
  auto version = guarded([&](Connection& db) -> Result<std::int64_t> {
    Statement s(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return s.step() ? s.integer(0) : 0;
  });
  return version ? static_cast<int>(*version) : 0;
}

Status PostgresStore::ping() {
  return guarded([&](Connection& db) -> Status {
    Statement(db, "SELECT 1").run();
    return Ok{};
  });
}

Result<bool> PostgresStore::lead() {
  std::lock_guard lock(leader_mu_);
  try {
    if (!leader_) {
      auto made = connect(url_);
      if (!made) return made.error();
      leader_ = std::make_unique<Connection>(std::move(*made));
      leading_ = false;
    }
    // While leading, a query proves the session (and so the lock) is still
    // there; otherwise ask for the lock, which the server releases when the
    // session of the leader ends.
    if (leading_) {
      Statement(*leader_, "SELECT 1").run();
    } else {
      Statement s(*leader_, "SELECT pg_try_advisory_lock($1)");
      s.bind(1, kLeaderLockKey);
      leading_ = s.step() && s.flag(0);
    }
    return leading_;
  } catch (const SqlFailure& failure) {
    // The session is gone, and with it the lock if we held it.
    leader_.reset();
    leading_ = false;
    return make_error(failure.code, failure.what());
  }
}

// --- TaxpayerStore ----------------------------------------------------------------

Result<TaxpayerRecord> PostgresStore::add_taxpayer(const NewTaxpayer& t, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<TaxpayerRecord> {
    Transaction txn(db);
    TaxpayerRecord r{0,           t.identification, t.id_type,    t.nombre,
                     t.apellidos, t.correo,         now_seconds()};
    Statement s(db,
                "INSERT INTO taxpayers (identification, id_type, nombre, apellidos, correo, "
                "created_at) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (identification) DO NOTHING RETURNING id");
    s.bind(1, r.identification)
        .bind(2, id_type_code(r.id_type))
        .bind(3, r.nombre)
        .bind(4, r.apellidos)
        .bind(5, r.correo)
        .bind_time(6, r.created_at);
    if (!s.step())
      return make_error(
          errc::kContribuyenteDuplicado,
          fmt::format("Ya existe un contribuyente con la identificación {}.", t.identification));
    r.id = s.integer(0);
    append_audit(db, audit);
    txn.commit();
    return r;
  });
}

Result<std::optional<TaxpayerRecord>> PostgresStore::find_taxpayer(
    const std::string& identification) {
  return guarded([&](Connection& db) -> Result<std::optional<TaxpayerRecord>> {
    Statement s(
        db, fmt::format("SELECT {} FROM taxpayers WHERE identification = $1", kTaxpayerColumns));
    s.bind(1, identification);
    if (!s.step()) return std::optional<TaxpayerRecord>();
    return std::optional<TaxpayerRecord>(taxpayer_from(s));
  });
}

Result<std::optional<TaxpayerRecord>> PostgresStore::find_taxpayer_by_id(std::int64_t id) {
  return guarded([&](Connection& db) -> Result<std::optional<TaxpayerRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM taxpayers WHERE id = $1", kTaxpayerColumns));
    s.bind(1, id);
    if (!s.step()) return std::optional<TaxpayerRecord>();
    return std::optional<TaxpayerRecord>(taxpayer_from(s));
  });
}

// --- CertificateStore -------------------------------------------------------------

Status PostgresStore::add_authorities(const std::vector<NewAuthority>& list,
                                      const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    const UnixSeconds now = now_seconds();
    for (const NewAuthority& a : list) {
      Statement(db,
                "INSERT INTO authorities (environment, kind, subject, certificate_der, key_pem, "
                "created_at, generation) VALUES ($1, $2, $3, $4, $5, $6, $7)")
          .bind(1, environment_name(a.environment))
          .bind(2, ca_kind_name(a.kind))
          .bind(3, a.subject)
          .bind(4, a.certificate_der)
          .bind(5, a.key_pem)
          .bind_time(6, now)
          .bind(7, static_cast<std::int64_t>(a.generation))
          .run();
    }
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<AuthorityRecord>> PostgresStore::authorities() {
  return guarded([&](Connection& db) -> Result<std::vector<AuthorityRecord>> {
    std::vector<AuthorityRecord> out;
    Statement s(db,
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

bool responder_serial_taken(Connection& db, std::int64_t authority_id,
                            const std::string& serial_hex) {
  Statement s(db, "SELECT 1 FROM ocsp_responders WHERE authority_id = $1 AND serial_hex = $2");
  s.bind(1, authority_id).bind(2, serial_hex);
  return s.step();
}

Error serial_used(const std::string& serial_hex) {
  return make_error(errc::kSerialDuplicado,
                    fmt::format("El número de serie {} ya fue usado.", serial_hex));
}

}  // namespace

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

Result<std::int64_t> PostgresStore::request_rollover(const RolloverRequest& r,
                                                     const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<std::int64_t> {
    Transaction txn(db);
    std::int64_t id = 0;
    {
      Statement s(db,
                  "INSERT INTO ca_rollovers (environment, kind, requested_by, requested_at) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id");
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
    append_audit(db, audit);
    txn.commit();
    return id;
  });
}

Result<std::vector<RolloverRecord>> PostgresStore::rollovers() {
  return guarded([&](Connection& db) -> Result<std::vector<RolloverRecord>> {
    std::vector<RolloverRecord> out;
    Statement s(db, fmt::format("SELECT {} FROM ca_rollovers ORDER BY id DESC", kRolloverColumns));
    while (s.step()) out.push_back(rollover_from(s));
    return out;
  });
}

Result<std::int64_t> PostgresStore::approve_rollover(std::int64_t request_id,
                                                     const std::string& approved_by,
                                                     const NewAuthority& a,
                                                     const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<std::int64_t> {
    Transaction txn(db);
    RolloverRecord request;
    {
      Statement s(db, fmt::format("SELECT {} FROM ca_rollovers WHERE id = $1 FOR UPDATE",
                                  kRolloverColumns));
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
      Statement s(db,
                  "SELECT COALESCE(MAX(generation), 0) FROM authorities "
                  "WHERE environment = $1 AND kind = $2");
      s.bind(1, environment_name(a.environment)).bind(2, ca_kind_name(a.kind));
      if (!s.step() || s.integer(0) + 1 != a.generation)
        return make_error(errc::kGeneracionDuplicada,
                          fmt::format("La generación {} de la CA {} ya existe.", a.generation,
                                      ca_kind_name(a.kind)));
    }
    std::int64_t authority_id = 0;
    {
      Statement s(
          db,
          "INSERT INTO authorities (environment, kind, generation, subject, certificate_der, "
          "key_pem, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id");
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
    Statement(db,
              "UPDATE ca_rollovers SET approved_by = $1, approved_at = $2, new_authority_id = $3 "
              "WHERE id = $4")
        .bind(1, approved_by)
        .bind_time(2, now_seconds())
        .bind(3, authority_id)
        .bind(4, request_id)
        .run();
    append_audit(db, audit);
    txn.commit();
    return authority_id;
  });
}

Status PostgresStore::record_ca_event(const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::int64_t> PostgresStore::reserve_serial(const SerialReservation& r) {
  return guarded([&](Connection& db) -> Result<std::int64_t> {
    Transaction txn(db);
    if (responder_serial_taken(db, r.authority_id, r.serial_hex)) return serial_used(r.serial_hex);
    // Reserved before anything is signed with it: the unique key decides
    // between two servers that drew the same number.
    Statement s(db,
                "INSERT INTO certificates (authority_id, serial_hex, taxpayer_id, environment, "
                "status, created_at) VALUES ($1, $2, $3, $4, 'reserved', $5) "
                "ON CONFLICT (authority_id, serial_hex) DO NOTHING RETURNING id");
    s.bind(1, r.authority_id)
        .bind(2, r.serial_hex)
        .bind(3, r.taxpayer_id)
        .bind(4, environment_name(r.environment))
        .bind_time(5, now_seconds());
    if (!s.step()) return serial_used(r.serial_hex);
    const std::int64_t id = s.integer(0);
    txn.commit();
    return id;
  });
}

Result<std::optional<CertificateRecord>> PostgresStore::activate_certificate(
    const Activation& a, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<std::optional<CertificateRecord>> {
    Transaction txn(db);
    CertificateRecord reserved = locked_certificate(db, a.certificate_id);
    if (reserved.status != CertificateStatus::kReserved)
      return make_error(errc::kCertificadoNoReservado,
                        "El certificado ya fue activado o revocado.");
    const std::string env(environment_name(reserved.environment));
    // Immediate: the active key is superseded. Pending: only an earlier
    // pending key is, together with the file waiting for it.
    std::optional<CertificateRecord> previous =
        certificate_in(db, reserved.taxpayer_id, env, a.pending_until ? "pending" : "active");
    const UnixSeconds now = now_seconds();
    if (previous) {
      revoke(db, previous->id, now, RevocationReason::kSuperseded);
      if (a.pending_until)
        Statement(db, "DELETE FROM pending_downloads WHERE certificate_id = $1")
            .bind(1, previous->id)
            .run();
      mark_superseded(*previous, now);
    }
    Statement(db,
              "UPDATE certificates SET status = $1, certificate_der = $2, not_before = $3, "
              "not_after = $4, facturador_gratuito = $5, pending_until = $6 WHERE id = $7")
        .bind(1, a.pending_until ? "pending" : "active")
        .bind(2, a.certificate_der)
        .bind_time(3, a.not_before)
        .bind_time(4, a.not_after)
        .bind_bool(5, a.facturador_gratuito)
        .bind_optional(6, a.pending_until ? std::optional(format_utc(*a.pending_until))
                                          : std::optional<std::string>())
        .bind(7, a.certificate_id)
        .run();
    if (!a.custody_wrapped_key.empty())
      Statement(db,
                "INSERT INTO llaves_custodia (certificate_id, llave_envuelta, created_at) "
                "VALUES ($1, $2, $3)")
          .bind(1, a.certificate_id)
          .bind(2, a.custody_wrapped_key)
          .bind_time(3, now)
          .run();
    append_audit(db, audit);
    txn.commit();
    return previous;
  });
}

Result<std::optional<CertificateRecord>> PostgresStore::activate_pending(
    std::int64_t certificate_id, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<std::optional<CertificateRecord>> {
    Transaction txn(db);
    CertificateRecord pending = locked_certificate(db, certificate_id);
    if (pending.status == CertificateStatus::kActive) return std::optional<CertificateRecord>();
    if (pending.status != CertificateStatus::kPending)
      return make_error(errc::kLlaveNoPendiente,
                        "La llave ya no está pendiente de descarga: fue anulada o revocada.");
    const std::string env(environment_name(pending.environment));
    std::optional<CertificateRecord> previous =
        certificate_in(db, pending.taxpayer_id, env, "active");
    const UnixSeconds now = now_seconds();
    if (previous) {
      revoke(db, previous->id, now, RevocationReason::kSuperseded);
      mark_superseded(*previous, now);
    }
    Statement(db,
              "UPDATE certificates SET status = 'active', pending_until = NULL WHERE id = $1 AND "
              "status = 'pending'")
        .bind(1, certificate_id)
        .run();
    append_audit(db, audit);
    txn.commit();
    return previous;
  });
}

Result<std::vector<CertificateRecord>> PostgresStore::pending_before(UnixSeconds before) {
  return guarded([&](Connection& db) -> Result<std::vector<CertificateRecord>> {
    std::vector<CertificateRecord> out;
    Statement s(db, fmt::format("SELECT {} FROM certificates WHERE status = 'pending' AND "
                                "pending_until < $1 ORDER BY id",
                                kCertificateColumns));
    s.bind_time(1, before);
    while (s.step()) out.push_back(certificate_from(s));
    return out;
  });
}

Status PostgresStore::revoke_pending(std::int64_t certificate_id, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    CertificateRecord pending = locked_certificate(db, certificate_id);
    if (pending.status != CertificateStatus::kPending)
      return make_error(errc::kLlaveNoPendiente, "La llave ya no está pendiente de descarga.");
    revoke(db, certificate_id, now_seconds(), std::nullopt);
    Statement(db, "DELETE FROM pending_downloads WHERE certificate_id = $1")
        .bind(1, certificate_id)
        .run();
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<CertificateRecord> PostgresStore::revoke_active(std::int64_t taxpayer_id, Environment env,
                                                       std::optional<RevocationReason> reason,
                                                       const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<CertificateRecord> {
    Transaction txn(db);
    lock_taxpayer(db, taxpayer_id);
    auto active = certificate_in(db, taxpayer_id, environment_name(env), "active");
    if (!active)
      return make_error(errc::kSinLlaveActiva,
                        fmt::format("No hay una llave criptográfica activa en {} para revocar.",
                                    environment_label(env)));
    const UnixSeconds now = now_seconds();
    revoke(db, active->id, now, reason);
    append_audit(db, audit);
    txn.commit();
    active->status = CertificateStatus::kRevoked;
    active->revoked_at = now;
    active->revocation_reason = reason;
    return *active;
  });
}

Result<std::vector<CertificateRecord>> PostgresStore::certificates_of(std::int64_t taxpayer_id) {
  return guarded([&](Connection& db) -> Result<std::vector<CertificateRecord>> {
    std::vector<CertificateRecord> out;
    Statement s(db, fmt::format("SELECT {} FROM certificates WHERE taxpayer_id = $1 AND status <> "
                                "'reserved' ORDER BY not_before DESC, id DESC",
                                kCertificateColumns));
    s.bind(1, taxpayer_id);
    while (s.step()) out.push_back(certificate_from(s));
    return out;
  });
}

Result<std::optional<CertificateRecord>> PostgresStore::find_certificate(
    std::int64_t authority_id, const std::string& serial_hex) {
  return guarded([&](Connection& db) -> Result<std::optional<CertificateRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM certificates WHERE authority_id = $1 AND "
                                "serial_hex = $2",
                                kCertificateColumns));
    s.bind(1, authority_id).bind(2, serial_hex);
    if (!s.step()) return std::optional<CertificateRecord>();
    return std::optional<CertificateRecord>(certificate_from(s));
  });
}

Result<std::vector<RevokedEntry>> PostgresStore::revoked_certificates(std::int64_t authority_id,
                                                                      UnixSeconds now) {
  return guarded([&](Connection& db) -> Result<std::vector<RevokedEntry>> {
    std::vector<RevokedEntry> out;
    Statement s(db,
                "SELECT serial_hex, revoked_at, revocation_reason FROM certificates "
                "WHERE authority_id = $1 AND status = 'revoked' AND not_after >= $2");
    s.bind(1, authority_id).bind_time(2, now);
    while (s.step())
      out.push_back(
          RevokedEntry{s.text(0), s.time(1, "certificates.revoked_at"),
                       reason_from(s.optional_text(2), "certificates.revocation_reason")});
    return out;
  });
}

Result<std::int64_t> PostgresStore::next_crl_number(std::int64_t authority_id) {
  return guarded([&](Connection& db) -> Result<std::int64_t> {
    // One sequence for every CA: each CA's numbers still only grow, across
    // restarts and across servers; nextval is never rolled back.
    Statement s(db, "SELECT nextval('crl_numbers') FROM authorities WHERE id = $1");
    s.bind(1, authority_id);
    if (!s.step())
      return make_error(
          errc::kErrorAlmacen,
          fmt::format("No existe la autoridad {} para numerar su CRL.", authority_id));
    return s.integer(0);
  });
}

Status PostgresStore::add_crl(const CrlRecord& crl) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db,
              "INSERT INTO crls (authority_id, number, epoch, this_update, next_update, der) "
              "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING")
        .bind(1, crl.authority_id)
        .bind(2, crl.number)
        .bind(3, crl.epoch)
        .bind_time(4, crl.this_update)
        .bind_time(5, crl.next_update)
        .bind(6, crl.der)
        .run();
    // Only the newest is answered; a lower number stored after a higher one
    // (two servers building at once) stays until the next build drops it.
    Statement(db, "DELETE FROM crls WHERE authority_id = $1 AND number < $2")
        .bind(1, crl.authority_id)
        .bind(2, crl.number)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<CrlRecord>> PostgresStore::latest_crl(std::int64_t authority_id,
                                                           std::int64_t newer_than) {
  return guarded([&](Connection& db) -> Result<std::optional<CrlRecord>> {
    Statement s(db,
                "SELECT number, epoch, this_update, next_update, der FROM crls "
                "WHERE authority_id = $1 AND number > $2 ORDER BY number DESC LIMIT 1");
    s.bind(1, authority_id).bind(2, newer_than);
    if (!s.step()) return std::optional<CrlRecord>();
    return std::optional<CrlRecord>(CrlRecord{authority_id, s.integer(0), s.integer(1),
                                              s.time(2, "crls.this_update"),
                                              s.time(3, "crls.next_update"), s.blob(4)});
  });
}

Result<std::int64_t> PostgresStore::revocation_epoch() {
  {
    const Clock::time_point asked = Clock::now();
    std::lock_guard lock(epoch_mu_);
    if (!epoch_reader_started_) {
      epoch_reader_started_ = true;
      epoch_reader_ = std::thread([this] { keep_epoch_fresh(); });
    }
    // A read sent less than a lease ago was executed after every revocation
    // whose command has returned by now (the header).
    if (epoch_sent_ > asked - kEpochLease) return epoch_;
  }
  // No fresh read (the reader is behind, or cannot reach the database): one
  // round trip, as without the lease.
  const Clock::time_point sent = Clock::now();
  auto epoch = guarded([&](Connection& db) -> Result<std::int64_t> { return read_epoch(db); });
  if (!epoch) return epoch.error();
  remember_epoch(*epoch, sent);
  std::lock_guard lock(epoch_mu_);
  return epoch_;
}

void PostgresStore::remember_epoch(std::int64_t epoch, Clock::time_point sent) {
  // Reads on different connections may finish out of order; the newest
  // epoch with the latest send time is still true: the read sent last saw
  // every commit before it, and the epoch only grows.
  std::lock_guard lock(epoch_mu_);
  epoch_ = std::max(epoch_, epoch);
  epoch_sent_ = std::max(epoch_sent_, sent);
}

void PostgresStore::keep_epoch_fresh() {
  std::unique_ptr<Connection> own;  // outside the pool: never waits behind it
  std::unique_lock lock(epoch_mu_);
  while (!stopping_) {
    lock.unlock();
    bool read = false;
    try {
      if (!own || !own->healthy()) {
        own.reset();
        if (auto made = connect(url_)) own = std::make_unique<Connection>(std::move(*made));
      }
      if (own) {
        const Clock::time_point sent = Clock::now();
        remember_epoch(read_epoch(*own), sent);
        read = true;
      }
    } catch (const SqlFailure&) {
      own.reset();
    } catch (const CorruptValue&) {
      own.reset();
    }
    lock.lock();
    // A database that does not answer is asked again every second; meanwhile
    // the lease runs out and every request reads (and reports) for itself.
    epoch_stop_.wait_for(lock, read ? kEpochRefresh : std::chrono::seconds(1),
                         [&] { return stopping_; });
  }
}

Result<std::optional<ResponderRecord>> PostgresStore::current_responder(std::int64_t authority_id,
                                                                        UnixSeconds valid_after) {
  return guarded([&](Connection& db) -> Result<std::optional<ResponderRecord>> {
    Statement s(db,
                "SELECT serial_hex, certificate_der, key_pem, not_after FROM ocsp_responders "
                "WHERE authority_id = $1 AND not_after > $2 ORDER BY not_after DESC LIMIT 1");
    s.bind(1, authority_id).bind_time(2, valid_after);
    if (!s.step()) return std::optional<ResponderRecord>();
    return std::optional<ResponderRecord>(ResponderRecord{
        authority_id, s.text(0), s.blob(1), s.text(2), s.time(3, "ocsp_responders.not_after")});
  });
}

Status PostgresStore::add_responder(const ResponderRecord& r, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    {
      Statement s(db, "SELECT 1 FROM certificates WHERE authority_id = $1 AND serial_hex = $2");
      s.bind(1, r.authority_id).bind(2, r.serial_hex);
      if (s.step()) return serial_used(r.serial_hex);
    }
    Statement s(db,
                "INSERT INTO ocsp_responders (authority_id, serial_hex, certificate_der, key_pem, "
                "not_after, created_at) VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (authority_id, serial_hex) DO NOTHING");
    s.bind(1, r.authority_id)
        .bind(2, r.serial_hex)
        .bind(3, r.certificate_der)
        .bind(4, r.key_pem)
        .bind_time(5, r.not_after)
        .bind_time(6, now_seconds());
    if (s.run() == 0) return serial_used(r.serial_hex);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

// --- AccountStore -----------------------------------------------------------------

Status PostgresStore::set_password_hash(std::int64_t taxpayer_id, const std::string& hash,
                                        const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db, "UPDATE taxpayers SET password_hash = $1 WHERE id = $2")
        .bind(1, hash)
        .bind(2, taxpayer_id)
        .run();
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<std::string>> PostgresStore::password_hash(std::int64_t taxpayer_id) {
  return guarded([&](Connection& db) -> Result<std::optional<std::string>> {
    Statement s(db, "SELECT password_hash FROM taxpayers WHERE id = $1");
    s.bind(1, taxpayer_id);
    if (!s.step()) return std::optional<std::string>();
    return s.optional_text(0);
  });
}

Status PostgresStore::record_login_event(const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Status PostgresStore::create_session(const SessionRecord& r, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    insert_session(db, kPortalSessions, r);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<SessionRecord>> PostgresStore::find_session(const std::string& id_hash) {
  return guarded([&](Connection& db) -> Result<std::optional<SessionRecord>> {
    return find_session_row<SessionRecord>(db, kPortalSessions, id_hash);
  });
}

Status PostgresStore::touch_session(const std::string& id_hash, UnixSeconds last_seen) {
  return guarded([&](Connection& db) -> Status {
    touch_session_row(db, kPortalSessions, id_hash, last_seen);
    return Ok{};
  });
}

Status PostgresStore::delete_session(const std::string& id_hash) {
  return guarded([&](Connection& db) -> Status {
    delete_session_row(db, kPortalSessions, id_hash);
    return Ok{};
  });
}

Result<bool> PostgresStore::spend_nonce(const std::string& nonce_hash, UnixSeconds now) {
  return guarded([&](Connection& db) -> Result<bool> {
    return Statement(db,
                     "INSERT INTO spent_nonces (nonce_hash, spent_at) VALUES ($1, $2) "
                     "ON CONFLICT (nonce_hash) DO NOTHING")
               .bind(1, nonce_hash)
               .bind_time(2, now)
               .run() == 1;
  });
}

Status PostgresStore::put_download(const PendingDownload& d) {
  return guarded([&](Connection& db) -> Status {
    Statement(db,
              "INSERT INTO pending_downloads (token_hash, taxpayer_id, environment, file_name, "
              "ciphertext, expires_at, certificate_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
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

Result<std::optional<PendingDownload>> PostgresStore::find_download(const std::string& token_hash) {
  return guarded([&](Connection& db) -> Result<std::optional<PendingDownload>> {
    Statement s(db,
                "SELECT token_hash, taxpayer_id, environment, file_name, ciphertext, expires_at, "
                "certificate_id FROM pending_downloads WHERE token_hash = $1");
    s.bind(1, token_hash);
    if (!s.step()) return std::optional<PendingDownload>();
    return std::optional<PendingDownload>(PendingDownload{
        s.text(0), s.integer(1), environment_from(s.text(2), "pending_downloads.environment"),
        s.text(3), s.blob(4), s.time(5, "pending_downloads.expires_at"), s.optional_integer(6)});
  });
}

Status PostgresStore::delete_download(const std::string& token_hash) {
  return guarded([&](Connection& db) -> Status {
    Statement(db, "DELETE FROM pending_downloads WHERE token_hash = $1").bind(1, token_hash).run();
    return Ok{};
  });
}

Status PostgresStore::purge(UnixSeconds now, UnixSeconds idle_before) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db, "DELETE FROM pending_downloads WHERE expires_at <= $1").bind_time(1, now).run();
    Statement(db, "DELETE FROM sessions WHERE last_seen < $1").bind_time(1, idle_before).run();
    Statement(db, "DELETE FROM spent_nonces WHERE spent_at < $1").bind_time(1, idle_before).run();
    txn.commit();
    return Ok{};
  });
}

Status PostgresStore::set_api_credential(const ApiCredential& c, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db,
              "INSERT INTO api_credentials (taxpayer_id, environment, username, password_hash, "
              "created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (taxpayer_id, environment) DO "
              "UPDATE SET username = excluded.username, password_hash = excluded.password_hash, "
              "created_at = excluded.created_at")
        .bind(1, c.taxpayer_id)
        .bind(2, environment_name(c.environment))
        .bind(3, c.username)
        .bind(4, c.password_hash)
        .bind_time(5, now_seconds())
        .run();
    // A new password ends every session of the old one: refresh tokens
    // issued before it mint no more access tokens.
    Statement(db, "UPDATE refresh_tokens SET revoked = TRUE WHERE username = $1")
        .bind(1, c.username)
        .run();
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<ApiCredential>> PostgresStore::find_api_credential(
    const std::string& username) {
  return guarded([&](Connection& db) -> Result<std::optional<ApiCredential>> {
    Statement s(db,
                "SELECT taxpayer_id, environment, username, password_hash FROM api_credentials "
                "WHERE username = $1");
    s.bind(1, username);
    if (!s.step()) return std::optional<ApiCredential>();
    return std::optional<ApiCredential>(
        ApiCredential{s.integer(0), environment_from(s.text(1), "api_credentials.environment"),
                      s.text(2), s.text(3)});
  });
}

Status PostgresStore::put_refresh_token(const RefreshTokenRecord& t) {
  return guarded([&](Connection& db) -> Status {
    Statement(db,
              "INSERT INTO refresh_tokens (token_hash, session_id, username, realm, client_id, "
              "expires_at, revoked) VALUES ($1, $2, $3, $4, $5, $6, FALSE)")
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

namespace {

constexpr std::string_view kRefreshTokenSelect =
    "SELECT token_hash, session_id, username, realm, client_id, expires_at, revoked "
    "FROM refresh_tokens WHERE token_hash = $1";

RefreshTokenRecord refresh_token_from(const Statement& s) {
  return RefreshTokenRecord{s.text(0), s.text(1), s.text(2),
                            s.text(3), s.text(4), s.time(5, "refresh_tokens.expires_at"),
                            s.flag(6)};
}

}  // namespace

Result<std::optional<RefreshTokenRecord>> PostgresStore::find_refresh_token(
    const std::string& hash) {
  return guarded([&](Connection& db) -> Result<std::optional<RefreshTokenRecord>> {
    Statement s(db, kRefreshTokenSelect);
    s.bind(1, hash);
    if (!s.step()) return std::optional<RefreshTokenRecord>();
    return std::optional<RefreshTokenRecord>(refresh_token_from(s));
  });
}

Status PostgresStore::revoke_token_session(const std::string& session_id) {
  return guarded([&](Connection& db) -> Status {
    Statement(db, "UPDATE refresh_tokens SET revoked = TRUE WHERE session_id = $1")
        .bind(1, session_id)
        .run();
    return Ok{};
  });
}

Result<std::optional<RefreshTokenRecord>> PostgresStore::spend_refresh_token(
    const std::string& hash, std::string_view realm, std::string_view client_id) {
  return guarded([&](Connection& db) -> Result<std::optional<RefreshTokenRecord>> {
    Transaction txn(db);
    // Locked: two requests spending one token see it unspent only once.
    const std::string sql = std::string(kRefreshTokenSelect) + " FOR UPDATE";
    Statement s(db, sql);
    s.bind(1, hash);
    if (!s.step()) return std::optional<RefreshTokenRecord>();
    RefreshTokenRecord record = refresh_token_from(s);
    if (record.realm != realm || record.client_id != client_id)
      return std::optional<RefreshTokenRecord>(std::move(record));
    if (record.revoked)
      Statement(db, "UPDATE refresh_tokens SET revoked = TRUE WHERE session_id = $1")
          .bind(1, record.session_id)
          .run();
    else
      Statement(db, "UPDATE refresh_tokens SET revoked = TRUE WHERE token_hash = $1")
          .bind(1, hash)
          .run();
    txn.commit();
    return std::optional<RefreshTokenRecord>(std::move(record));
  });
}

// --- ComprobanteStore -------------------------------------------------------------

Status PostgresStore::put_service_key(const ServiceKey& k, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    const auto inserted =
        Statement(db,
                  "INSERT INTO service_keys (name, key_pem, certificate_der, created_at) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING")
            .bind(1, k.name)
            .bind(2, k.key_pem)
            .bind(3, k.certificate_der)
            .bind_time(4, now_seconds())
            .run();
    if (inserted == 1) append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<ServiceKey>> PostgresStore::service_key(const std::string& name) {
  return guarded([&](Connection& db) -> Result<std::optional<ServiceKey>> {
    Statement s(db, "SELECT name, key_pem, certificate_der FROM service_keys WHERE name = $1");
    s.bind(1, name);
    if (!s.step()) return std::optional<ServiceKey>();
    return std::optional<ServiceKey>(ServiceKey{s.text(0), s.text(1), s.blob(2)});
  });
}

Status PostgresStore::add_comprobante(const ComprobanteRecord& c) {
  // Looks first, for the right error; the unique keys decide a race, and the
  // retry of a lost race looks again and reports it.
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    {
      Statement s(db, "SELECT 1 FROM comprobantes WHERE clave = $1");
      s.bind(1, c.clave);
      if (s.step())
        return make_error(errc::kClaveDuplicada,
                          fmt::format("El comprobante con clave {} ya fue recibido.", c.clave));
    }
    if (c.consecutivo) {
      Statement s(db,
                  "SELECT clave FROM comprobantes WHERE environment = $1 AND emisor_numero = $2 "
                  "AND consecutivo = $3");
      s.bind(1, environment_name(c.environment)).bind(2, c.emisor_numero).bind(3, *c.consecutivo);
      if (s.step())
        return make_error(errc::kConsecutivoUsado,
                          fmt::format("El consecutivo {} ya fue utilizado por el emisor en el "
                                      "comprobante {}.",
                                      *c.consecutivo, s.text(0)));
    }
    const UnixSeconds now = now_seconds();
    Statement(db, fmt::format("INSERT INTO comprobantes ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                              "$8, $9, 'recibido', NULL, $10, $11, $12, NULL, 0, NULL, $13, NULL, "
                              "$14)",
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

Result<std::optional<ComprobanteRecord>> PostgresStore::find_comprobante(const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::optional<ComprobanteRecord>> {
    Statement s(db,
                fmt::format("SELECT {} FROM comprobantes WHERE clave = $1", kComprobanteColumns));
    s.bind(1, clave);
    if (!s.step()) return std::optional<ComprobanteRecord>();
    return std::optional<ComprobanteRecord>(comprobante_from(s));
  });
}

Result<std::optional<ComprobanteRecord>> PostgresStore::claim_comprobante() {
  return guarded([&](Connection& db) -> Result<std::optional<ComprobanteRecord>> {
    // The oldest waiting comprobante no other worker holds: a row another
    // claim has locked is skipped, not waited for, so workers on several
    // servers never take the same one.
    Statement s(db, fmt::format("UPDATE comprobantes SET estado = 'procesando', updated_at = $1 "
                                "WHERE clave = (SELECT clave FROM comprobantes WHERE estado = "
                                "'recibido' ORDER BY received_at LIMIT 1 FOR UPDATE SKIP LOCKED) "
                                "AND estado = 'recibido' RETURNING {}",
                                kComprobanteColumns));
    s.bind_time(1, now_seconds());
    if (!s.step()) return std::optional<ComprobanteRecord>();
    return std::optional<ComprobanteRecord>(comprobante_from(s));
  });
}

Status PostgresStore::finish_comprobante(const std::string& clave, ComprobanteState state,
                                         const Bytes& respuesta_xml) {
  return guarded([&](Connection& db) -> Status {
    // A final state makes the callback due at once; it is stored with the
    // state, so a restart loses no callback.
    const bool final =
        state != ComprobanteState::kRecibido && state != ComprobanteState::kProcesando;
    const UnixSeconds now = now_seconds();
    Statement(db,
              "UPDATE comprobantes SET estado = $1, respuesta_xml = $2, updated_at = $3, "
              "callback_estado = CASE WHEN $4::boolean AND callback_url IS NOT NULL "
              "THEN 'pendiente' ELSE callback_estado END, "
              "callback_siguiente = CASE WHEN $4::boolean AND callback_url IS NOT NULL "
              "THEN $3::timestamptz ELSE callback_siguiente END WHERE clave = $5")
        .bind(1, state_name(state))
        .bind(2, respuesta_xml)
        .bind_time(3, now)
        .bind_bool(4, final)
        .bind(5, clave)
        .run();
    return Ok{};
  });
}

Status PostgresStore::requeue_comprobantes(UnixSeconds claimed_before) {
  return guarded([&](Connection& db) -> Status {
    Statement(db,
              "UPDATE comprobantes SET estado = 'recibido' WHERE estado = 'procesando' "
              "AND updated_at <= $1")
        .bind_time(1, claimed_before)
        .run();
    return Ok{};
  });
}

Status PostgresStore::set_referencia(const std::string& clave, const std::string& referencia) {
  return guarded([&](Connection& db) -> Status {
    Statement(db, "UPDATE comprobantes SET referencia = $1 WHERE clave = $2")
        .bind(1, referencia)
        .bind(2, clave)
        .run();
    return Ok{};
  });
}

Result<std::optional<std::string>> PostgresStore::clave_with_consecutivo(
    Environment env, const std::string& emisor, const std::string& consecutivo,
    const std::string& except) {
  return guarded([&](Connection& db) -> Result<std::optional<std::string>> {
    // The consecutivo is the clave's digits 22 to 41 (and the column when
    // stored); a MensajeReceptor (clave-consecutivoReceptor) has none.
    Statement s(db,
                "SELECT clave FROM comprobantes WHERE environment = $1 AND emisor_numero = $2 "
                "AND clave <> $3 AND strpos(clave, '-') = 0 "
                "AND (consecutivo = $4 OR substr(clave, 22, 20) = $4) LIMIT 1");
    s.bind(1, environment_name(env)).bind(2, emisor).bind(3, except).bind(4, consecutivo);
    if (!s.step()) return std::optional<std::string>();
    return std::optional<std::string>(s.text(0));
  });
}

Result<std::vector<ComprobanteRecord>> PostgresStore::claim_callbacks(UnixSeconds now,
                                                                      UnixSeconds lease_until,
                                                                      int limit) {
  return guarded([&](Connection& db) -> Result<std::vector<ComprobanteRecord>> {
    // Rows another server is claiming right now are skipped, not waited for;
    // the ones taken are not due again before the lease ends.
    Statement s(db, fmt::format("UPDATE comprobantes SET callback_siguiente = $3 WHERE clave IN "
                                "(SELECT clave FROM comprobantes WHERE callback_estado = "
                                "'pendiente' AND callback_siguiente <= $1 "
                                "ORDER BY callback_siguiente LIMIT $2 FOR UPDATE SKIP LOCKED) "
                                "AND callback_estado = 'pendiente' RETURNING {}",
                                kComprobanteColumns));
    s.bind_time(1, now).bind(2, static_cast<std::int64_t>(limit)).bind_time(3, lease_until);
    std::vector<ComprobanteRecord> out;
    while (s.step()) out.push_back(comprobante_from(s));
    return out;
  });
}

Status PostgresStore::record_callback_attempt(const std::string& clave,
                                              const CallbackAttempt& attempt, CallbackState state,
                                              UnixSeconds next) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db,
              "INSERT INTO callback_intentos (clave, intento, at, status, error) "
              "VALUES ($1, $2, $3, $4, $5)")
        .bind(1, clave)
        .bind(2, static_cast<std::int64_t>(attempt.number))
        .bind_time(3, attempt.at)
        .bind(4, static_cast<std::int64_t>(attempt.status))
        .bind(5, attempt.error)
        .run();
    Statement(db,
              "UPDATE comprobantes SET callback_estado = $1, callback_intentos = $2, "
              "callback_siguiente = $3 WHERE clave = $4")
        .bind(1, callback_state_name(state))
        .bind(2, static_cast<std::int64_t>(attempt.number))
        .bind_time(3, next)
        .bind(4, clave)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<CallbackAttempt>> PostgresStore::callback_attempts(const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::vector<CallbackAttempt>> {
    Statement s(db,
                "SELECT intento, at, status, error FROM callback_intentos WHERE clave = $1 "
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

Result<ComprobantePage> PostgresStore::list_comprobantes(const ComprobanteQuery& q) {
  return guarded([&](Connection& db) -> Result<ComprobantePage> {
    const std::string where =
        "environment = $1 AND (emisor_numero = $2 OR receptor_numero = $2) "
        "AND ($3::text IS NULL OR emisor_numero = $3) "
        "AND ($4::text IS NULL OR receptor_numero = $4) AND strpos(clave, '-') = 0";
    auto bind = [&](Statement& s) {
      s.bind(1, environment_name(q.environment))
          .bind(2, q.party)
          .bind_optional(3, q.emisor)
          .bind_optional(4, q.receptor);
    };
    ComprobantePage page;
    {
      const std::string sql = "SELECT COUNT(*) FROM comprobantes WHERE " + where;
      Statement s(db, sql);
      bind(s);
      if (s.step()) page.total = s.integer(0);
    }
    const std::string sql = fmt::format(
        "SELECT {} FROM comprobantes WHERE {} ORDER BY {} LIMIT $5 OFFSET $6", kComprobanteColumns,
        where, q.newest_first ? "received_at DESC, clave DESC" : "received_at, clave");
    Statement s(db, sql);
    bind(s);
    s.bind(5, q.limit).bind(6, q.offset);
    while (s.step()) page.items.push_back(comprobante_from(s));
    return page;
  });
}

Result<std::vector<ComprobanteRecord>> PostgresStore::referencing(const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::vector<ComprobanteRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM comprobantes WHERE referencia = $1 ORDER BY "
                                "received_at",
                                kComprobanteColumns));
    s.bind(1, clave);
    std::vector<ComprobanteRecord> out;
    while (s.step()) out.push_back(comprobante_from(s));
    return out;
  });
}

Result<std::int64_t> PostgresStore::purge_comprobantes(Environment env) {
  return guarded([&](Connection& db) -> Result<std::int64_t> {
    Transaction txn(db);
    // callback_intentos go with their comprobante (ON DELETE CASCADE).
    const std::int64_t count = Statement(db, "DELETE FROM comprobantes WHERE environment = $1")
                                   .bind(1, environment_name(env))
                                   .run();
    txn.commit();
    return count;
  });
}

// --- AuditStore -------------------------------------------------------------------

Result<AuditLog> PostgresStore::audit_log() {
  return guarded([&](Connection& db) -> Result<AuditLog> {
    AuditLog log;
    // One snapshot for rows and head.
    Transaction txn(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    Statement s(db,
                "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit_log "
                "ORDER BY seq");
    while (s.step())
      log.rows.push_back(AuditRow{s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4),
                                  s.text(5), s.text(6), s.text(7)});
    Statement h(db, "SELECT seq, hash FROM audit_head WHERE singleton = 1");
    if (h.step()) log.head = std::make_pair(h.integer(0), h.text(1));
    txn.commit();
    return log;
  });
}

// --- ToolStore --------------------------------------------------------------------

Result<std::optional<CustodyRecord>> PostgresStore::custody_key(std::int64_t taxpayer_id,
                                                                Environment env) {
  return guarded([&](Connection& db) -> Result<std::optional<CustodyRecord>> {
    Statement s(db,
                "SELECT c.id, c.serial_hex, c.certificate_der, k.llave_envuelta "
                "FROM llaves_custodia k JOIN certificates c ON c.id = k.certificate_id "
                "WHERE c.taxpayer_id = $1 AND c.environment = $2 AND c.status = 'active'");
    s.bind(1, taxpayer_id).bind(2, environment_name(env));
    if (!s.step()) return std::optional<CustodyRecord>();
    return std::optional<CustodyRecord>(
        CustodyRecord{s.integer(0), taxpayer_id, env, s.text(1), s.blob(2), s.blob(3)});
  });
}

Status PostgresStore::delete_custody_key(std::int64_t taxpayer_id, Environment env,
                                         const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    const auto deleted =
        Statement(db,
                  "DELETE FROM llaves_custodia WHERE certificate_id IN (SELECT id FROM "
                  "certificates WHERE taxpayer_id = $1 AND environment = $2)")
            .bind(1, taxpayer_id)
            .bind(2, environment_name(env))
            .run();
    if (deleted == 0)
      return make_error(errc::kSinLlaveCustodia,
                        "No hay una llave guardada para firmar automáticamente.");
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<EmittedRecord> PostgresStore::emit_numbered(
    const ConsecutivoKey& key,
    const std::function<Result<NumberedEmission>(std::int64_t numero)>& build) {
  return guarded([&](Connection& db) -> Result<EmittedRecord> {
    Transaction txn(db);
    const std::string env(environment_name(key.environment));
    // The counter's row, made if new and then locked: two emissions on one
    // counter take turns, and each number is used once, without gaps.
    Statement(db,
              "INSERT INTO consecutivos (environment, emisor, sucursal, terminal, tipo, ultimo) "
              "VALUES ($1, $2, $3, $4, $5, 0) ON CONFLICT DO NOTHING")
        .bind(1, env)
        .bind(2, key.emisor)
        .bind(3, key.sucursal)
        .bind(4, key.terminal)
        .bind(5, key.tipo)
        .run();
    std::int64_t numero = 1;
    {
      Statement s(db,
                  "SELECT ultimo FROM consecutivos WHERE environment = $1 AND emisor = $2 AND "
                  "sucursal = $3 AND terminal = $4 AND tipo = $5 FOR UPDATE");
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
    Statement(db,
              "UPDATE consecutivos SET ultimo = $6 WHERE environment = $1 AND emisor = $2 AND "
              "sucursal = $3 AND terminal = $4 AND tipo = $5")
        .bind(1, env)
        .bind(2, key.emisor)
        .bind(3, key.sucursal)
        .bind(4, key.terminal)
        .bind(5, key.tipo)
        .bind(6, numero)
        .run();
    try {
      Statement(db, fmt::format("INSERT INTO emitidos ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                                "$8, $9, $10)",
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
    } catch (const SqlFailure& failure) {
      // A second answer to one document (emitidos_una_respuesta): running
      // again would only sign it again and fail again. The number is not
      // spent; the caller finds the answer that won.
      if (failure.sqlstate != kUniqueViolation) throw;
      throw SqlFailure(failure.code, failure.what());
    }
    append_audit(db, built->audit);
    txn.commit();
    return std::move(r);
  });
}

Result<EmittedPage> PostgresStore::emitted(std::int64_t taxpayer_id, Environment env,
                                           const EmittedFilter& filter, std::int64_t offset,
                                           std::int64_t limit) {
  return guarded([&](Connection& db) -> Result<EmittedPage> {
    // ILIKE where SQLite has LIKE: both ignore case (ILIKE as the database's
    // locale says, beyond ASCII too).
    constexpr std::string_view kWhere =
        "taxpayer_id = $1 AND environment = $2 "
        "AND (($3::text IS NULL AND $4::text IS NULL) "
        "OR receptor_nombre ILIKE '%' || $3::text || '%' ESCAPE '\\' OR receptor_numero = "
        "$4::text) "
        "AND ($5::timestamptz IS NULL OR created_at >= $5::timestamptz) "
        "AND ($6::timestamptz IS NULL OR created_at < $6::timestamptz) "
        "AND ($7::text IS NULL OR estado = $7::text) AND (NOT $8::boolean OR NOT recibido) "
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
          .bind_bool(8, filter.not_received);
    };
    // One snapshot for the count and the page.
    Transaction txn(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    EmittedPage page;
    {
      Statement s(db, fmt::format("SELECT count(*) FROM {} WHERE {}", kEmittedJoined, kWhere));
      bind(s);
      if (s.step()) page.total = s.integer(0);
    }
    Statement s(db, fmt::format("SELECT {}, estado, respuesta_xml FROM {} WHERE {} "
                                "ORDER BY created_at DESC, consecutivo DESC LIMIT $9 OFFSET $10",
                                kEmittedColumns, kEmittedJoined, kWhere));
    bind(s);
    s.bind(9, limit).bind(10, offset);
    while (s.step()) page.items.push_back(emitted_row_from(s));
    txn.commit();
    return page;
  });
}

Result<std::optional<EmittedRecord>> PostgresStore::find_emitted(const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::optional<EmittedRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM emitidos WHERE clave = $1", kEmittedColumns));
    s.bind(1, clave);
    if (!s.step()) return std::optional<EmittedRecord>();
    return std::optional<EmittedRecord>(emitted_from(s));
  });
}

Result<std::optional<EmittedRecord>> PostgresStore::receptor_answer(Environment env,
                                                                    const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::optional<EmittedRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM emitidos WHERE environment = $1 AND "
                                "substr(clave, 1, 50) = $2 AND tipo IN ('05', '06', '07')",
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

// Refuses an add to a list (`table`) that already has `max` entries. Called
// with the owner's row locked (lock_taxpayer): two adds to one list take
// turns, so neither counts without the other's row.
void require_room(Connection& db, std::string_view table, std::int64_t taxpayer_id, Environment env,
                  std::int64_t max, std::string_view what) {
  Statement s(db, fmt::format("SELECT count(*) FROM {} WHERE taxpayer_id = $1 AND environment = $2",
                              table));
  s.bind(1, taxpayer_id).bind(2, environment_name(env));
  if (s.step() && s.integer(0) >= max) fail(list_full(what, max));
}

// Refuses a client whose identification the list has already (but `except`).
// A race the look misses is the unique key's, and its rerun looks again.
void require_new_identification(Connection& db, const ClienteRecord& c, std::int64_t except) {
  Statement s(db,
              "SELECT nombre FROM clientes WHERE taxpayer_id = $1 AND environment = $2 AND "
              "identificacion = $3 AND id <> $4");
  s.bind(1, c.taxpayer_id).bind(2, environment_name(c.environment)).bind(3, c.identificacion);
  s.bind(4, except);
  if (s.step()) fail(cliente_duplicado(s.text(0)));
}

// Runs `statement` (which names the row by id, owner and environment, in
// that order, after its own parameters) and fails unless it changed a row.
void change_listed(Statement& statement, int first, std::int64_t id, std::int64_t taxpayer_id,
                   Environment env) {
  statement.bind(first, id).bind(first + 1, taxpayer_id).bind(first + 2, environment_name(env));
  if (statement.run() == 0) fail(not_listed());
}

// Deletes an entry of a list (`table`) by id, owner and environment, with
// its audit row.
void delete_listed(Connection& db, std::string_view table, std::int64_t taxpayer_id,
                   Environment env, std::int64_t id, const AuditEvent& audit) {
  Transaction txn(db);
  Statement s(db, fmt::format("DELETE FROM {} WHERE id = $1 AND taxpayer_id = $2 AND "
                              "environment = $3",
                              table));
  change_listed(s, 1, id, taxpayer_id, env);
  append_audit(db, audit);
  txn.commit();
}

// A page of a list sorted by `order` ignoring case, as SQLite's NOCASE.
template <typename Record, typename From>
ListPage<Record> list_page(Connection& db, std::string_view table, std::string_view columns,
                           std::string_view order, std::int64_t taxpayer_id, Environment env,
                           std::int64_t offset, std::int64_t limit, From from) {
  ListPage<Record> page;
  // One snapshot for the count and the page.
  Transaction txn(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  {
    Statement s(db, fmt::format("SELECT count(*) FROM {} WHERE taxpayer_id = $1 AND "
                                "environment = $2",
                                table));
    s.bind(1, taxpayer_id).bind(2, environment_name(env));
    if (s.step()) page.total = s.integer(0);
  }
  Statement s(db, fmt::format("SELECT {} FROM {} WHERE taxpayer_id = $1 AND environment = $2 "
                              "ORDER BY lower({}), id LIMIT $3 OFFSET $4",
                              columns, table, order));
  s.bind(1, taxpayer_id).bind(2, environment_name(env)).bind(3, limit).bind(4, offset);
  while (s.step()) page.items.push_back(from(s));
  txn.commit();
  return page;
}

template <typename Record, typename From>
std::optional<Record> find_listed(Connection& db, std::string_view table, std::string_view columns,
                                  std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                  From from) {
  Statement s(db, fmt::format("SELECT {} FROM {} WHERE id = $1 AND taxpayer_id = $2 AND "
                              "environment = $3",
                              columns, table));
  s.bind(1, id).bind(2, taxpayer_id).bind(3, environment_name(env));
  if (!s.step()) return std::nullopt;
  return from(s);
}

}  // namespace

Result<ClienteRecord> PostgresStore::add_cliente(const ClienteRecord& c, std::int64_t max,
                                                 const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<ClienteRecord> {
    Transaction txn(db);
    lock_taxpayer(db, c.taxpayer_id);
    require_new_identification(db, c, 0);
    require_room(db, "clientes", c.taxpayer_id, c.environment, max, "clientes");
    Statement s(db,
                "INSERT INTO clientes (taxpayer_id, environment, id_type, identificacion, nombre, "
                "correo, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id");
    s.bind(1, c.taxpayer_id)
        .bind(2, environment_name(c.environment))
        .bind(3, id_type_code(c.id_type))
        .bind(4, c.identificacion)
        .bind(5, c.nombre)
        .bind(6, c.correo)
        .bind_time(7, now_seconds());
    ClienteRecord out = c;
    if (s.step()) out.id = s.integer(0);
    append_audit(db, audit);
    txn.commit();
    return out;
  });
}

Status PostgresStore::update_cliente(const ClienteRecord& c, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    lock_taxpayer(db, c.taxpayer_id);
    require_new_identification(db, c, c.id);
    Statement s(db,
                "UPDATE clientes SET id_type = $1, identificacion = $2, nombre = $3, correo = $4 "
                "WHERE id = $5 AND taxpayer_id = $6 AND environment = $7");
    s.bind(1, id_type_code(c.id_type)).bind(2, c.identificacion).bind(3, c.nombre);
    s.bind(4, c.correo);
    change_listed(s, 5, c.id, c.taxpayer_id, c.environment);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Status PostgresStore::delete_cliente(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                     const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    delete_listed(db, "clientes", taxpayer_id, env, id, audit);
    return Ok{};
  });
}

Result<std::optional<ClienteRecord>> PostgresStore::find_cliente(std::int64_t taxpayer_id,
                                                                 Environment env, std::int64_t id) {
  return guarded([&](Connection& db) -> Result<std::optional<ClienteRecord>> {
    return find_listed<ClienteRecord>(db, "clientes", kClienteColumns, taxpayer_id, env, id,
                                      cliente_from<Statement>);
  });
}

Result<ListPage<ClienteRecord>> PostgresStore::clientes(std::int64_t taxpayer_id, Environment env,
                                                        std::int64_t offset, std::int64_t limit) {
  return guarded([&](Connection& db) -> Result<ListPage<ClienteRecord>> {
    return list_page<ClienteRecord>(db, "clientes", kClienteColumns, "nombre", taxpayer_id, env,
                                    offset, limit, cliente_from<Statement>);
  });
}

Result<ProductoRecord> PostgresStore::add_producto(const ProductoRecord& p, std::int64_t max,
                                                   const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<ProductoRecord> {
    Transaction txn(db);
    lock_taxpayer(db, p.taxpayer_id);
    require_room(db, "productos", p.taxpayer_id, p.environment, max, "productos");
    Statement s(db,
                "INSERT INTO productos (taxpayer_id, environment, cabys, descripcion, unidad, "
                "precio, tarifa, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id");
    s.bind(1, p.taxpayer_id)
        .bind(2, environment_name(p.environment))
        .bind(3, p.cabys)
        .bind(4, p.descripcion)
        .bind(5, p.unidad)
        .bind(6, p.precio)
        .bind(7, p.tarifa)
        .bind_time(8, now_seconds());
    ProductoRecord out = p;
    if (s.step()) out.id = s.integer(0);
    append_audit(db, audit);
    txn.commit();
    return out;
  });
}

Status PostgresStore::update_producto(const ProductoRecord& p, const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement s(db,
                "UPDATE productos SET cabys = $1, descripcion = $2, unidad = $3, precio = $4, "
                "tarifa = $5 WHERE id = $6 AND taxpayer_id = $7 AND environment = $8");
    s.bind(1, p.cabys).bind(2, p.descripcion).bind(3, p.unidad).bind(4, p.precio);
    s.bind(5, p.tarifa);
    change_listed(s, 6, p.id, p.taxpayer_id, p.environment);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Status PostgresStore::delete_producto(std::int64_t taxpayer_id, Environment env, std::int64_t id,
                                      const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    delete_listed(db, "productos", taxpayer_id, env, id, audit);
    return Ok{};
  });
}

Result<std::optional<ProductoRecord>> PostgresStore::find_producto(std::int64_t taxpayer_id,
                                                                   Environment env,
                                                                   std::int64_t id) {
  return guarded([&](Connection& db) -> Result<std::optional<ProductoRecord>> {
    return find_listed<ProductoRecord>(db, "productos", kProductoColumns, taxpayer_id, env, id,
                                       producto_from<Statement>);
  });
}

Result<ListPage<ProductoRecord>> PostgresStore::productos(std::int64_t taxpayer_id, Environment env,
                                                          std::int64_t offset, std::int64_t limit) {
  return guarded([&](Connection& db) -> Result<ListPage<ProductoRecord>> {
    return list_page<ProductoRecord>(db, "productos", kProductoColumns, "descripcion", taxpayer_id,
                                     env, offset, limit, producto_from<Statement>);
  });
}

// --- MailStore --------------------------------------------------------------------

Result<std::vector<MailRecord>> PostgresStore::claim_mails(UnixSeconds now, UnixSeconds lease_until,
                                                           int limit) {
  return guarded([&](Connection& db) -> Result<std::vector<MailRecord>> {
    // As claim_callbacks: skipped when another server holds them, and not
    // due again before the lease ends.
    Statement s(db, fmt::format("UPDATE correos_emitidos SET siguiente = $3 WHERE clave IN "
                                "(SELECT clave FROM correos_emitidos WHERE estado = 'pendiente' "
                                "AND siguiente <= $1 ORDER BY siguiente LIMIT $2 "
                                "FOR UPDATE SKIP LOCKED) AND estado = 'pendiente' RETURNING {}",
                                kMailColumns));
    s.bind_time(1, now).bind(2, static_cast<std::int64_t>(limit)).bind_time(3, lease_until);
    std::vector<MailRecord> out;
    while (s.step()) out.push_back(mail_from(s));
    return out;
  });
}

Result<std::optional<MailRecord>> PostgresStore::find_mail(const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::optional<MailRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM correos_emitidos WHERE clave = $1", kMailColumns));
    s.bind(1, clave);
    if (!s.step()) return std::optional<MailRecord>();
    return std::optional<MailRecord>(mail_from(s));
  });
}

Status PostgresStore::record_mail(const std::string& clave,
                                  const std::optional<MailAttempt>& attempt, MailState state,
                                  int round_attempts, UnixSeconds next) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    if (attempt)
      Statement(db,
                "INSERT INTO correo_intentos (clave, intento, at, destinatario, entregado, error) "
                "VALUES ($1, $2, $3, $4, $5, $6)")
          .bind(1, clave)
          .bind(2, static_cast<std::int64_t>(attempt->number))
          .bind_time(3, attempt->at)
          .bind(4, attempt->to)
          .bind_bool(5, attempt->delivered)
          .bind(6, attempt->error)
          .run();
    Statement(db,
              "UPDATE correos_emitidos SET estado = $1, intentos = $2, siguiente = $3 "
              "WHERE clave = $4")
        .bind(1, mail_state_name(state))
        .bind(2, static_cast<std::int64_t>(round_attempts))
        .bind_time(3, next)
        .bind(4, clave)
        .run();
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<MailAttempt>> PostgresStore::mail_attempts(const std::string& clave) {
  return guarded([&](Connection& db) -> Result<std::vector<MailAttempt>> {
    Statement s(db, fmt::format("SELECT {} FROM correo_intentos WHERE clave = $1 ORDER BY intento",
                                kMailAttemptColumns));
    s.bind(1, clave);
    std::vector<MailAttempt> out;
    while (s.step()) out.push_back(mail_attempt_from(s));
    return out;
  });
}

Status PostgresStore::request_mail(const std::string& clave, UnixSeconds now,
                                   const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db,
              "INSERT INTO correos_emitidos (clave, estado, intentos, siguiente) "
              "VALUES ($1, 'pendiente', 0, $2) ON CONFLICT (clave) DO UPDATE SET "
              "estado = 'pendiente', intentos = 0, siguiente = excluded.siguiente")
        .bind(1, clave)
        .bind_time(2, now)
        .run();
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

// ---------------------------------------------------------------- OperatorStore

Result<OperatorRecord> PostgresStore::add_operator(const OperatorRecord& record,
                                                   const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Result<OperatorRecord> {
    Transaction txn(db);
    {
      Statement s(db, "SELECT 1 FROM operators WHERE username = $1");
      s.bind(1, record.username);
      if (s.step())
        return make_error(errc::kOperadorDuplicado,
                          fmt::format("Ya existe un operador con el usuario {}.", record.username));
    }
    OperatorRecord r = record;
    r.created_at = now_seconds();
    Statement s(db,
                "INSERT INTO operators (username, role, password_hash, disabled, created_at) "
                "VALUES ($1, $2, $3, $4, $5) RETURNING id");
    s.bind(1, r.username)
        .bind(2, operator_role_name(r.role))
        .bind(3, r.password_hash)
        .bind_bool(4, r.disabled)
        .bind_time(5, r.created_at);
    if (!s.step()) return make_error(errc::kErrorAlmacen, "No se pudo guardar el operador.");
    r.id = s.integer(0);
    append_audit(db, audit);
    txn.commit();
    return r;
  });
}

Result<std::optional<OperatorRecord>> PostgresStore::find_operator(const std::string& username) {
  return guarded([&](Connection& db) -> Result<std::optional<OperatorRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM operators WHERE username = $1", kOperatorColumns));
    s.bind(1, username);
    if (!s.step()) return std::optional<OperatorRecord>();
    return std::optional<OperatorRecord>(operator_from(s));
  });
}

Result<std::optional<OperatorRecord>> PostgresStore::find_operator_by_id(std::int64_t id) {
  return guarded([&](Connection& db) -> Result<std::optional<OperatorRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM operators WHERE id = $1", kOperatorColumns));
    s.bind(1, id);
    if (!s.step()) return std::optional<OperatorRecord>();
    return std::optional<OperatorRecord>(operator_from(s));
  });
}

Result<std::vector<OperatorRecord>> PostgresStore::operators() {
  return guarded([&](Connection& db) -> Result<std::vector<OperatorRecord>> {
    Statement s(db, fmt::format("SELECT {} FROM operators ORDER BY username", kOperatorColumns));
    std::vector<OperatorRecord> out;
    while (s.step()) out.push_back(operator_from(s));
    return out;
  });
}

Status PostgresStore::set_operator_disabled(std::int64_t id, bool disabled,
                                            const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    Statement(db, "UPDATE operators SET disabled = $1 WHERE id = $2")
        .bind_bool(1, disabled)
        .bind(2, id)
        .run();
    if (disabled)
      Statement(db, "DELETE FROM operator_sessions WHERE operator_id = $1").bind(1, id).run();
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Status PostgresStore::set_operator_totp(std::int64_t id, const Bytes& sealed) {
  return guarded([&](Connection& db) -> Status {
    Statement(db, "UPDATE operators SET totp_sealed = $1 WHERE id = $2 AND NOT totp_enrolled")
        .bind(1, sealed)
        .bind(2, id)
        .run();
    return Ok{};
  });
}

Result<bool> PostgresStore::spend_totp_step(std::int64_t id, std::int64_t step) {
  return guarded([&](Connection& db) -> Result<bool> {
    Statement update(db,
                     "UPDATE operators SET totp_last_step = $1, totp_enrolled = TRUE "
                     "WHERE id = $2 AND totp_last_step < $3");
    update.bind(1, step).bind(2, id).bind(3, step);
    return update.run() == 1;
  });
}

Status PostgresStore::create_operator_session(const OperatorSessionRecord& r,
                                              const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    insert_session(db, kOperatorSessions, r);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::optional<OperatorSessionRecord>> PostgresStore::find_operator_session(
    const std::string& id_hash) {
  return guarded([&](Connection& db) -> Result<std::optional<OperatorSessionRecord>> {
    return find_session_row<OperatorSessionRecord>(db, kOperatorSessions, id_hash);
  });
}

Status PostgresStore::touch_operator_session(const std::string& id_hash, UnixSeconds last_seen) {
  return guarded([&](Connection& db) -> Status {
    touch_session_row(db, kOperatorSessions, id_hash, last_seen);
    return Ok{};
  });
}

Status PostgresStore::delete_operator_session(const std::string& id_hash) {
  return guarded([&](Connection& db) -> Status {
    delete_session_row(db, kOperatorSessions, id_hash);
    return Ok{};
  });
}

Status PostgresStore::purge_operator_sessions(UnixSeconds idle_before) {
  return guarded([&](Connection& db) -> Status {
    Statement(db, "DELETE FROM operator_sessions WHERE last_seen < $1")
        .bind_time(1, idle_before)
        .run();
    return Ok{};
  });
}

Status PostgresStore::record_operator_event(const AuditEvent& audit) {
  return guarded([&](Connection& db) -> Status {
    Transaction txn(db);
    append_audit(db, audit);
    txn.commit();
    return Ok{};
  });
}

Result<std::vector<TaxpayerRecord>> PostgresStore::search_taxpayers(const std::string& text,
                                                                    int limit) {
  return guarded([&](Connection& db) -> Result<std::vector<TaxpayerRecord>> {
    // The text is matched literally: LIKE's wildcards in it are escaped.
    std::string pattern = "%";
    for (char c : text) {
      if (c == '%' || c == '_' || c == '\\') pattern += '\\';
      pattern += c;
    }
    pattern += '%';
    Statement s(db, fmt::format("SELECT {} FROM taxpayers WHERE identification LIKE $1 ESCAPE "
                                "'\\' OR lower(nombre || ' ' || apellidos) LIKE lower($2) "
                                "ESCAPE '\\' ORDER BY identification LIMIT $3",
                                kTaxpayerColumns));
    s.bind(1, pattern).bind(2, pattern).bind(3, static_cast<std::int64_t>(limit));
    std::vector<TaxpayerRecord> out;
    while (s.step()) out.push_back(taxpayer_from(s));
    return out;
  });
}

Result<std::vector<AuthorityCounts>> PostgresStore::authority_counts() {
  return guarded([&](Connection& db) -> Result<std::vector<AuthorityCounts>> {
    Statement s(db,
                "SELECT authority_id, SUM(CASE WHEN status <> 'reserved' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status = 'revoked' THEN 1 ELSE 0 END) FROM certificates "
                "GROUP BY authority_id ORDER BY authority_id");
    std::vector<AuthorityCounts> out;
    while (s.step()) out.push_back(AuthorityCounts{s.integer(0), s.integer(1), s.integer(2)});
    return out;
  });
}

}  // namespace llavero
