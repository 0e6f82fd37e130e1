// Identifications (docs/product.md#identifications): every derived name, and property tests that
// parsing what we print gives back the same identification and that
// malformed input is always refused with a message naming the formats.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "id/environment.h"
#include "id/identification.h"

namespace llavero {
namespace {

Identification parsed(std::string_view text) {
  auto id = Identification::parse(text);
  EXPECT_TRUE(id.ok()) << text << ": " << (id ? "" : id.error().message);
  return *id;
}

TEST(Identification, FisicaInEveryAcceptedSpelling) {
  for (auto text : {"1-0647-0958", "106470958", "1 0647 0958", " 1-0647-0958 "}) {
    Identification id = parsed(text);
    EXPECT_EQ(id.type(), IdType::kFisica);
    EXPECT_EQ(id.digits(), "106470958");
    EXPECT_EQ(id.printed(), "1-0647-0958");
  }
}

TEST(Identification, FisicaDerivedNames) {
  Identification id = parsed("1-0647-0958");
  EXPECT_EQ(id.certificate_serial_number(), "CPF-01-0647-0958");
  EXPECT_EQ(id.api_user(Environment::kProduccion, kDefaultUserDomain),
            "cpf-01-0647-0958@prod.comprobanteselectronicos.go.cr");
  EXPECT_EQ(id.api_user(Environment::kPruebas, kDefaultUserDomain),
            "cpf-01-0647-0958@stag.comprobanteselectronicos.go.cr");
  EXPECT_EQ(id.padded(), "0106470958");
  EXPECT_EQ(id.p12_file_name(), "010647095876.p12");
  EXPECT_EQ(id.organizational_unit(), "CPF");
  EXPECT_EQ(id_type_code(id.type()), "01");
  EXPECT_EQ(parsed("2-0456-0789").certificate_serial_number(), "CPF-02-0456-0789");
}

TEST(Identification, JuridicaDerivedNames) {
  Identification id = parsed("3-101-522899");
  EXPECT_EQ(id.type(), IdType::kJuridica);
  EXPECT_EQ(id.printed(), "3-101-522899");
  EXPECT_EQ(id.certificate_serial_number(), "CPJ-3-101-522899");
  EXPECT_EQ(id.api_user(Environment::kPruebas, kDefaultUserDomain),
            "cpj-3-101-522899@stag.comprobanteselectronicos.go.cr");
  EXPECT_EQ(id.padded(), "3101522899");
  EXPECT_EQ(id.organizational_unit(), "CPJ");
}

TEST(Identification, DimexAndNite) {
  Identification dimex = parsed("155812345678");
  EXPECT_EQ(dimex.type(), IdType::kDimex);
  EXPECT_EQ(dimex.certificate_serial_number(), "DIMEX-155812345678");
  EXPECT_EQ(dimex.padded(), "155812345678");
  Identification dimex11 = parsed("15581234567");
  EXPECT_EQ(dimex11.padded(), "015581234567");
  EXPECT_EQ(dimex11.p12_file_name().size(), 12u + 2 + 4);

  // Without a prefix, 10 digits starting 2-5 read as a Jurídica; the prefix
  // of the certificate serialNumber says NITE.
  EXPECT_EQ(parsed("4000123456").type(), IdType::kJuridica);
  Identification nite = parsed("NITE-4000123456");
  EXPECT_EQ(nite.type(), IdType::kNite);
  EXPECT_EQ(nite.certificate_serial_number(), "NITE-4000123456");
  EXPECT_EQ(parsed(nite.certificate_serial_number()), nite);
  Identification nite7 = parsed("7000123456");
  EXPECT_EQ(nite7.type(), IdType::kNite);
  EXPECT_EQ(nite7.certificate_serial_number(), "NITE-7000123456");
  EXPECT_EQ(nite7.organizational_unit(), "NITE");
}

TEST(Identification, CertificateSerialNumberParsesBack) {
  for (auto text : {"1-0647-0958", "3-101-522899", "155812345678", "7000123456"}) {
    Identification id = parsed(text);
    EXPECT_EQ(parsed(id.certificate_serial_number()), id) << text;
  }
  EXPECT_FALSE(Identification::parse("CPJ-1-0647-0958").ok());
  EXPECT_FALSE(Identification::parse("DIMEX-106470958").ok());
  EXPECT_FALSE(Identification::parse("XYZ-106470958").ok());
}

TEST(Identification, RejectsWithMessageNamingFormats) {
  for (auto text : {"", "abc", "12-34", "0-0647-0958", "1-0647-0958-81-99", "1.0647.0958", "０１２",
                    "106470958x", "0123456789", "0155812345678", "1234567890123"}) {
    auto id = Identification::parse(text);
    ASSERT_FALSE(id.ok()) << text;
    EXPECT_EQ(id.error().code, "identificacion_invalida");
    EXPECT_NE(id.error().message.find("1-0647-0958"), std::string::npos) << id.error().message;
    EXPECT_NE(id.error().message.find("3-101-522899"), std::string::npos);
  }
}

TEST(Iso7064, KnownValuesSatisfyTheCheck) {
  // number·100 + check ≡ 1 (mod 97)
  EXPECT_EQ(iso7064_mod97_10("0106470958"), "76");
  EXPECT_EQ(iso7064_mod97_10("3101522899"), std::to_string(98 - (3101522899ULL * 100) % 97));
}

TEST(Environment, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(*parse_environment("produccion"), Environment::kProduccion);
  EXPECT_EQ(*parse_environment("pruebas"), Environment::kPruebas);
  auto bad = parse_environment("desarrollo");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("produccion"), std::string::npos);
}

// A generator of valid identifications as digit strings, with their type.
rc::Gen<std::string> valid_digits() {
  auto digits = [](int n) {
    return rc::gen::container<std::string>(n, rc::gen::inRange('0', ':'));
  };
  return rc::gen::oneOf(rc::gen::map(rc::gen::pair(rc::gen::inRange('1', ':'), digits(8)),
                                     [](auto p) { return std::string(1, p.first) + p.second; }),
                        rc::gen::map(rc::gen::pair(rc::gen::inRange('1', ':'), digits(9)),
                                     [](auto p) { return std::string(1, p.first) + p.second; }),
                        rc::gen::map(rc::gen::pair(rc::gen::inRange('1', ':'), digits(10)),
                                     [](auto p) { return std::string(1, p.first) + p.second; }),
                        rc::gen::map(rc::gen::pair(rc::gen::inRange('1', ':'), digits(11)),
                                     [](auto p) { return std::string(1, p.first) + p.second; }));
}

RC_GTEST_PROP(IdentificationProperty, PrintedFormParsesBackToTheSame, ()) {
  const std::string digits = *valid_digits();
  auto id = Identification::parse(digits);
  RC_ASSERT(id.ok());
  auto again = Identification::parse(id->printed());
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *id);
  RC_ASSERT(again->digits() == digits);
  auto from_certificate = Identification::parse(id->certificate_serial_number());
  RC_ASSERT(from_certificate.ok());
  RC_ASSERT(*from_certificate == *id);
  // The padded form and the file name carry the same number.
  RC_ASSERT(Identification::parse(id->padded()).ok() || id->padded().front() == '0');
  const std::string file = id->p12_file_name();
  RC_ASSERT(file.substr(0, id->padded().size()) == id->padded());
  // The check digits satisfy ISO 7064 MOD 97-10.
  const std::string number = file.substr(0, file.size() - 4);
  unsigned remainder = 0;
  for (char c : number) remainder = (remainder * 10 + static_cast<unsigned>(c - '0')) % 97;
  RC_ASSERT(remainder == 1u);
}

