// Wrong passwords as a taxpayer, an accounting office and a stranger who
// knows a cédula meet them, through AccountService::login and the portal's
// POST /ingresar: the fifth failure of one identification from one address
// makes that pair wait (service/login_throttle.h); nobody else waits, and an
// identification nobody has answers exactly as a registered one. The token
// endpoint's side is in token_service_test.cc; the clock-level rules in
// login_throttle_test.cc.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "http/http.h"
#include "portal/portal.h"
#include "service/accounts.h"
#include "service/downloads.h"
#include "store/audit_store.h"
#include "testing.h"
#include "util/clock.h"

namespace llavero {

using namespace llavero::service;
namespace {

constexpr const char* kRight = "correcta-123";
constexpr const char* kWrong = "incorrecta";
constexpr const char* kPerson = "1-0647-0958";
constexpr const char* kCompany = "3-101-522899";
constexpr const char* kNobody = "2-0456-0789";  // a valid identification nobody has

struct Accounts {
  std::unique_ptr<testing::Installation> inst = testing::make_installation();
  AccountService accounts{*inst->store, inst->config};
  Accounts() {
    for (const char* id : {kPerson, kCompany})
      EXPECT_TRUE(accounts.set_portal_password(id, SecretString(kRight), "test").ok());
  }
  // "ok", or the error code of the login.
  std::string login(const char* id, const char* password, const std::string& address = "10.0.0.1") {
    auto result = accounts.login(id, SecretString(password), address);
    return result ? "ok" : result.error().code;
  }
};

// --- AccountService::login -----------------------------------------------------------

constexpr int kFreeFailures = 5;

// How many audit rows have `action`.
int audit_rows(Accounts& a, const std::string& action, const std::string& subject) {
  auto log = a.inst->store->audit_log();
  EXPECT_TRUE(log.ok());
  int n = 0;
  if (log)
    for (const auto& row : log->rows) n += row.action == action && row.subject == subject;
  return n;
}

TEST(LoginThrottling, TheFifthWrongPasswordMakesThatAddressWaitAndSaysHowLong) {
  Accounts a;
  for (int i = 0; i < kFreeFailures; ++i)
    EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas") << i;
  auto right = a.accounts.login(kPerson, SecretString(kRight), "10.0.0.1");
  ASSERT_FALSE(right.ok());
  EXPECT_EQ(right.error().code, "demasiados_intentos");
  // 30 s from the fifth failure, less the time the test took since.
  EXPECT_NE(right.error().message.find(" segundos antes de volver a intentarlo"),
            std::string::npos)
      << right.error().message;
  EXPECT_NE(right.error().message.find("hora de Costa Rica)"), std::string::npos)
      << "the time a person reads is Costa Rica's: " << right.error().message;
}

TEST(LoginThrottling, AStrangersWrongPasswordsDoNotStopTheOwner) {
  Accounts a;
  for (int i = 0; i < 3 * kFreeFailures; ++i) (void)a.login(kPerson, kWrong, "198.51.100.9");
  ASSERT_EQ(a.login(kPerson, kRight, "198.51.100.9"), "demasiados_intentos");
  EXPECT_EQ(a.login(kPerson, kRight, "10.0.0.1"), "ok");
  // Nor a colleague's account from the stranger's address.
  EXPECT_EQ(a.login(kCompany, kRight, "198.51.100.9"), "ok");
}

TEST(LoginThrottling, AnUnknownIdentificationAnswersExactlyAsARegisteredOne) {
  Accounts a;
  auto answers = [&](const char* id) {
    std::vector<std::string> out;
    for (int i = 0; i < kFreeFailures + 2; ++i) {
      auto r = a.accounts.login(id, SecretString(kWrong), "10.0.0.9");
      // The message up to the clock time, which moves on between the two runs.
      out.push_back(r ? "ok"
                      : r.error().code + ": " +
                            r.error().message.substr(0, r.error().message.find("(a partir")));
      out.push_back(std::to_string(a.accounts.attempts_left(id, "10.0.0.9")));
    }
    return out;
  };
  const auto registered = answers(kPerson);
  const auto unknown = answers(kNobody);
  EXPECT_EQ(registered, unknown);
  // The last login's answer (the last entry is the count after it).
  EXPECT_NE(registered[registered.size() - 2].find("demasiados_intentos"), std::string::npos)
      << "unknown identifications wait too";
}

TEST(LoginThrottling, EveryWrongPasswordIsAnAuditRowForAnyIdentification) {
  Accounts a;
  (void)a.login(kPerson, kWrong);
  (void)a.login(kNobody, kWrong);
  EXPECT_EQ(audit_rows(a, "portal.ingreso_fallido", "106470958"), 1);
  EXPECT_EQ(audit_rows(a, "portal.ingreso_fallido", "204560789"), 1);
}

TEST(LoginThrottling, ASuccessfulLoginStartsTheCountAgain) {
  Accounts a;
  for (int i = 0; i < kFreeFailures - 1; ++i)
    EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas");
  EXPECT_EQ(a.login(kPerson, kRight), "ok");
  EXPECT_EQ(a.accounts.attempts_left(kPerson, "10.0.0.1"), kFreeFailures);
  for (int i = 0; i < kFreeFailures - 1; ++i)
    EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas") << i;
  EXPECT_EQ(a.login(kPerson, kRight), "ok");
}

TEST(LoginThrottling, AnAttackFromManyAddressesWarnsTheOperatorAndLocksNothing) {
  Accounts a;
  for (int i = 0; i < 24; ++i) (void)a.login(kPerson, kWrong, fmt::format("198.51.100.{}", i % 4));
  EXPECT_EQ(audit_rows(a, "cuenta.posible_ataque", "106470958"), 1);
  EXPECT_EQ(a.login(kPerson, kRight, "10.0.0.1"), "ok");
}

// --- the portal's POST /ingresar ------------------------------------------------------

struct Portal {
  std::unique_ptr<testing::Installation> inst = testing::make_installation();
  AccountService accounts{*inst->store, inst->config};
  testing::TempDir dir;
  DownloadVault vault{*inst->store, *load_or_create_server_key(dir.path() / "portal.key")};
  http::Router router;

