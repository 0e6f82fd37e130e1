// The operators' console below its pages: TOTP against RFC 6238's own
// vectors, operator accounts and their second factor, what each role may
// do, and the console's reads (search, audit filter and export, CA status)
// on both stores. The browser side is e2e/operador.test.mjs.
#include "service/operators.h"

#include <gtest/gtest.h>

#include "pki/pin.h"
#include "service/ca_lifecycle.h"
#include "service/downloads.h"
#include "service/supervision.h"
#include "service/totp.h"
#include "testing.h"

namespace llavero {

using namespace llavero::service;
namespace {

using testing::sql_count;

// RFC 4648 base32 back to bytes: the test reads the secret as an app would.
Bytes from_base32(std::string_view text) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  Bytes out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    buffer = (buffer << 5) | static_cast<std::uint32_t>(kAlphabet.find(c));
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  return out;
}

Bytes bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

// RFC 6238 appendix B (SHA-1, secret "12345678901234567890"), the last six
// of its eight digits.
TEST(Totp, MatchesTheVectorsOfRfc6238) {
  const Bytes secret = bytes("12345678901234567890");
  const std::pair<UnixSeconds, std::string> vectors[] = {
      {59, "287082"},         {1111111109, "081804"}, {1111111111, "050471"},
      {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}};
  for (const auto& [at, code] : vectors) EXPECT_EQ(totp_code(secret, totp_step(at)), code) << at;
}

TEST(Totp, TheUriCarriesTheSecretInBase32) {
  const Bytes secret = bytes("12345678901234567890");
  EXPECT_EQ(base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(otpauth_uri("llavero", "ana.mora", secret),
            "otpauth://totp/llavero:ana.mora?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer="
            "llavero&algorithm=SHA1&digits=6&period=30");
  const std::string svg = qr_svg("otpauth://totp/x", "Código QR");
  EXPECT_TRUE(svg.starts_with("<svg ")) << svg.substr(0, 40);
  EXPECT_NE(svg.find("aria-label=\"Código QR\""), std::string::npos);
  EXPECT_NE(svg.find("<path"), std::string::npos);
}

TEST(Operators, EachRoleMayWhatTheIssueSays) {
  for (OperatorRole r : kAllOperatorRoles) EXPECT_TRUE(role_may(r, Permission::kRead));
  EXPECT_FALSE(role_may(OperatorRole::kAuditor, Permission::kActForTaxpayer));
  EXPECT_FALSE(role_may(OperatorRole::kAuditor, Permission::kManageOperators));
  EXPECT_TRUE(role_may(OperatorRole::kSoporte, Permission::kActForTaxpayer));
  EXPECT_FALSE(role_may(OperatorRole::kSoporte, Permission::kManageOperators));
  EXPECT_FALSE(role_may(OperatorRole::kSoporte, Permission::kManageAuthorities));
  EXPECT_TRUE(role_may(OperatorRole::kAdministrador, Permission::kManageOperators));
  EXPECT_TRUE(role_may(OperatorRole::kAdministrador, Permission::kManageAuthorities));
  EXPECT_FALSE(parse_operator_role("root").ok());
}

struct Desk {
  explicit Desk(testing::Backend backend) : inst(testing::make_installation(backend)) {}
  std::unique_ptr<testing::Installation> inst;
  OperatorService operators{*inst->store, SecretString(std::string(32, 'k'))};
  AccountService accounts{*inst->store, inst->config};
  Supervision supervision{*inst->store, *inst->service, accounts, nullptr};

  // An operator logged in with the second factor enrolled, and its secret.
  std::pair<OperatorSession, Bytes> enrolled(const std::string& name, OperatorRole role) {
    EXPECT_TRUE(operators.create(name, role, SecretString("contraseña-larga"), "test").ok());
    auto first = operators.login(name, SecretString("contraseña-larga"), "", "127.0.0.1");
    EXPECT_TRUE(first.ok());
    auto e = operators.enrolment(first->session);
    EXPECT_TRUE(e.ok());
    Bytes secret = from_base32(e->secret_base32);
    EXPECT_TRUE(
        operators.confirm_enrolment(first->session, totp_code(secret, totp_step(now_seconds())))
            .ok());
    auto session = operators.session(first->cookie_token);
    EXPECT_TRUE(session.ok());
    return {*session, secret};
  }
};

class OperatorAccounts : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(OperatorAccounts);

TEST_P(OperatorAccounts, CreationRefusesBadNamesShortPasswordsAndDuplicates) {
  Desk d(backend());
  const SecretString good("contraseña-larga");
  EXPECT_EQ(d.operators.create("Ana Mora", OperatorRole::kSoporte, good, "t").error().code,
            "operador_invalido");
  EXPECT_EQ(
      d.operators.create("ana", OperatorRole::kSoporte, SecretString("corta"), "t").error().code,
      "contrasena_invalida");
  ASSERT_TRUE(d.operators.create("ana", OperatorRole::kSoporte, good, "t").ok());
  EXPECT_EQ(d.operators.create("ana", OperatorRole::kAuditor, good, "t").error().code,
            "operador_duplicado");
  EXPECT_EQ(sql_count(*d.inst, "SELECT COUNT(*) FROM audit_log WHERE action = 'operador.crear'"),
            1);
}

TEST_P(OperatorAccounts, BeforeTheSecondFactorASessionCanOnlyEnrol) {
  Desk d(backend());
  ASSERT_TRUE(
      d.operators.create("ana", OperatorRole::kSoporte, SecretString("contraseña-larga"), "t")
          .ok());
  auto login = d.operators.login("ana", SecretString("contraseña-larga"), "", "127.0.0.1");
  ASSERT_TRUE(login.ok()) << login.error().message;
  EXPECT_FALSE(login->session.enrolled());
  EXPECT_EQ(d.operators.require(login->session, Permission::kRead).error().code,
            "operador_no_autorizado");
  auto e = d.operators.enrolment(login->session);
  ASSERT_TRUE(e.ok());
  // The same secret until enrolled, never stored in clear.
  EXPECT_EQ(d.operators.enrolment(login->session)->secret_base32, e->secret_base32);
  const Bytes secret = from_base32(e->secret_base32);
  ASSERT_EQ(secret.size(), kTotpSecretBytes);
  EXPECT_EQ(sql_count(*d.inst, "SELECT COUNT(*) FROM operators WHERE totp_sealed IS NOT NULL"), 1);
  EXPECT_EQ(d.operators.confirm_enrolment(login->session, "000000x").error().code,
            "codigo_invalido");
  ASSERT_TRUE(
      d.operators.confirm_enrolment(login->session, totp_code(secret, totp_step(now_seconds())))
          .ok());
  auto session = d.operators.session(login->cookie_token);
  ASSERT_TRUE(session.ok());
  EXPECT_TRUE(session->enrolled());
  EXPECT_TRUE(d.operators.require(*session, Permission::kActForTaxpayer).ok());
  EXPECT_FALSE(d.operators.require(*session, Permission::kManageOperators).ok());
}

TEST_P(OperatorAccounts, OnceEnrolledTheCodeIsNeededAndNeverTakenTwice) {
  Desk d(backend());
  auto [session, secret] = d.enrolled("ana", OperatorRole::kAuditor);
  const SecretString password("contraseña-larga");
  // The enrolment spent this step's code; the next step's is accepted (±1).
  const std::int64_t now = totp_step(now_seconds());
  auto without = d.operators.login("ana", password, "", "127.0.0.1");
  ASSERT_FALSE(without.ok());
  EXPECT_EQ(without.error().code, "credenciales_invalidas");
  const std::string next = totp_code(secret, now + 1);
  auto wrong_password =
      d.operators.login("ana", SecretString("otra-contraseña"), next, "127.0.0.1");
  EXPECT_EQ(wrong_password.error().message, without.error().message);
  auto with = d.operators.login("ana", password, next, "127.0.0.1");
  ASSERT_TRUE(with.ok()) << with.error().message;
  EXPECT_TRUE(with->session.enrolled());
  auto again = d.operators.login("ana", password, next, "127.0.0.1");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "credenciales_invalidas");
  // Two steps away is too far.
  EXPECT_FALSE(d.operators.login("ana", password, totp_code(secret, now + 3), "127.0.0.1").ok());
}

TEST_P(OperatorAccounts, ADisabledOperatorLosesItsSessionsAndCannotLogIn) {
  Desk d(backend());
  auto [admin, admin_secret] = d.enrolled("jefa", OperatorRole::kAdministrador);
  auto [clerk, clerk_secret] = d.enrolled("ana", OperatorRole::kSoporte);
  EXPECT_EQ(d.operators.set_disabled(clerk, "jefa", true, "").error().code,
            "operador_no_autorizado");
  ASSERT_TRUE(d.operators.set_disabled(admin, "ana", true, "se fue").ok());
  EXPECT_FALSE(d.operators.find_active("ana")->has_value());
  EXPECT_TRUE(d.operators.find_active("jefa")->has_value());
  EXPECT_EQ(sql_count(*d.inst, "SELECT COUNT(*) FROM operator_sessions WHERE operator_id = " +
                                   std::to_string(clerk.op.id)),
            0);
  EXPECT_EQ(sql_count(*d.inst,
                      "SELECT COUNT(*) FROM audit_log WHERE action = 'operador.desactivar' AND "
                      "actor = 'operador:jefa' AND detail = 'rol=administrador nota=se fue'"),
            1);
}

// The two-person rule of a CA rollover asks the operator accounts: only an
// enabled administrador counts; soporte, auditor, a disabled administrador
// and an unknown name do not.
TEST_P(OperatorAccounts, OnlyAnEnabledAdministratorMayRollACaOver) {
  Desk d(backend());
  auto [admin, secret] = d.enrolled("ana", OperatorRole::kAdministrador);
  ASSERT_TRUE(
      d.operators
          .create("beto", OperatorRole::kAdministrador, SecretString("contraseña-larga"), "test")
          .ok());
  ASSERT_TRUE(
      d.operators.create("sofia", OperatorRole::kSoporte, SecretString("contraseña-larga"), "test")
          .ok());
  ASSERT_TRUE(
      d.operators
          .create("aurelio", OperatorRole::kAuditor, SecretString("contraseña-larga"), "test")
          .ok());
  AdministratorCheck is_administrator = active_administrators(*d.inst->store);
  EXPECT_TRUE(*is_administrator("ana"));
  EXPECT_TRUE(*is_administrator("beto"));
  EXPECT_FALSE(*is_administrator("sofia"));
  EXPECT_FALSE(*is_administrator("aurelio"));
  EXPECT_FALSE(*is_administrator("nadie"));
  ASSERT_TRUE(d.operators.set_disabled(admin, "beto", true, "salió de la institución").ok());
  EXPECT_FALSE(*is_administrator("beto"));
}

class Console : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Console);

