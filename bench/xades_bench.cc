// What a XAdES-EPES signature and its verification cost on one core, against
// the limit: one raw RSA-2048 signature (EVP_DigestSign, SHA-256 of a small
// message) with the same key. Issue 5, "Benchmark".
//
// A signature of a comprobante needs exactly one RSA private-key operation;
// everything else (parsing, C14N, digests, building SignedProperties,
// serializing, and the RSA public-key check of the signature) is overhead. A
// verification needs no private-key operation at all: one RSA public-key
// operation for SignatureValue, one per certificate of the chain, plus the
// same XML work. So sign/raw (in signatures per second) says how much of the
// limit the signer reaches, and verify/raw how many verifications fit in the
// time of one raw signature.
//
// Everything runs on the benchmark's thread (threads 1), and the rates are per
// CPU-second of that thread, so that other load on the machine changes them
// as little as possible; the repetitions of the benchmarks are interleaved in
// random order and the ratios come from the mean CPU time per operation of
// that one run. The document is examples/factura-electronica.xml (3.9 KB);
// the keys come from a 2048-bit pruebas hierarchy made here.
//
// Verification is also measured on a comprobante of 10 KB (the example with
// more detail lines) against one raw RSA-2048 verification (issue 9), the
// public-key operation it cannot avoid.
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.h"
#include "id/identification.h"
#include "pki/authority.h"
#include "pki/issue.h"
#include "pki/openssl.h"
#include "service/config.h"
#include "util/clock.h"
#include "xades/xades.h"

#ifndef LLAVERO_EXAMPLES_DIR
#define LLAVERO_EXAMPLES_DIR "examples"
#endif

