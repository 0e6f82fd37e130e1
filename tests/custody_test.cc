// Keys kept in custody for the Herramienta Gratuita (service/custody.h,
// docs/herramienta.md): kept only when the Facturador Gratuito box is ticked,
// destroyed when the key is revoked, superseded or annulled, or when the
// taxpayer stops automatic signing; what is kept opens only with the key
// file and signs verifiably; and no clear private key or PIN is ever written
// to the database, the data directory or the log.
#include "service/custody.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "testing.h"
#include "util/base64.h"
#include "util/error_codes.h"
#include "xades/xades.h"

namespace fs = std::filesystem;

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kId = "1-0647-0958";
constexpr const char* kPin = "8642";

std::int64_t count(const testing::Installation& inst, const std::string& sql) {
  return testing::sql_count(inst, sql);
}

struct Kept {
  explicit Kept(testing::Backend backend = testing::Backend::kSqlite)
      : inst(testing::make_installation(backend)) {
    inst->service->keep_in_custody_with(&custody);
  }
  std::unique_ptr<testing::Installation> inst;
  KeyCustody custody{*inst->store, *inst->keyring,
                     *load_or_create_custody_key(inst->dir.path(), "")};
  TaxpayerRecord taxpayer = *inst->service->find_taxpayer(kId);
  Bytes last_p12;

  GeneratedKey generate(bool box, bool pending = false, Environment env = Environment::kPruebas) {
    GenerateRequest request{kId, env, std::nullopt, box, pending};
    auto made =
        inst->service->generate(request, *Pin::parse(kPin), testing::keep_p12(last_p12), "test");
    EXPECT_TRUE(made.ok()) << (made ? "" : made.error().message);
    return made ? *made : GeneratedKey{};
  }
  std::optional<CustodyRecord> kept(Environment env = Environment::kPruebas) {
    auto found = custody.find(taxpayer.id, env);
    EXPECT_TRUE(found.ok());
    return found ? *found : std::nullopt;
  }
  std::int64_t rows() { return count(*inst, "SELECT count(*) FROM llaves_custodia"); }
};

// The DER of the private key inside a .p12.
Bytes private_key_der(const Bytes& p12_der, const char* pin) {
  const unsigned char* p = p12_der.data();
  ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(p12_der.size())));
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* cas = nullptr;
  EXPECT_EQ(PKCS12_parse(p12.get(), pin, &key, &cert, &cas), 1);
  ossl::PKey owned(key);
  ossl::X509Ptr owned_cert(cert);
  ossl::X509Stack owned_cas(cas);
  unsigned char* der = nullptr;
  const int n = i2d_PrivateKey(key, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// The PIN as a value standing on its own: not inside a longer run of hex
// digits (hashes, serials), where four digits show up by chance.
bool contains_alone(const std::string& haystack, std::string_view pin) {
  for (auto at = haystack.find(pin); at != std::string::npos; at = haystack.find(pin, at + 1)) {
    auto hex = [&](std::size_t i) {
      return std::isxdigit(static_cast<unsigned char>(haystack[i]));
    };
    const bool before = at > 0 && hex(at - 1);
    const bool after = at + pin.size() < haystack.size() && hex(at + pin.size());
    if (!before && !after) return true;
  }
  return false;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What of a secret a file holds: "" if none of its forms.
std::string leak_in(const std::string& content, const Bytes& key_der) {
  const std::string der(key_der.begin(), key_der.end());
  // The RSA private exponent's first bytes are inside the DER; the whole DER
  // and a middle slice of it (a key written in part) are both looked for.
  if (contains(content, der)) return "la llave privada en DER";
  if (contains(content, der.substr(der.size() / 2, 64))) return "parte de la llave privada";
  if (contains(content, base64_encode(key_der, kBase64Standard).substr(0, 64)))
    return "la llave privada en base64";
  // Clear PEM only: the CA keys are stored as ENCRYPTED PRIVATE KEY, as meant.
  if (contains(content, "-----BEGIN PRIVATE KEY-----") ||
      contains(content, "-----BEGIN RSA PRIVATE KEY-----"))
    return "una llave PEM";
  if (contains_alone(content, kPin)) return "el PIN";
  return "";
}

std::string leaks_in_dir(const fs::path& dir, const Bytes& key_der) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string what = leak_in(read_all(entry.path()), key_der);
    if (!what.empty()) return entry.path().filename().string() + ": " + what;
  }
  return "";
}

// The rules on both stores (the trigger of migration 8 is the database's);
// the files of the data directory are SQLite's (CustodyFiles below).
class Custody : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Custody);

TEST_P(Custody, KeptOnlyWhenTheBoxIsTicked) {
  Kept c(backend());
  c.generate(false);
  EXPECT_FALSE(c.kept());
  EXPECT_EQ(c.rows(), 0);
  const GeneratedKey key = c.generate(true);
  auto kept = c.kept();
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->serial_hex, key.serial_hex);
  EXPECT_EQ(c.rows(), 1);
  // The other environment has nothing.
  EXPECT_FALSE(c.kept(Environment::kProduccion));
}

TEST_P(Custody, WithoutACustodyNothingIsKeptEvenWithTheBox) {
  Kept c(backend());
  c.inst->service->keep_in_custody_with(nullptr);
  c.generate(true);
  EXPECT_EQ(c.rows(), 0);
}