TEST_P(Console, TaxpayersAreFoundByDigitsOrAnyPartOfTheName) {
  Desk d(backend());
  auto names = [&](const std::string& q) {
    std::vector<std::string> out;
    auto found = d.supervision.find_taxpayers(q);
    EXPECT_TRUE(found.ok());
    if (found.ok())
      for (const TaxpayerRecord& t : *found) out.push_back(t.identification);
    return out;
  };
  EXPECT_EQ(names("1-0647"), std::vector<std::string>{"106470958"});
  EXPECT_EQ(names("sociedad"), std::vector<std::string>{"3101522899"});
  EXPECT_EQ(names("contribuyente PEÑA"), std::vector<std::string>{"106470958"});
  EXPECT_EQ(names("prueba").size(), 2u);
  EXPECT_TRUE(names("%").empty());  // a wildcard is only a character
  EXPECT_TRUE(names("nadie").empty());
}

TEST_P(Console, AnOnBehalfRevocationIsAuditedWithTheOperatorAndTheNote) {
  Desk d(backend());
  auto [clerk, secret] = d.enrolled("ana", OperatorRole::kSoporte);
  static const Pin pin = *Pin::parse("1234");
  Bytes p12;
  ASSERT_TRUE(
      d.inst->service
          ->generate(GenerateRequest{"1-0647-0958", Environment::kPruebas, std::nullopt, false},
                     pin, testing::keep_p12(p12), "test")
          .ok());
  auto revoked = d.inst->service->revoke("106470958", Environment::kPruebas,
                                         RevocationReason::kKeyCompromise, operator_actor(clerk.op),
                                         operator_detail(clerk.op, "llamó; cédula verificada"));
  ASSERT_TRUE(revoked.ok()) << revoked.error().message;
  auto page = d.supervision.audit(AuditFilter{"operador:ana", "llave.revocar", "", {}, {}});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->rows.size(), 1u);
  EXPECT_EQ(page->rows[0].subject, "106470958");
  EXPECT_EQ(page->rows[0].detail,
            "ambiente=pruebas motivo=keyCompromise rol=soporte nota=llamó; cédula verificada");
  EXPECT_FALSE(page->verification.first_bad_seq.has_value());
  // The taxpayer's page shows the key revoked, with the reason.
  auto picture = d.supervision.taxpayer("1-0647-0958");
  ASSERT_TRUE(picture.ok());
  ASSERT_FALSE(picture->keys.empty());
  EXPECT_EQ(picture->keys[0].state, KeyState::kRevocada);
  // The export names the filter's rows and anchors them to the chain's head.
  const std::string json =
      audit_json(*page, AuditFilter{"operador:ana", "llave.revocar", "", {}, {}});
  EXPECT_NE(json.find("\"hash_cabeza\":\"" + page->verification.head_hash + "\""),
            std::string::npos);
  EXPECT_NE(json.find("nota=llamó; cédula verificada"), std::string::npos);
  const std::string csv = audit_csv(*page);
  EXPECT_NE(csv.find("\"llave.revocar\""), std::string::npos);
  EXPECT_TRUE(csv.ends_with(page->verification.head_hash + "\n"));
}