namespace llavero {

using namespace llavero::service;
namespace {

constexpr int kKeyBits = 2048;
constexpr double kMinSeconds = 0.25;  // per repetition
constexpr int kRepetitions = 12;

// The shared material: the hierarchy, a taxpayer key and certificate, the
// example document and a signed copy of it.
struct Fixture {
  std::vector<Authority> hierarchy;  // root, pf, pj
  ossl::PKey key;
  ossl::X509Ptr certificate;
  std::vector<const X509*> chain;  // pf, root: what KeyInfo carries after the certificate
  std::string document;
  std::string signed_document;
  std::string signed_10kb;  // the example grown to 10 KB, signed
  xades::VerifyOptions no_revocation;
  xades::VerifyOptions trivial_revocation;
};

Result<std::string> read_document() {
  const char* from_env = std::getenv("LLAVERO_BENCH_XML");
  const std::string path = from_env != nullptr
                               ? from_env
                               : std::string(LLAVERO_EXAMPLES_DIR) + "/factura-electronica.xml";
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("error_archivo", fmt::format("No se pudo leer {}.", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The example with its first LineaDetalle repeated until it is 10 KB.
std::string ten_kb(const std::string& document) {
  const auto start = document.find("<LineaDetalle>");
  const auto end = document.find("</LineaDetalle>");
  if (start == std::string::npos || end == std::string::npos) return document;
  const std::string line =
      document.substr(start, end + std::string_view("</LineaDetalle>").size() - start);
  std::string out = document;
  while (out.size() < 10 * 1024) out.insert(start, line + "\n      ");
  return out;
}

Result<std::unique_ptr<Fixture>> make_fixture() {
  auto f = std::make_unique<Fixture>();
  auto document = read_document();
  if (!document) return document.error();
  f->document = std::move(*document);

  const Config config;
  HierarchyOptions h;
  h.naming = config.naming;
  h.base_url = config.base_url;
  h.key_bits = kKeyBits;
  h.now = now_seconds() - 3600;
  auto hierarchy = create_hierarchy(Environment::kPruebas, h);
  if (!hierarchy) return hierarchy.error();
  f->hierarchy = std::move(*hierarchy);

  auto id = Identification::parse("1-0647-0958");
  if (!id) return id.error();
  const TaxpayerSubject subject{*id, "CONTRIBUYENTE", "PEÑA DE PRUEBA"};
  auto key = ossl::generate_rsa(kKeyBits);
  if (!key) return key.error();
  auto serial = random_serial();
  if (!serial) return serial.error();
  const Authority& pf = f->hierarchy.at(1);
  auto cert =
      issue_taxpayer_certificate(IssueRequest{&pf, key->get(), subject, *serial, now_seconds() - 60,
                                              config.base_url, config.strict_profile});
  if (!cert) return cert.error();
  f->key = std::move(*key);
  f->certificate = std::move(*cert);
  f->chain = {pf.certificate.get(), f->hierarchy.at(0).certificate.get()};

  auto signed_document = xades::sign(f->document, *f->key, *f->certificate, f->chain, {});
  if (!signed_document) return signed_document.error();
  f->signed_document = std::move(*signed_document);
  auto signed_10kb = xades::sign(ten_kb(f->document), *f->key, *f->certificate, f->chain, {});
  if (!signed_10kb) return signed_10kb.error();
  f->signed_10kb = std::move(*signed_10kb);

  for (xades::VerifyOptions* o : {&f->no_revocation, &f->trivial_revocation}) {
    o->trusted_roots = {f->hierarchy.at(0).certificate.get()};
    o->intermediates = {f->hierarchy.at(1).certificate.get(), f->hierarchy.at(2).certificate.get()};
  }
  f->trivial_revocation.revocation = [](const X509&, const X509&) -> Result<RevocationAnswer> {
    RevocationAnswer a;
    a.status = RevocationStatus::kGood;
    a.source = "benchmark";
    return a;
  };
  f->trivial_revocation.require_revocation_answer = true;

  // Both verifications must accept the signed document, or the benchmark
  // would time a failure path.
  for (const xades::VerifyOptions* o : {&f->no_revocation, &f->trivial_revocation})
    for (const std::string* document : {&f->signed_document, &f->signed_10kb}) {
      auto v = xades::verify(*document, *o);
      if (!v) return v.error();
      if (!v->valid) {
        std::string why;
        for (const xades::Check* c : v->failures())
          why += fmt::format(" [{}: {}]", c->name, c->reason);
        if (o == &f->trivial_revocation || why.find("revocacion") == std::string::npos)
          return make_error("error_interno", "la firma del benchmark no se verifica:" + why);
      }
    }
  return f;
}

std::unique_ptr<Fixture> g_fixture;
std::optional<Error> g_fixture_error;

Fixture* shared_fixture(benchmark::State& state) {
  if (!g_fixture && !g_fixture_error) {
    auto made = make_fixture();
    if (made)
      g_fixture = std::move(*made);
    else
      g_fixture_error = made.error();
  }
  if (g_fixture_error) {
    state.SkipWithError(fmt::format("preparación: {}", g_fixture_error->message).c_str());
    return nullptr;
  }
  return g_fixture.get();
}

constexpr std::string_view kRawMessage =
    "<SignedInfo>un mensaje corto, como un SignedInfo</SignedInfo>";

// One RSA PKCS#1 v1.5 signature over SHA-256 of kRawMessage, with a fresh
// EVP_MD_CTX as any signer would; its length, or 0 if OpenSSL failed.
std::size_t raw_sign(EVP_PKEY* key, std::vector<unsigned char>& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t length = signature.size();
  const bool ok = ctx != nullptr &&
                  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestSign(ctx, signature.data(), &length,
                                 reinterpret_cast<const unsigned char*>(kRawMessage.data()),
                                 kRawMessage.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok ? length : 0;
}

// The limit: one raw RSA-2048 signature.
void BM_RawRsaSign2048(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  std::vector<unsigned char> signature(static_cast<std::size_t>(EVP_PKEY_get_size(f->key.get())));
  for (auto _ : state) {
    if (raw_sign(f->key.get(), signature) == 0) {
      state.SkipWithError("EVP_DigestSign falló");
      break;
    }
    benchmark::DoNotOptimize(signature.data());
  }
  state.SetItemsProcessed(state.iterations());
}

// The limit of a verification: one RSA-2048 PKCS#1 v1.5 verification over
// SHA-256 of a small message, with a fresh EVP_MD_CTX each time.
void BM_RawRsaVerify2048(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  std::vector<unsigned char> signature(static_cast<std::size_t>(EVP_PKEY_get_size(f->key.get())));
  const std::size_t length = raw_sign(f->key.get(), signature);
  if (length == 0) {
    state.SkipWithError("EVP_DigestSign falló");
    return;
  }
  EVP_PKEY* public_key = X509_get0_pubkey(f->certificate.get());
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx != nullptr &&
                    EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, public_key) == 1 &&
                    EVP_DigestVerify(ctx, signature.data(), length,
                                     reinterpret_cast<const unsigned char*>(kRawMessage.data()),
                                     kRawMessage.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
      state.SkipWithError("EVP_DigestVerify falló");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_XadesSign(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  std::size_t size = 0;
  for (auto _ : state) {
    auto out = xades::sign(f->document, *f->key, *f->certificate, f->chain, {});
    if (!out) {
      state.SkipWithError(out.error().message.c_str());
      break;
    }
    size = out->size();
    benchmark::DoNotOptimize(out->data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_in"] = static_cast<double>(f->document.size());
  state.counters["bytes_out"] = static_cast<double>(size);
}

void BM_XadesVerify(benchmark::State& state, bool with_revocation, bool ten_kb) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  const xades::VerifyOptions& options = with_revocation ? f->trivial_revocation : f->no_revocation;
  const std::string& document = ten_kb ? f->signed_10kb : f->signed_document;
  for (auto _ : state) {
    auto v = xades::verify(document, options);
    if (!v) {
      state.SkipWithError(v.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(v->valid);
  }
  state.SetItemsProcessed(state.iterations());
}

// Not a ratio, a part: decoding one certificate of KeyInfo from DER, as
// verify() does for each of the three certificates there (unless the caller
// already holds it). Under OpenSSL 3.0 d2i_X509 builds a decoder context for the public
// key every time, which makes this surprisingly dear.
void BM_X509FromDer(benchmark::State& state) {
  Fixture* f = shared_fixture(state);
  if (f == nullptr) return;
  auto der = ossl::x509_to_der(*f->certificate);
  if (!der) {
    state.SkipWithError(der.error().message.c_str());
    return;
  }
  for (auto _ : state) {
    auto cert = ossl::x509_from_der(*der);
    if (!cert) {
      state.SkipWithError(cert.error().message.c_str());
      break;
    }
    benchmark::DoNotOptimize(cert->get());
  }
  state.SetItemsProcessed(state.iterations());
}

// Every measure alike: one thread, microseconds, repetitions interleaved
// (see the top of this file).
void timed(benchmark::internal::Benchmark* b) {
  b->Unit(benchmark::kMicrosecond)
      ->Threads(1)
      ->MinTime(kMinSeconds)
      ->Repetitions(kRepetitions)
      ->DisplayAggregatesOnly(true);
}

BENCHMARK(BM_RawRsaSign2048)->Apply(timed);
BENCHMARK(BM_XadesSign)->Apply(timed);
BENCHMARK(BM_RawRsaVerify2048)->Apply(timed);
BENCHMARK_CAPTURE(BM_XadesVerify, sin_revocacion, false, false)->Apply(timed);
BENCHMARK_CAPTURE(BM_XadesVerify, revocacion_trivial, true, false)->Apply(timed);
BENCHMARK_CAPTURE(BM_XadesVerify, comprobante_10kb, true, true)->Apply(timed);
BENCHMARK(BM_X509FromDer)->Apply(timed)->Repetitions(kRepetitions / 3);

// Each rate against the raw signature's, from the mean CPU time per operation.
void print_ratios(const MeasuringReporter& reporter) {
  std::ostream& out = reporter.GetOutputStream();
  const MeasuringReporter::Measure* raw = reporter.find("BM_RawRsaSign2048");
  if (raw == nullptr || raw->cpu_mean() <= 0) {
    out << "\nratios: not measured (needs BM_RawRsaSign2048 in the same run)\n";
    return;
  }
  const double r = raw->cpu_mean();
  const double r_sem = raw->cpu.sem.value_or(0);
  out << fmt::format("\nOne core (benchmark threads 1), per CPU-second of the benchmark thread:\n");
  out << fmt::format("  {:<34}{:>10.0f} /s   ({:.1f} us each, {:.1f} us real)\n",
                     "raw RSA-2048 sign (the limit)", 1 / r, r * 1e6, raw->real_mean() * 1e6);
  struct Line {
    const char* name;
    const char* label;
    const char* ratio;
  };
  for (const Line& line :
       {Line{"BM_XadesSign", "xades::sign (factura 3.9 KB)", "sign/raw"},
        Line{"BM_XadesVerify/sin_revocacion", "xades::verify (no revocation)", "verify/raw"},
        Line{"BM_XadesVerify/revocacion_trivial", "xades::verify (trivial revocation)",
             "verify/raw"}}) {
    const MeasuringReporter::Measure* m = reporter.find(line.name);
    if (m == nullptr || m->cpu_mean() <= 0) {
      out << fmt::format("  {:<34}not measured\n", line.label);
      continue;
    }
    const double c = m->cpu_mean();
    const double ratio = r / c;  // rate / raw rate
    const double spread = ratio * std::hypot(r_sem / r, m->cpu.sem.value_or(0) / c);
    out << fmt::format(
        "  {:<34}{:>10.0f} /s   ({:.1f} us each, {:.1f} us real)   {} = {:.3f} ± {:.3f}"
        "  (one costs {:.2f} raw signatures)\n",
        line.label, 1 / c, c * 1e6, m->real_mean() * 1e6, line.ratio, ratio, spread, c / r);
  }
  const MeasuringReporter::Measure* raw_verify = reporter.find("BM_RawRsaVerify2048");
  const MeasuringReporter::Measure* ten = reporter.find("BM_XadesVerify/comprobante_10kb");
  if (raw_verify != nullptr && ten != nullptr && raw_verify->cpu_mean() > 0 &&
      ten->cpu_mean() > 0) {
    const double v = raw_verify->cpu_mean(), t = ten->cpu_mean();
    out << fmt::format("  {:<34}{:>10.0f} /s   ({:.1f} us each)\n", "raw RSA-2048 verify", 1 / v,
                       v * 1e6);
    out << fmt::format(
        "  {:<34}{:>10.0f} /s   ({:.1f} us each)   verify10k/rawverify = {:.3f}  (one costs "
        "{:.1f} raw verifications)\n",
        "xades::verify (comprobante 10 KB)", 1 / t, t * 1e6, v / t, t / v);
  }
  const MeasuringReporter::Measure* d = reporter.find("BM_X509FromDer");
  if (const double x = d != nullptr ? d->cpu_mean() : 0; x > 0)
    out << fmt::format(
        "  {:<34}{:>10.0f} /s   ({:.1f} us each, {:.2f} raw signatures; verify decodes the "
        "signer's certificate, and the others only when they are not already trusted)\n",
        "part: d2i_X509 of one certificate", 1 / x, x * 1e6, x / r);
  out.flush();
}

}  // namespace
}  // namespace llavero

int main(int argc, char** argv) {
  const int status = llavero::run_benchmarks(argc, argv, llavero::print_ratios);
  llavero::g_fixture.reset();
  return status;
}
