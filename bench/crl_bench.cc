// What a CRL of 1 000 000 revoked certificates costs (issue 3, "Benchmark").
// The goals: build and sign it in at most 3 s, about 49 bytes per entry.
//
// A temporary SQLite store holds a 2048-bit pruebas hierarchy, one taxpayer
// and N synthetic revoked certificate rows of the pf CA, inserted directly
// with the sqlite3 C API in one transaction (then checkpointed, as a store
// that has been running for a while would be). Then we time
//   whole       build_current_crl(): read the rows, a CRL number, build, sign,
//               DER-encode — what the server and `llavero crl` run;
//   store_read  Store::revoked_certificates() alone;
//   convert     the RevokedEntry → CrlEntry loop of build_current_crl alone
//               (a copy: the store already read the times and reasons);
//   build_sign  build_crl() alone on a prepared request.
// Each runs once per repetition (one CRL is seconds of work), repetitions
// interleaved in random order; the summary uses the mean.
//
// Flags besides Google Benchmark's: --crl_entries=N (default 1000000; a
// smaller N is handy under valgrind --tool=callgrind).
//
// Byte budget per entry, for a 16-byte serial (random_serial() keeps the top
// bit clear and the next set, so the INTEGER is always 16 bytes): SEQUENCE
// header 2, INTEGER 2+16, UTCTime 2+13 = 35 bytes; a reasonCode extension
// adds 14 (SEQUENCE 2 + Extension SEQUENCE 2 + OID 5 + OCTET STRING 2+3), 49.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.h"
#include "pki/authority.h"
#include "pki/crl.h"
#include "pki/openssl.h"
#include "service/publication.h"
#include "store/sqlite/sqlite_store.h"
#include "util/clock.h"

namespace llavero {

using service::build_current_crl;
namespace {

namespace fs = std::filesystem;

constexpr double kSecondsGoal = 3.0;
constexpr double kBytesPerEntryGoal = 49.0;
constexpr UnixSeconds kValidity = 7 * 86400;
constexpr int kRepetitions = 3;
constexpr int kReasonlessEvery = 4;  // one row in four has no reason

std::int64_t g_entries = 1000000;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

class Fixture {
 public:
  static Result<std::unique_ptr<Fixture>> make();

  ~Fixture() {
    store.reset();
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  fs::path dir;
  std::vector<Authority> hierarchy;  // root, pf, pj
  const Authority* pf = nullptr;
  std::int64_t pf_id = 0;
  std::unique_ptr<SqliteStore> store;
  UnixSeconds now = 0;
  std::int64_t with_reason = 0;
  double insert_seconds = 0;
  std::uintmax_t db_bytes = 0;

 private:
  Fixture() = default;
  Status insert_revoked(std::int64_t taxpayer_id);
};

Status sqlite_error(sqlite3* db, std::string_view what) {
  return make_error("error_almacen", fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : "?"));
}

// N revoked rows of the pf CA in one transaction, through a connection of
// our own (the store does not expose its handle).
Status Fixture::insert_revoked(std::int64_t taxpayer_id) {
  sqlite3* db = nullptr;
  const std::string path = (dir / "llavero.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    Status s = sqlite_error(db, "abrir " + path);
    sqlite3_close(db);
    return s;
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> owned(db, sqlite3_close);
  sqlite3_busy_timeout(db, 15000);
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db, "BEGIN");
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(
          db,
          "INSERT INTO certificates (authority_id, serial_hex, taxpayer_id, environment, status, "
          "certificate_der, not_before, not_after, facturador_gratuito, revoked_at, "
          "revocation_reason, created_at) "
          "VALUES (?, ?, ?, 'pruebas', 'revoked', x'00', ?, ?, 0, ?, ?, ?)",
          -1, &raw, nullptr) != SQLITE_OK)
    return sqlite_error(db, "preparar INSERT");
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);

