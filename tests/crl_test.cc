// build_crl: the revoked list it DER-encodes by hand must be what OpenSSL
// would have written. Each case is compared byte for byte with the CRL built
// entirely through OpenSSL (the former implementation, kept below as the
// reference), then decoded, verified and searched with OpenSSL itself.
#include "pki/crl.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "pki/authority.h"
#include "testing.h"
#include "util/clock.h"

namespace llavero {
namespace {

using Crl = ossl::Owned<X509_CRL, X509_CRL_free>;
using Revoked = ossl::Owned<X509_REVOKED, X509_REVOKED_free>;
using Time = ossl::Owned<ASN1_TIME, ASN1_TIME_free>;

// The reference: every entry an X509_REVOKED, sorted by X509_CRL_sort, the
// whole CRL signed and encoded by OpenSSL.
namespace reference {

Status add_entry(X509_CRL* crl, const CrlEntry& entry) {
  Revoked revoked(X509_REVOKED_new());
  BIGNUM* raw = nullptr;
  if (!revoked || BN_hex2bn(&raw, entry.serial_hex.c_str()) == 0)
    return ossl::internal_error("serie de la CRL");
  ossl::Bignum serial(raw);
  ossl::Asn1Integer number(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  Time when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at)));
  if (!number || !when || X509_REVOKED_set_serialNumber(revoked.get(), number.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1)
    return ossl::internal_error("entrada de la CRL");
  if (entry.reason) {
    ossl::Asn1Enumerated code(ASN1_ENUMERATED_new());
    if (!code || ASN1_ENUMERATED_set(code.get(), static_cast<long>(*entry.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, code.get(), 0, 0) != 1)
      return ossl::internal_error("motivo de la CRL");
  }
  if (X509_CRL_add0_revoked(crl, revoked.get()) != 1)
    return ossl::internal_error("agregar a la CRL");
  revoked.release();  // owned by the CRL now
  return Ok{};
}

Result<Bytes> build_crl(const CrlRequest& request) {
  const Authority& ca = *request.issuer;
  Crl crl(X509_CRL_new());
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(request.this_update)));
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(request.next_update)));
  if (!crl || !this_update || !next_update ||
      X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.certificate.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1)
    return ossl::internal_error("armar CRL");

  for (const CrlEntry& entry : request.entries) LLAVERO_TRY(add_entry(crl.get(), entry));
  X509_CRL_sort(crl.get());

  ossl::Asn1Integer number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), request.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    return ossl::internal_error("número de CRL");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), nullptr, nullptr, crl.get(), 0);
  ossl::X509Ext aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
    return ossl::internal_error("AKI de la CRL");

  if (X509_CRL_sign(crl.get(), ca.private_key.get(), EVP_sha256()) <= 0)
    return ossl::internal_error("firmar CRL");
  int len = i2d_X509_CRL(crl.get(), nullptr);
  if (len <= 0) return ossl::internal_error("codificar CRL");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509_CRL(crl.get(), &p);
  return der;
}

}  // namespace reference

const Authority& pf() {
  static const std::vector<Authority> cas = [] {
    HierarchyOptions options;
    options.key_bits = 2048;
    options.now = now_seconds();
    options.base_url = "https://llavero.example/";
    return std::move(*create_hierarchy(Environment::kPruebas, options));
  }();
  return cas[1];
}

constexpr UnixSeconds kNow = 1'760'000'000;  // 2025-10-09

CrlRequest request_with(std::vector<CrlEntry> entries) {
  return CrlRequest{&pf(), 42, kNow, kNow + 7 * 86400, std::move(entries)};
}

Crl decode(const Bytes& der) {
  const unsigned char* p = der.data();
  Crl crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
  EXPECT_TRUE(crl);
  EXPECT_EQ(p, der.data() + der.size());
  return crl;
}