TEST_P(Console, AnUnlockLiftsEveryWaitOfTheTaxpayer) {
  Desk d(backend());
  ASSERT_TRUE(
      d.accounts.set_portal_password("1-0647-0958", SecretString("correcta-123"), "t").ok());
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(d.accounts.login("1-0647-0958", SecretString("mala-mala"), "127.0.0.9").ok());
  auto locked = d.accounts.login("1-0647-0958", SecretString("correcta-123"), "127.0.0.9");
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, "demasiados_intentos");
  auto picture = d.supervision.taxpayer("106470958");
  ASSERT_TRUE(picture.ok());
  EXPECT_EQ(picture->lock_waits.count("127.0.0.9"), 1u);
  ASSERT_TRUE(
      d.accounts
          .unlock_portal("106470958", AuditEvent{"operador:ana", "contribuyente.desbloquear",
                                                 "106470958", "rol=soporte"})
          .ok());
  EXPECT_TRUE(d.supervision.taxpayer("106470958")->lock_waits.empty());
  EXPECT_TRUE(d.accounts.login("1-0647-0958", SecretString("correcta-123"), "127.0.0.9").ok());
}

TEST_P(Console, AuditFiltersByDateAndSubject) {
  Desk d(backend());
  auto all = d.supervision.audit({});
  ASSERT_TRUE(all.ok());
  ASSERT_FALSE(all->rows.empty());
  EXPECT_EQ(static_cast<std::int64_t>(all->rows.size()), all->total_rows);
  const UnixSeconds today = now_seconds() / 86400 * 86400;
  EXPECT_EQ(d.supervision.audit(AuditFilter{"", "", "", today + 86400, {}})->rows.size(), 0u);
  EXPECT_EQ(d.supervision.audit(AuditFilter{"", "", "", today, today})->rows.size(),
            all->rows.size());
  auto some = d.supervision.audit(AuditFilter{"", "", "0647", {}, {}});
  ASSERT_TRUE(some.ok());
  EXPECT_FALSE(some->rows.empty());
  for (const AuditRow& r : some->rows) EXPECT_NE(r.subject.find("0647"), std::string::npos);
}

TEST_P(Console, AuthoritiesShowValidityCountsAndResponders) {
  Desk d(backend());
  auto states = d.supervision.authorities(now_seconds());
  ASSERT_TRUE(states.ok()) << states.error().message;
  ASSERT_EQ(states->size(), 6u);
  for (const AuthorityState& a : *states) {
    EXPECT_LT(a.not_before, a.not_after);
    EXPECT_EQ(a.issued, 0);
  }
  // Forty years ahead every CA certificate has expired.
  auto later = d.supervision.authorities(now_seconds() + 40LL * 365 * 86400);
  ASSERT_TRUE(later.ok());
  for (const AuthorityState& a : *later) {
    ASSERT_FALSE(a.warnings.empty());
    EXPECT_EQ(a.warnings[0], "El certificado de la CA venció.");
  }
}

}  // namespace
}  // namespace llavero