  // Randomness in blocks: 16 bytes of serial and 8 of times per row.
  constexpr std::int64_t kBlock = 4096;
  std::vector<std::uint8_t> random(static_cast<std::size_t>(kBlock) * 24);
  constexpr UnixSeconds kYear = 365 * 86400;
  for (std::int64_t i = 0; i < g_entries; ++i) {
    const std::size_t at = static_cast<std::size_t>(i % kBlock) * 24;
    if (at == 0 && RAND_bytes(random.data(), static_cast<int>(random.size())) != 1)
      return ossl::internal_error("RAND_bytes");
    // As random_serial() makes them: 16 bytes, top bit clear, next bit set.
    Bytes serial(random.begin() + static_cast<std::ptrdiff_t>(at),
                 random.begin() + static_cast<std::ptrdiff_t>(at + 16));
    serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);
    const std::string serial_hex = serial_to_hex(serial);
    std::uint64_t r = 0;
    std::memcpy(&r, random.data() + at + 16, sizeof r);
    // Issued within the last 3 years, valid 4, revoked between issue and now.
    const UnixSeconds age =
        60 + static_cast<UnixSeconds>(r % static_cast<std::uint64_t>(3 * kYear));
    const UnixSeconds not_before = now - age;
    const UnixSeconds not_after = not_before + 4 * kYear;
    const UnixSeconds revoked_at =
        not_before + static_cast<UnixSeconds>((r >> 32) % static_cast<std::uint64_t>(age));
    const std::string nb = format_utc(not_before), na = format_utc(not_after),
                      ra = format_utc(revoked_at);
    const char* reason = nullptr;
    switch (i % kReasonlessEvery) {
      case 0: break;  // none given
      case 1:
      case 2: reason = "superseded"; break;  // a new key replaced it
      default: reason = "keyCompromise"; break;
    }
    if (reason) ++with_reason;