// Byte-identical to the reference, decodes, verifies under the CA key, and
// every entry is found by its serial with its date and reason.
Bytes expect_as_openssl(const CrlRequest& request) {
  auto built = build_crl(request);
  EXPECT_TRUE(built.ok()) << (built ? "" : built.error().message);
  auto expected = reference::build_crl(request);
  EXPECT_TRUE(expected.ok()) << (expected ? "" : expected.error().message);
  if (!built || !expected) return {};
  EXPECT_EQ(*built, *expected) << "sizes " << built->size() << " vs " << expected->size();

  Crl crl = decode(*built);
  if (!crl) return {};
  EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(pf().certificate.get())), 1);
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  EXPECT_EQ(revoked ? sk_X509_REVOKED_num(revoked) : 0, static_cast<int>(request.entries.size()));
  for (const CrlEntry& e : request.entries) {
    BIGNUM* raw = nullptr;
    EXPECT_GT(BN_hex2bn(&raw, e.serial_hex.c_str()), 0);
    ossl::Bignum bn(raw);
    ossl::Asn1Integer serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    X509_REVOKED* found = nullptr;
    EXPECT_EQ(X509_CRL_get0_by_serial(crl.get(), &found, serial.get()), 1) << e.serial_hex;
    if (found == nullptr) continue;
    Time when(ASN1_TIME_set(nullptr, static_cast<time_t>(e.revoked_at)));
    EXPECT_EQ(ASN1_TIME_compare(X509_REVOKED_get0_revocationDate(found), when.get()), 0)
        << e.serial_hex;
    int critical = 0;
    ossl::Asn1Enumerated code(static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(found, NID_crl_reason, &critical, nullptr)));
    if (e.reason) {
      EXPECT_TRUE(code) << e.serial_hex;
      if (code) {
        EXPECT_EQ(ASN1_ENUMERATED_get(code.get()), static_cast<long>(*e.reason));
      }
      EXPECT_EQ(critical, 0);
    } else {
      EXPECT_FALSE(code) << e.serial_hex;
      EXPECT_EQ(critical, -1);  // not there at all
    }
  }
  return std::move(*built);
}

TEST(Crl, EmptyListHasNoRevokedCertificatesField) {
  Bytes der = expect_as_openssl(request_with({}));
  Crl crl = decode(der);
  ASSERT_TRUE(crl);
  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  EXPECT_TRUE(revoked == nullptr || sk_X509_REVOKED_num(revoked) == 0);
  // No empty SEQUENCE (30 00) where the list would be: nextUpdate is followed
  // directly by the [0] extensions.
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  std::string text(der.begin(), der.end());
  const std::size_t at = text.find(std::string(reinterpret_cast<const char*>(next->data), 13));
  ASSERT_NE(at, std::string::npos);
  ASSERT_LT(at + 13, der.size());
  EXPECT_EQ(der[at + 13], 0xa0);
}

TEST(Crl, OneEntry) {
  expect_as_openssl(
      request_with({{"4A1B2C3D4E5F60718293A4B5C6D7E8F9", kNow - 3600, std::nullopt}}));
  expect_as_openssl(request_with(
      {{"4A1B2C3D4E5F60718293A4B5C6D7E8F9", kNow - 3600, RevocationReason::kSuperseded}}));
}

TEST(Crl, EdgeSerialsDatesAndReasons) {
  const UnixSeconds year_2051 = 2'556'144'000 + 17;  // 2051-01-01T00:00:17Z
  expect_as_openssl(request_with({
      {"FF", kNow - 10, RevocationReason::kKeyCompromise},
      {"0", kNow - 20, std::nullopt},
      {"80", kNow - 30, RevocationReason::kAffiliationChanged},
      {"00ABC", kNow - 40, RevocationReason::kCessationOfOperation},
      {"F1E2D3C4B5A69788796A5B4C3D2E1F00", kNow - 50,
       RevocationReason::kSuperseded},  // 16 bytes, top bit
      {"7F", kNow - 60, std::nullopt},
      {"0100", kNow - 70, std::nullopt},
      {"1", year_2051, RevocationReason::kKeyCompromise},
      {"abcdef", kNow - 80, std::nullopt},  // BN_hex2bn takes lower case too
      {"0000000000ABCDEF01", kNow - 90, RevocationReason::kSuperseded},
      {"4000000000000000000000000000000000000001", kNow, std::nullopt},  // 20 bytes
  }));
}