  Portal() {
    EXPECT_TRUE(accounts.set_portal_password(kPerson, SecretString(kRight), "test").ok());
    portal::add_portal_routes(router, portal::PortalServices{*inst->service, accounts, vault});
  }

  // POST /ingresar from `address`, with the CSRF cookie and field in order
  // unless `csrf` is false. The answer is a redirect (Post/Redirect/Get):
  // "portal" when it logged in, else the error the login page will show
  // ("credenciales", "bloqueada", "demasiados"); "403" for a refused form.
  std::string login(const char* id, const char* password, const std::string& address,
                    bool csrf = true) {
    http::Request request(http::verb::post, "/ingresar", 11);
    request.set(http::field::cookie, "llavero_ingreso=ficha-de-prueba");
    request.set(http::field::content_type, "application/x-www-form-urlencoded");
    request.body() = fmt::format("csrf={}&identificacion={}&contrasena={}",
                                 csrf ? "ficha-de-prueba" : "otra-ficha", id, password);
    request.prepare_payload();
    const http::Router::Match match = router.find(http::verb::post, "/ingresar");
    EXPECT_NE(match.route, nullptr);
    if (!match.route) return "404";
    http::RouteContext context;
    context.path = "/ingresar";
    context.remote_address = address;
    const http::Response r = match.route->slow(request, context);
    last_cookie = flash_cookie(r);
    last_flash = flash_of(r);
    if (r.result() != http::status::see_other) return std::to_string(r.result_int());
    if (r[http::field::location] == "/portal") return "portal";
    auto error = last_flash.find("error");
    return error == last_flash.end() ? "?" : error->second;
  }

  // The value of the flash cookie a redirect sets ("" if none).
  static std::string flash_cookie(const http::Response& r) {
    for (const auto& h : r) {
      if (h.name() != http::field::set_cookie || !h.value().starts_with("llavero_aviso=")) continue;
      const std::string_view v = h.value().substr(std::string_view("llavero_aviso=").size());
      return std::string(v.substr(0, v.find(';')));
    }
    return {};
  }
  static http::Form flash_of(const http::Response& r) {
    auto form = http::parse_form(flash_cookie(r));
    return form ? *form : http::Form();
  }