TEST_P(Custody, TheKeptKeySignsAndTheSignatureVerifies) {
  Kept c(backend());
  const GeneratedKey key = c.generate(true);
  auto kept = c.kept();
  ASSERT_TRUE(kept);
  const std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Prueba><A>1</A></Prueba>";
  auto signed_xml = c.custody.sign(*kept, xml);
  ASSERT_TRUE(signed_xml.ok()) << signed_xml.error().message;
  xades::VerifyOptions options;
  auto authorities = c.inst->store->authorities();
  std::vector<ossl::X509Ptr> certs;
  for (const AuthorityRecord& a : *authorities) {
    certs.push_back(std::move(*ossl::x509_from_der(a.certificate_der)));
    (a.kind == CaKind::kRoot ? options.trusted_roots : options.intermediates)
        .push_back(certs.back().get());
  }
  auto v = xades::verify(*signed_xml, options);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->valid);
  ASSERT_TRUE(v->signer);
  auto kept_cert = ossl::x509_from_der(kept->certificate_der);
  EXPECT_EQ(X509_cmp(v->signer.get(), kept_cert->get()), 0);
}

TEST_P(Custody, AnotherKeyFileOrAnotherCertificateDoesNotOpenIt) {
  Kept c(backend());
  c.generate(true);
  auto kept = c.kept();
  ASSERT_TRUE(kept);
  testing::TempDir other;
  KeyCustody stranger(*c.inst->store, *c.inst->keyring,
                      *load_or_create_custody_key(other.path(), ""));
  EXPECT_FALSE(stranger.sign(*kept, "<a/>").ok());
  CustodyRecord moved = *kept;
  moved.serial_hex = "01";
  EXPECT_FALSE(c.custody.sign(moved, "<a/>").ok());
}

TEST_P(Custody, RevokingDestroysIt) {
  Kept c(backend());
  c.generate(true);
  ASSERT_EQ(c.rows(), 1);
  ASSERT_TRUE(c.inst->service->revoke(kId, Environment::kPruebas, std::nullopt, "test").ok());
  EXPECT_EQ(c.rows(), 0);
  EXPECT_FALSE(c.kept());
}

TEST_P(Custody, ANewKeySupersedesAndDestroysIt) {
  Kept c(backend());
  c.generate(true);
  c.generate(false);  // supersedes the kept one, keeps nothing itself
  EXPECT_EQ(c.rows(), 0);
  c.generate(true);
  const GeneratedKey newest = c.generate(true);
  EXPECT_EQ(c.rows(), 1);
  EXPECT_EQ(c.kept()->serial_hex, newest.serial_hex);
}

TEST_P(Custody, APendingKeyIsNotUsableAndAnAnnulledOneIsDestroyed) {
  Kept c(backend());
  c.generate(true, /*pending=*/true);
  EXPECT_EQ(c.rows(), 1);
  EXPECT_FALSE(c.kept());  // not the active key yet
  auto annulled = c.inst->service->expire_pending(now_seconds() + 3600);
  ASSERT_TRUE(annulled.ok());
  EXPECT_EQ(*annulled, 1);
  EXPECT_EQ(c.rows(), 0);
}

TEST_P(Custody, StoppingDeletesItAndLeavesTheKeyActive) {
  Kept c(backend());
  const GeneratedKey key = c.generate(true);
  ASSERT_TRUE(c.custody.stop(c.taxpayer, Environment::kPruebas, "test").ok());
  EXPECT_EQ(c.rows(), 0);
  auto status = c.inst->service->status(kId, Environment::kPruebas);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->front().serial_hex, key.serial_hex);
  EXPECT_EQ(status->front().state, KeyState::kActiva);
  auto again = c.custody.stop(c.taxpayer, Environment::kPruebas, "test");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kSinLlaveCustodia);
  EXPECT_EQ(
      count(*c.inst, "SELECT count(*) FROM audit_log WHERE action = 'herramienta.dejar_de_firmar'"),
      1);
}

TEST(CustodyFiles, TheKeyFileIsPrivate) {
  Kept c;
  struct stat st {};
  ASSERT_EQ(::stat((c.inst->dir.path() / "llave-custodia.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(st.st_size, 32);
}

TEST(CustodyFiles, NoClearKeyOrPinInTheDatabaseTheDataDirectoryOrTheLog) {
  ::testing::internal::CaptureStderr();
  Kept c;
  c.generate(true);
  const Bytes key_der = private_key_der(c.last_p12, kPin);
  auto kept = c.kept();
  ASSERT_TRUE(kept);
  ASSERT_TRUE(c.custody.sign(*kept, "<?xml version=\"1.0\"?>\n<a>1</a>").ok());
  const std::string log = ::testing::internal::GetCapturedStderr();
  // Closing the store checkpoints the WAL into the database file; both are
  // read before and after.
  EXPECT_EQ(leaks_in_dir(c.inst->dir.path(), key_der), "");
  c.inst->store.reset();
  EXPECT_EQ(leaks_in_dir(c.inst->dir.path(), key_der), "");
  EXPECT_EQ(leak_in(log, key_der), "");

  // The scanner itself finds a key and a PIN where there is one.
  {
    std::ofstream(c.inst->dir.path() / "control.bin", std::ios::binary)
        .write(reinterpret_cast<const char*>(key_der.data()),
               static_cast<std::streamsize>(key_der.size()));
  }
  EXPECT_EQ(leaks_in_dir(c.inst->dir.path(), key_der), "control.bin: la llave privada en DER");
  std::ofstream(c.inst->dir.path() / "control.bin") << "pin=" << kPin << "\n";
  EXPECT_EQ(leaks_in_dir(c.inst->dir.path(), key_der), "control.bin: el PIN");
}

}  // namespace
}  // namespace llavero