TEST(Crl, TimeEncodingBoundaries) {
  // UTCTime covers 1950–2049; GeneralizedTime outside.
  expect_as_openssl(request_with({
      {"01", -631'152'000 - 1, std::nullopt},   // 1949-12-31T23:59:59Z
      {"02", -631'152'000, std::nullopt},       // 1950-01-01T00:00:00Z
      {"03", 2'524'608'000 - 1, std::nullopt},  // 2049-12-31T23:59:59Z
      {"04", 2'524'608'000, std::nullopt},      // 2050-01-01T00:00:00Z
      {"05", 0, std::nullopt},
      {"06", -1, std::nullopt},
      {"07", 951'782'400, std::nullopt},      // 2000-02-29
      {"08", 253'402'300'799, std::nullopt},  // 9999-12-31T23:59:59Z
      {"09", -62'167'219'200, std::nullopt},  // 0000-01-01T00:00:00Z
  }));
}

TEST(Crl, LongSerialUsesLongFormLengths) {
  // 130 bytes: the INTEGER and its entry both need a long-form length.
  expect_as_openssl(request_with(
      {{std::string(260, 'C'), kNow, RevocationReason::kSuperseded}, {"01", kNow, std::nullopt}}));
}

TEST(Crl, RandomListsSortAsOpenssl) {
  std::mt19937_64 random(20251009);
  std::vector<CrlEntry> entries;
  const char* digits = "0123456789ABCDEF";
  const RevocationReason reasons[] = {
      RevocationReason::kKeyCompromise, RevocationReason::kAffiliationChanged,
      RevocationReason::kSuperseded, RevocationReason::kCessationOfOperation};
  for (int i = 0; i < 3000; ++i) {
    // 1 to 40 hex digits; some with leading zeros, many sharing a prefix.
    std::string hex(1 + random() % 40, '0');
    for (char& c : hex) c = digits[random() % 16];
    if (i % 5 == 0) hex.insert(0, "00");
    if (i % 7 == 0 && hex.size() > 10) hex.replace(0, 10, "4000000000");
    const UnixSeconds when = -2'500'000'000 + static_cast<UnixSeconds>(random() % 6'000'000'000);
    std::optional<RevocationReason> reason;
    if (i % 4 != 0) reason = reasons[random() % 4];
    entries.push_back({hex, when, reason});
  }
  // Distinct serials, as the store keeps them.
  std::set<std::string> seen;
  std::vector<CrlEntry> distinct;
  for (CrlEntry& e : entries) {
    BIGNUM* raw = nullptr;
    BN_hex2bn(&raw, e.serial_hex.c_str());
    ossl::Bignum bn(raw);
    ossl::OpensslString normal(BN_bn2hex(bn.get()));
    if (seen.insert(normal.get()).second) distinct.push_back(std::move(e));
  }
  expect_as_openssl(request_with(std::move(distinct)));
}

TEST(Crl, InvalidSerialIsAnError) {
  for (const char* bad : {"", "12G4", "-1", " 1A", "1A ", "0x1A", "ÑA"}) {
    auto built = build_crl(request_with({{"01", kNow, std::nullopt}, {bad, kNow, std::nullopt}}));
    ASSERT_FALSE(built.ok()) << '"' << bad << '"';
    EXPECT_EQ(built.error().code, "dato_invalido") << '"' << bad << '"';
  }
}

TEST(Crl, OutOfRangeDateIsAnError) {
  // Years past 9999 or before 0000 have no GeneralizedTime. (OpenSSL 3.0's
  // ASN1_TIME_set writes malformed ones for them: "100000101000000Z".)
  for (UnixSeconds when : {UnixSeconds{253'402'300'800}, UnixSeconds{-62'167'219'201}}) {
    auto built = build_crl(request_with({{"01", when, std::nullopt}}));
    ASSERT_FALSE(built.ok()) << when;
    EXPECT_EQ(built.error().code, "dato_invalido");
  }
}

TEST(Crl, LockedCaIsRefused) {
  Authority locked{pf().environment, pf().kind, ossl::X509Ptr(X509_dup(pf().certificate.get())),
                   nullptr};
  CrlRequest request = request_with({});
  request.issuer = &locked;
  auto built = build_crl(request);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().code, "ca_bloqueada");
}

TEST(Crl, OpensslCommandReadsIt) {
  Bytes der = expect_as_openssl(request_with({
      {"00ABC", kNow - 40, RevocationReason::kKeyCompromise},
      {"F1E2D3C4B5A69788796A5B4C3D2E1F00", kNow - 50, std::nullopt},
      {"2", 2'556'144'017, RevocationReason::kCessationOfOperation},
  }));
  ASSERT_FALSE(der.empty());
  testing::TempDir dir;
  const auto crl_path = dir.path() / "pf.crl";
  const auto text_path = dir.path() / "pf.txt";
  {
    std::ofstream out(crl_path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(der.data()), static_cast<std::streamsize>(der.size()));
  }
  const std::string command = "openssl crl -inform DER -noout -text -in '" + crl_path.string() +
                              "' > '" + text_path.string() + "' 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(text_path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string out = text.str();
  EXPECT_NE(out.find("Certificate Revocation List (CRL)"), std::string::npos) << out;
  EXPECT_NE(out.find("Serial Number: 0ABC"), std::string::npos) << out;
  EXPECT_NE(out.find("Serial Number: F1E2D3C4B5A69788796A5B4C3D2E1F00"), std::string::npos) << out;
  EXPECT_NE(out.find("Key Compromise"), std::string::npos) << out;
  EXPECT_NE(out.find("Cessation Of Operation"), std::string::npos) << out;
  EXPECT_NE(out.find("Revocation Date: Jan  1 00:00:17 2051 GMT"), std::string::npos) << out;
  EXPECT_NE(out.find("X509v3 CRL Number"), std::string::npos) << out;
  EXPECT_NE(out.find("X509v3 Authority Key Identifier"), std::string::npos) << out;
}

}  // namespace
}  // namespace llavero