RC_GTEST_PROP(IdentificationProperty, DashesAndSpacesAreIgnored, ()) {
  const std::string digits = *valid_digits();
  std::string noisy;
  for (char c : digits) {
    noisy += c;
    if (*rc::gen::inRange(0, 4) == 0) noisy += *rc::gen::element('-', ' ');
  }
  auto id = Identification::parse(noisy);
  RC_ASSERT(id.ok());
  RC_ASSERT(id->digits() == digits);
}

RC_GTEST_PROP(IdentificationProperty, AnyOtherCharacterIsRejected, (std::string text)) {
  const bool has_foreign = std::any_of(text.begin(), text.end(), [](char c) {
    return !(c >= '0' && c <= '9') && c != '-' && c != ' ';
  });
  RC_PRE(has_foreign);
  auto lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto prefix : {"cpf-", "cpj-", "dimex-", "nite-"})
    RC_PRE(lower.find(prefix) == std::string::npos);
  auto id = Identification::parse(text);
  RC_ASSERT(!id.ok());
  RC_ASSERT(id.error().message.find("1-0647-0958") != std::string::npos);
}

RC_GTEST_PROP(IdentificationProperty, WrongLengthsAreRejected, ()) {
  const int length = *rc::gen::element(1, 2, 5, 8, 13, 14, 20);
  const std::string digits = *rc::gen::container<std::string>(static_cast<std::size_t>(length),
                                                              rc::gen::inRange('1', ':'));
  auto id = Identification::parse(digits);
  RC_ASSERT(!id.ok());
  RC_ASSERT(id.error().code == std::string("identificacion_invalida"));
}

}  // namespace
}  // namespace llavero