    sqlite3_stmt* s = stmt.get();
    sqlite3_bind_int64(s, 1, pf_id);
    sqlite3_bind_text(s, 2, serial_hex.data(), static_cast<int>(serial_hex.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, taxpayer_id);
    sqlite3_bind_text(s, 4, nb.data(), static_cast<int>(nb.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, na.data(), static_cast<int>(na.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, ra.data(), static_cast<int>(ra.size()), SQLITE_TRANSIENT);
    if (reason)
      sqlite3_bind_text(s, 7, reason, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(s, 7);
    sqlite3_bind_text(s, 8, nb.data(), static_cast<int>(nb.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) return sqlite_error(db, "INSERT");
    sqlite3_reset(s);
  }
  stmt.reset();
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db, "COMMIT");
  if (sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr) != SQLITE_OK)
    return sqlite_error(db, "checkpoint");
  return Ok{};
}

Result<std::unique_ptr<Fixture>> Fixture::make() {
  std::unique_ptr<Fixture> f(new Fixture);
  std::string pattern = (fs::temp_directory_path() / "llavero-crl-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    return make_error("error_archivo",
                      fmt::format("mkdtemp {}: {}", pattern, std::strerror(errno)));
  f->dir = pattern;
  f->now = now_seconds();

  HierarchyOptions h;
  h.base_url = "http://127.0.0.1:8080";
  h.key_bits = 2048;
  h.now = f->now;
  auto hierarchy = create_hierarchy(Environment::kPruebas, h);
  if (!hierarchy) return hierarchy.error();
  f->hierarchy = std::move(*hierarchy);
  f->pf = &f->hierarchy.at(1);

  auto store = SqliteStore::open((f->dir / "llavero.db").string(), true);
  if (!store) return store.error();
  f->store = std::move(*store);
  std::vector<NewAuthority> records;
  for (const Authority& a : f->hierarchy) {
    auto der = ossl::x509_to_der(*a.certificate);
    if (!der) return der.error();
    // The key stays in memory (f->pf); the row only needs a PEM.
    records.push_back(NewAuthority{a.environment, a.kind, ossl::subject_line(*a.certificate),
                                   std::move(*der), "no usada por el benchmark"});
  }
  LLAVERO_TRY(f->store->add_authorities(
      records, AuditEvent{"bench", "init", f->dir.string(), "jerarquía del benchmark de CRL"}));
  auto authorities = f->store->authorities();
  if (!authorities) return authorities.error();
  for (const AuthorityRecord& a : *authorities)
    if (a.environment == Environment::kPruebas && a.kind == CaKind::kPersonaFisica) f->pf_id = a.id;
  if (f->pf_id == 0)
    return make_error("error_almacen", "la CA pf de pruebas no quedó en el almacén");

  auto taxpayer = f->store->add_taxpayer(
      NewTaxpayer{"106470958", IdType::kFisica, "CONTRIBUYENTE", "PEÑA DE PRUEBA", ""},
      AuditEvent{"bench", "contribuyente.crear", "106470958", ""});
  if (!taxpayer) return taxpayer.error();

  const auto start = std::chrono::steady_clock::now();
  LLAVERO_TRY(f->insert_revoked(taxpayer->id));
  f->insert_seconds = seconds_since(start);
  std::error_code ec;
  f->db_bytes = fs::file_size(f->dir / "llavero.db", ec);
  return f;
}

std::unique_ptr<Fixture> g_fixture;
std::optional<Error> g_fixture_error;
Bytes g_last_crl;  // from the whole path, checked after the run
std::size_t g_read_entries = 0;

Fixture* shared_fixture(benchmark::State& state) {
  if (!g_fixture && !g_fixture_error) {
    std::cerr << fmt::format("preparando {} filas revocadas en un almacén SQLite temporal...\n",
                             g_entries);
    auto made = Fixture::make();
    if (made) {
      g_fixture = std::move(*made);
      std::cerr << fmt::format("  insertadas en {:.1f} s; base de datos de {:.0f} MB\n",
                               g_fixture->insert_seconds,
                               static_cast<double>(g_fixture->db_bytes) / 1e6);
    } else {
      g_fixture_error = made.error();
    }
  }
  if (g_fixture_error) {
    state.SkipWithError(fmt::format("preparación: {}", g_fixture_error->message).c_str());
    return nullptr;
  }
  return g_fixture.get();
}

// The loop of build_current_crl (src/service/publication.cc), to time it alone.
CrlRequest to_request(const Fixture& f, const std::vector<RevokedEntry>& entries) {
  CrlRequest request{f.pf, 1, f.now, f.now + kValidity, {}};
  request.entries.reserve(entries.size());
  for (const RevokedEntry& e : entries) {
    request.entries.push_back(CrlEntry{e.serial_hex, e.revoked_at, e.reason});
  }
  return request;
}

void set_size_counters(benchmark::State& state, std::size_t bytes) {
  state.counters["entries"] = static_cast<double>(g_entries);
  state.counters["crl_bytes"] = static_cast<double>(bytes);
  state.counters["bytes_per_entry"] =
      g_entries > 0 ? static_cast<double>(bytes) / static_cast<double>(g_entries) : 0;
}

void BM_CrlWhole(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  Bytes der;
  for (auto _ : state) {
    auto built = build_current_crl(*f->store, f->pf_id, *f->pf, f->now, kValidity);
    if (!built) {
      state.SkipWithError(built.error().message.c_str());
      return;
    }
    der = std::move(*built);
    benchmark::DoNotOptimize(der.data());
  }
  set_size_counters(state, der.size());
  g_last_crl = std::move(der);
}

void BM_CrlStoreRead(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  const UnixSeconds now = f->now;
  std::size_t count = 0;
  for (auto _ : state) {
    auto entries = f->store->revoked_certificates(f->pf_id, now);
    if (!entries) {
      state.SkipWithError(entries.error().message.c_str());
      return;
    }
    count = entries->size();
    benchmark::DoNotOptimize(entries->data());
  }
  g_read_entries = count;
  state.counters["entries"] = static_cast<double>(count);
}

void BM_CrlConvert(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  auto entries = f->store->revoked_certificates(f->pf_id, f->now);
  if (!entries) {
    state.SkipWithError(entries.error().message.c_str());
    return;
  }
  for (auto _ : state) {
    CrlRequest request = to_request(*f, *entries);
    benchmark::DoNotOptimize(request.entries.data());
  }
}

void BM_CrlBuildSign(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  auto entries = f->store->revoked_certificates(f->pf_id, f->now);
  if (!entries) {
    state.SkipWithError(entries.error().message.c_str());
    return;
  }
  const CrlRequest request = to_request(*f, *entries);
  entries->clear();
  entries->shrink_to_fit();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto der = build_crl(request);
    if (!der) {
      state.SkipWithError(der.error().message.c_str());
      return;
    }
    bytes = der->size();
    benchmark::DoNotOptimize(der->data());
  }
  set_size_counters(state, bytes);
}

#define LLAVERO_CRL_BENCH(fn)         \
  BENCHMARK(fn)                       \
      ->Unit(benchmark::kMillisecond) \
      ->UseRealTime()                 \
      ->Iterations(1)                 \
      ->Repetitions(kRepetitions)
LLAVERO_CRL_BENCH(BM_CrlWhole);
LLAVERO_CRL_BENCH(BM_CrlStoreRead);
LLAVERO_CRL_BENCH(BM_CrlConvert);
LLAVERO_CRL_BENCH(BM_CrlBuildSign);

// Decodes the CRL of the whole path and checks it: every entry present, the
// signature good under the pf CA key.
std::string check_crl(const Fixture& f) {
  if (g_last_crl.empty()) return "no medida";
  const unsigned char* p = g_last_crl.data();
  ossl::Owned<X509_CRL, X509_CRL_free> crl(
      d2i_X509_CRL(nullptr, &p, static_cast<long>(g_last_crl.size())));
  if (!crl) return "NO DECODIFICA";
  const int n = sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get()));
  EVP_PKEY* key = X509_get0_pubkey(f.pf->certificate.get());
  const bool signature = key != nullptr && X509_CRL_verify(crl.get(), key) == 1;
  return fmt::format("{} entradas (esperadas {}), firma {}", n, g_entries,
                     signature ? "válida" : "INVÁLIDA");
}

