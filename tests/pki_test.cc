// The CA layer: hierarchy, the taxpayer certificate profile of docs/certificates.md field
// by field, the .p12 of docs/p12.md, and the PIN rule.
#include <gtest/gtest.h>
#include <openssl/pkcs12.h>

#include "pki/authority.h"
#include "pki/issue.h"
#include "pki/p12.h"
#include "pki/pin.h"
#include "util/clock.h"

namespace llavero {
namespace {

struct Hierarchy {
  std::vector<Authority> cas;
  const Authority& root() const { return cas[0]; }
  const Authority& pf() const { return cas[1]; }
  const Authority& pj() const { return cas[2]; }
};

const Hierarchy& pruebas() {
  static const Hierarchy h = [] {
    HierarchyOptions options;
    options.key_bits = 2048;
    options.now = now_seconds();
    options.base_url = "https://llavero.example/";
    return Hierarchy{std::move(*create_hierarchy(Environment::kPruebas, options))};
  }();
  return h;
}

const EVP_PKEY& taxpayer_key() {
  static ossl::PKey key = std::move(*ossl::generate_rsa(2048));
  return *key;
}

ossl::X509Ptr issue_for(std::string_view id_text, std::string nombre, std::string apellidos,
                        bool strict = false, UnixSeconds not_before = 1'700'000'000) {
  Identification id = *Identification::parse(id_text);
  const Authority& ca = id.type() == IdType::kJuridica ? pruebas().pj() : pruebas().pf();
  IssueRequest request{&ca,
                       &taxpayer_key(),
                       {id, nombre, apellidos},
                       *random_serial(),
                       not_before,
                       "https://llavero.example",
                       strict};
  auto cert = issue_taxpayer_certificate(request);
  EXPECT_TRUE(cert.ok()) << (cert ? "" : cert.error().message);
  return std::move(*cert);
}

struct Entry {
  std::string field;
  int string_type;
  std::string value;
};

std::vector<Entry> entries(const X509_NAME* name) {
  std::vector<Entry> out;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(e);
    out.push_back({OBJ_nid2sn(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e))), ASN1_STRING_type(data),
                   std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                               static_cast<std::size_t>(ASN1_STRING_length(data)))});
  }
  return out;
}

std::vector<int> extension_nids(const X509& cert) {
  std::vector<int> out;
  for (int i = 0; i < X509_get_ext_count(&cert); ++i)
    out.push_back(OBJ_obj2nid(X509_EXTENSION_get_object(X509_get_ext(&cert, i))));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Hierarchy, NamesInOrderCOOuCnWithSandboxSuffix) {
  auto root = entries(X509_get_subject_name(pruebas().root().certificate.get()));
  ASSERT_EQ(root.size(), 4u);
  EXPECT_EQ(root[0].field, "C");
  EXPECT_EQ(root[0].value, "CR");
  EXPECT_EQ(root[1].field, "O");
  EXPECT_EQ(root[1].value, "MINISTERIO DE HACIENDA - SANDBOX");
  EXPECT_EQ(root[2].value, "DGT");
  EXPECT_EQ(root[3].value, "CA RAIZ MINISTERIO DE HACIENDA - SANDBOX");
  EXPECT_EQ(entries(X509_get_subject_name(pruebas().pf().certificate.get()))[3].value,
            "CA PERSONA FISICA - SANDBOX");
  EXPECT_EQ(entries(X509_get_subject_name(pruebas().pj().certificate.get()))[3].value,
            "CA PERSONA JURIDICA - SANDBOX");
}

TEST(Hierarchy, ProduccionHasNoSuffix) {
  HierarchyOptions options;
  options.key_bits = 2048;
  auto prod = create_hierarchy(Environment::kProduccion, options);
  ASSERT_TRUE(prod.ok());
  auto root = entries(X509_get_subject_name((*prod)[0].certificate.get()));
  EXPECT_EQ(root[1].value, "MINISTERIO DE HACIENDA");
  EXPECT_EQ(root[3].value, "CA RAIZ MINISTERIO DE HACIENDA");
}

TEST(Hierarchy, IssuingCasAreSignedByTheRootAndAreCas) {
  for (const Authority* ca : {&pruebas().pf(), &pruebas().pj()}) {
    EVP_PKEY* root_key = X509_get0_pubkey(pruebas().root().certificate.get());
    EXPECT_EQ(X509_verify(ca->certificate.get(), root_key), 1);
    EXPECT_EQ(X509_check_ca(ca->certificate.get()), 1);
  }
  EXPECT_EQ(
      X509_check_issued(pruebas().root().certificate.get(), pruebas().root().certificate.get()),
      X509_V_OK);
}