  // GET /ingresar as the browser does after the redirect of the last
  // login(), with its flash cookie; the page's HTML.
  std::string login_page(const std::string& flash) {
    http::Request request(http::verb::get, "/ingresar", 11);
    request.set(http::field::cookie, "llavero_aviso=" + flash);
    const http::Router::Match match = router.find(http::verb::get, "/ingresar");
    EXPECT_NE(match.route, nullptr);
    if (!match.route) return {};
    http::RouteContext context;
    context.path = "/ingresar";
    context.remote_address = "10.0.0.1";
    return match.route->slow(request, context).body();
  }

  // The flash of the last login(): what the login page shows next.
  std::string last_cookie;
  http::Form last_flash;
};

TEST(PortalLogin, TheRightPasswordLogsIn) {
  Portal p;
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.1"), "portal");
  EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.1"), "credenciales");
}

TEST(PortalLogin, AStrangersFiveWrongPasswordsDoNotStopTheOwner) {
  Portal p;
  for (int i = 0; i < kFreeFailures; ++i)
    EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.66"), "credenciales") << i;
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.66"), "demasiados");
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.67"), "portal");
}

TEST(PortalLogin, AnAccountingOfficeBehindOneAddressIsNotBlockedByItsColleagues) {
  // Thirty wrong passwords from one address, two for each of fifteen
  // identifications: the old per-address rule blocked everyone after ten.
  Portal p;
  for (int i = 0; i < 15; ++i)
    for (int j = 0; j < 2; ++j)
      EXPECT_EQ(p.login(fmt::format("1-0{}00-00{:02}", 1 + i % 9, i).c_str(), kWrong, "10.0.0.66"),
                "credenciales");
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.66"), "portal");
}

// Issue 14: the login page warns before the attempt that starts a wait, not
// after; and it warns alike for an identification nobody has.
TEST(PortalLogin, TheLoginPageWarnsBeforeTheLastAttempt) {
  for (const char* id : {kPerson, kNobody}) {
    Portal p;
    std::vector<std::string> left;
    std::vector<std::string> pages;
    for (int i = 0; i < kFreeFailures - 1; ++i) {
      ASSERT_EQ(p.login(id, kWrong, "10.0.0.1"), "credenciales") << i;
      auto it = p.last_flash.find("intentos");
      left.push_back(it == p.last_flash.end() ? "" : it->second);
      pages.push_back(p.login_page(p.last_cookie));
    }
    EXPECT_EQ(left, (std::vector<std::string>{"", "", "2", "1"})) << id;
    for (int i = 0; i < 2; ++i) EXPECT_EQ(pages[i].find("intento"), std::string::npos) << i;
    EXPECT_NE(pages[2].find("Le quedan 2 intentos"), std::string::npos);
    EXPECT_NE(pages[3].find("Le queda 1 intento."), std::string::npos);
    for (const std::string& page : pages)
      EXPECT_NE(page.find("Identificación o contraseña incorrecta."), std::string::npos);
    // The fifth is still "incorrecta" (it was checked) and warns no more; the
    // next attempt is told to wait, with the time.
    ASSERT_EQ(p.login(id, kWrong, "10.0.0.1"), "credenciales");
    EXPECT_EQ(p.last_flash.count("intentos") ? p.last_flash.at("intentos") : "", "");
    ASSERT_EQ(p.login(id, kRight, "10.0.0.1"), "demasiados");
    const std::string page = p.login_page(p.last_cookie);
    EXPECT_NE(page.find("Demasiados intentos fallidos"), std::string::npos) << id;
    EXPECT_NE(page.find("hora de Costa Rica"), std::string::npos) << id;
  }
}

TEST(PortalLogin, FormsWithoutTheCsrfTokenAreRefusedAndNotCounted) {
  Portal p;
  for (int i = 0; i < 2 * kFreeFailures; ++i)
    EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.66", false), "403");
  // Neither the address nor the account was charged for them.
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.66"), "portal");
}

}  // namespace
}  // namespace llavero