// The times of the whole path and its parts, the size per entry and the
// check of the CRL, against the goals.
void print_summary(const MeasuringReporter& reporter) {
  std::ostream& out = reporter.GetOutputStream();
  const auto* whole = reporter.find("BM_CrlWhole");
  const auto* read = reporter.find("BM_CrlStoreRead");
  const auto* convert = reporter.find("BM_CrlConvert");
  const auto* build = reporter.find("BM_CrlBuildSign");
  auto part = [&](const MeasuringReporter::Measure* m) {
    return m ? fmt::format("{:.2f} s", m->real_mean()) : std::string("no medido");
  };
  if (!g_fixture || whole == nullptr || whole->iterations == 0) {
    out << fmt::format(
        "\nCRL de {} entradas: build_current_crl completo no medido; lectura {}, "
        "conversión {}, armar + firmar + DER {}\n",
        g_entries, part(read), part(convert), part(build));
    return;
  }
  const Fixture& f = *g_fixture;
  const double mean = whole->real_mean();
  const double n = static_cast<double>(g_entries);
  const double per_entry = n > 0 ? static_cast<double>(g_last_crl.size()) / n : 0;
  const double reasonless = n > 0 ? static_cast<double>(g_entries - f.with_reason) / n : 0;
  out << fmt::format(
             "\nCRL de {} entradas revocadas (CA pf de pruebas, RSA-2048, SHA-256), media de "
             "{} repeticiones:\n",
             g_entries, kRepetitions)
      << fmt::format("  build_current_crl completo   {:.2f} s (mínimo {:.2f} s)\n", mean,
                     whole->real.min)
      << fmt::format("    lectura del almacén        {}\n", part(read))
      << fmt::format("    conversión de filas        {}\n", part(convert))
      << fmt::format("    armar + firmar + DER       {}\n", part(build))
      << fmt::format("  tamaño {} bytes ({:.1f} MB), {:.2f} bytes por entrada\n", g_last_crl.size(),
                     static_cast<double>(g_last_crl.size()) / 1e6, per_entry)
      << fmt::format(
             "    ({:.0f} % de las entradas sin motivo: 35 bytes cada una, 49 con motivo; "
             "esperado {:.2f})\n",
             reasonless * 100, 49.0 - 14.0 * reasonless)
      << fmt::format("  verificación: {}\n", check_crl(f))
      << fmt::format("  tiempo: {:.2f} s (meta <= {:.1f} s): {}\n", mean, kSecondsGoal,
                     mean <= kSecondsGoal ? "PASS" : "ABOVE GOAL")
      << fmt::format(
             "  bytes por entrada: {:.2f} (meta ~{:.0f}, <= {:.0f} con motivo en todas): {}\n",
             per_entry, kBytesPerEntryGoal, kBytesPerEntryGoal,
             per_entry <= kBytesPerEntryGoal + 0.5 ? "PASS" : "ABOVE GOAL");
  out.flush();
}

}  // namespace
}  // namespace llavero

// Takes --crl_entries out of the command line and hands the rest to Google
// Benchmark.
int main(int argc, char** argv) {
  using namespace llavero;
  std::vector<char*> args{argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--crl_entries=")) {
      char* end = nullptr;
      const long long n = std::strtoll(argv[i] + std::strlen("--crl_entries="), &end, 10);
      if (end == nullptr || *end != '\0' || n < 1) {
        std::cerr << "--crl_entries necesita un entero positivo\n";
        return 1;
      }
      g_entries = n;
      continue;
    }
    args.push_back(argv[i]);
  }
  const int status = run_benchmarks(static_cast<int>(args.size()), args.data(), print_summary);
  g_fixture.reset();
  return status;
}