TEST(Issue, PersonSubjectOrderAndStringTypes) {
  auto cert = issue_for("1-0647-0958", "CONTRIBUYENTE", "PEÑA DE PRUEBA");
  auto subject = entries(X509_get_subject_name(cert.get()));
  std::vector<std::string> order;
  for (auto& e : subject) order.push_back(e.field);
  EXPECT_EQ(order, (std::vector<std::string>{"serialNumber", "SN", "GN", "C", "O", "OU", "CN"}));
  EXPECT_EQ(subject[0].value, "CPF-01-0647-0958");
  EXPECT_EQ(subject[0].string_type, V_ASN1_PRINTABLESTRING);
  EXPECT_EQ(subject[1].value, "PEÑA DE PRUEBA");  // real UTF-8, not escaped
  EXPECT_EQ(subject[1].string_type, V_ASN1_UTF8STRING);
  EXPECT_EQ(subject[2].value, "CONTRIBUYENTE");
  EXPECT_EQ(subject[3].string_type, V_ASN1_PRINTABLESTRING);
  EXPECT_EQ(subject[4].value, "PERSONA FISICA");
  EXPECT_EQ(subject[4].string_type, V_ASN1_UTF8STRING);
  EXPECT_EQ(subject[5].value, "CPF");
  EXPECT_EQ(subject[6].value, "CONTRIBUYENTE PEÑA DE PRUEBA");
  EXPECT_EQ(subject[6].string_type, V_ASN1_UTF8STRING);
}

TEST(Issue, JuridicaSubjectHasNoPersonNames) {
  auto cert = issue_for("3-101-522899", "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA", "");
  auto subject = entries(X509_get_subject_name(cert.get()));
  std::vector<std::string> order;
  for (auto& e : subject) order.push_back(e.field);
  EXPECT_EQ(order, (std::vector<std::string>{"serialNumber", "C", "O", "OU", "CN"}));
  EXPECT_EQ(subject[0].value, "CPJ-3-101-522899");
  EXPECT_EQ(subject[2].value, "PERSONA JURIDICA");
  EXPECT_EQ(subject[3].value, "CPJ");
  EXPECT_EQ(subject[4].value, "EMPRESA PEÑA DE PRUEBA SOCIEDAD ANONIMA");
  EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(pruebas().pj().certificate.get())), 1);
}

TEST(Issue, DimexHolderIsAPersonWithOuDimex) {
  auto cert = issue_for("155812345678", "ANA", "PÉREZ");
  auto subject = entries(X509_get_subject_name(cert.get()));
  EXPECT_EQ(subject[0].value, "DIMEX-155812345678");
  EXPECT_EQ(subject[4].value, "PERSONA FISICA");
  EXPECT_EQ(subject[5].value, "DIMEX");
}

TEST(Issue, ExactlyTheListedExtensions) {
  auto cert = issue_for("1-0647-0958", "A", "B");
  std::vector<int> expected = {NID_authority_key_identifier,
                               NID_subject_key_identifier,
                               NID_key_usage,
                               NID_ext_key_usage,
                               NID_info_access,
                               NID_crl_distribution_points};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(extension_nids(*cert), expected);
  EXPECT_EQ(X509_get_key_usage(cert.get()), unsigned{KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION});
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), unsigned{XKU_SMIME});
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_sha256WithRSAEncryption);

  auto strict = issue_for("1-0647-0958", "A", "B", true);
  std::vector<int> strict_expected = {NID_authority_key_identifier, NID_subject_key_identifier,
                                      NID_key_usage, NID_ext_key_usage, NID_info_access};
  std::sort(strict_expected.begin(), strict_expected.end());
  EXPECT_EQ(extension_nids(*strict), strict_expected);
}

TEST(Issue, AiaPointsToTheIssuingCaOfTheEnvironment) {
  auto cert = issue_for("1-0647-0958", "A", "B");
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(cert.get(), NID_info_access, nullptr, nullptr));
  ASSERT_NE(aia, nullptr);
  std::vector<std::pair<int, std::string>> found;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
    ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    auto* uri = ad->location->d.uniformResourceIdentifier;
    found.emplace_back(OBJ_obj2nid(ad->method),
                       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                                   static_cast<std::size_t>(ASN1_STRING_length(uri))));
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0],
            std::make_pair(int{NID_ad_ca_issuers},
                           std::string("https://llavero.example/stag/intermediate-pf-pem.crt")));
  EXPECT_EQ(found[1].first, NID_ad_OCSP);
}

TEST(Issue, ValidityIsFourYearsMinusOneDay) {
  // 2024-02-29T12:00:00Z: a leap day, the hardest case for "4 years".
  const UnixSeconds leap = 1709208000;
  EXPECT_EQ(format_utc(taxpayer_not_after(leap)), "2028-02-28T12:00:00Z");
  const UnixSeconds ordinary = *parse_utc("2026-11-27T00:06:07Z");
  EXPECT_EQ(format_utc(taxpayer_not_after(ordinary)), "2030-11-26T00:06:07Z");
  auto cert = issue_for("1-0647-0958", "A", "B", false, ordinary);
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert.get()),
                           X509_get0_notAfter(cert.get())),
            1);
  EXPECT_EQ(days, 4 * 365 + 1 - 1);  // 2028 is a leap year inside the span
  EXPECT_EQ(seconds, 0);
}

TEST(Issue, SerialsArePositiveRandomAndAtLeast64Bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    Bytes serial = *random_serial();
    EXPECT_EQ(serial.size(), 16u);
    EXPECT_EQ(serial[0] & 0x80, 0);  // positive
    EXPECT_NE(serial[0] & 0x40, 0);  // full length: 127 significant bits
    seen.insert(serial_to_hex(serial));
  }
  EXPECT_EQ(seen.size(), 200u);
  auto cert = issue_for("1-0647-0958", "A", "B");
  ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  EXPECT_FALSE(BN_is_negative(bn.get()));
  EXPECT_GE(BN_num_bits(bn.get()), 64);
}

TEST(Pin, ExactlyFourAsciiDigits) {
  EXPECT_TRUE(Pin::parse("1234").ok());
  EXPECT_TRUE(Pin::parse("0000").ok());
  for (auto bad : {"", "123", "12345", "12a4", " 1234", "1234 ", "١٢٣٤", "12.4"}) {
    auto pin = Pin::parse(bad);
    ASSERT_FALSE(pin.ok()) << bad;
    EXPECT_EQ(pin.error().message, "El PIN debe contener exactamente 4 números.");
  }
}

struct OpenedP12 {
  ossl::PKey key;
  ossl::X509Ptr cert;
  ossl::X509Stack chain;
};

std::optional<OpenedP12> open_p12(const Bytes& der, const char* pin) {
  const unsigned char* p = der.data();
  ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())));
  if (!p12) return std::nullopt;
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  if (PKCS12_parse(p12.get(), pin, &key, &cert, &chain) != 1) return std::nullopt;
  return OpenedP12{ossl::PKey(key), ossl::X509Ptr(cert), ossl::X509Stack(chain)};
}

class P12Test : public ::testing::TestWithParam<P12Profile> {};

TEST_P(P12Test, OpensWithThePinAndHoldsKeyCertificateAndChain) {
  auto cert = issue_for("1-0647-0958", "CONTRIBUYENTE", "PEÑA DE PRUEBA");
  const X509* chain[] = {pruebas().pf().certificate.get(), pruebas().root().certificate.get()};
  auto der = build_p12(taxpayer_key(), *cert, chain, "CONTRIBUYENTE PEÑA DE PRUEBA",
                       *Pin::parse("1234"), P12Options{GetParam(), 2048});
  ASSERT_TRUE(der.ok()) << der.error().message;

  auto opened = open_p12(*der, "1234");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(X509_cmp(opened->cert.get(), cert.get()), 0);
  EXPECT_EQ(X509_check_private_key(opened->cert.get(), opened->key.get()), 1);
  ASSERT_EQ(sk_X509_num(opened->chain.get()), 2);
  int len = 0;
  ASSERT_NE(X509_alias_get0(opened->cert.get(), &len), nullptr);  // friendlyName
  ASSERT_NE(X509_keyid_get0(opened->cert.get(), &len), nullptr);  // localKeyId
  EXPECT_EQ(len, 20);

  EXPECT_FALSE(open_p12(*der, "4321").has_value());
}

TEST_P(P12Test, MacDigestFollowsTheProfile) {
  auto cert = issue_for("1-0647-0958", "A", "B");
  auto der = build_p12(taxpayer_key(), *cert, {}, "A B", *Pin::parse("1234"),
                       P12Options{GetParam(), 1000});
  ASSERT_TRUE(der.ok());
  const unsigned char* p = der->data();
  ossl::Pkcs12 p12(d2i_PKCS12(nullptr, &p, static_cast<long>(der->size())));
  const X509_ALGOR* mac_alg = nullptr;
  const ASN1_INTEGER* iterations = nullptr;
  PKCS12_get0_mac(nullptr, &mac_alg, nullptr, &iterations, p12.get());
  const ASN1_OBJECT* oid = nullptr;
  X509_ALGOR_get0(&oid, nullptr, nullptr, mac_alg);
  EXPECT_EQ(OBJ_obj2nid(oid), GetParam() == P12Profile::kModerno ? NID_sha256 : NID_sha1);
  EXPECT_EQ(ASN1_INTEGER_get(iterations), 1000);
}

INSTANTIATE_TEST_SUITE_P(Profiles, P12Test,
                         ::testing::Values(P12Profile::kCompatible, P12Profile::kModerno),
                         [](const auto& info) {
                           return std::string(p12_profile_name(info.param));
                         });

TEST(P12, ProfileNamesParse) {
  EXPECT_EQ(*parse_p12_profile("compatible"), P12Profile::kCompatible);
  EXPECT_EQ(*parse_p12_profile("moderno"), P12Profile::kModerno);
  EXPECT_EQ(parse_p12_profile("legacy").error().code, "perfil_invalido");
}

TEST(CaKeys, EncryptedPemNeedsTheRightPassphrase) {
  SecretString right("correcta");
  auto pem = ossl::private_key_to_encrypted_pem(taxpayer_key(), right);
  ASSERT_TRUE(pem.ok());
  EXPECT_NE(pem->find("ENCRYPTED PRIVATE KEY"), std::string::npos);
  EXPECT_TRUE(ossl::private_key_from_encrypted_pem(*pem, right).ok());
  auto wrong = ossl::private_key_from_encrypted_pem(*pem, SecretString("incorrecta"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, "frase_incorrecta");
}

}  // namespace
}  // namespace llavero
