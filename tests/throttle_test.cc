// Login throttling of the portal, as a taxpayer (or someone guessing) meets
// it: five wrong passwords lock an account for 15 minutes
// (AccountService::login), and past ten wrong passwords from one address the
// portal makes that address wait, whatever account it tries (the portal's
// POST /ingresar). The token endpoint's own lock is in token_service_test.cc.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "http/http.h"
#include "portal/portal.h"
#include "service/accounts.h"
#include "service/downloads.h"
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

void raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

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

// --- per account -------------------------------------------------------------------

TEST(AccountLock, FifthWrongPasswordLocksAndSaysUntilWhen) {
  Accounts a;
  for (int i = 0; i < kLockAfterFailures - 1; ++i)
    EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas") << i;
  auto fifth = a.accounts.login(kPerson, SecretString(kWrong), "10.0.0.1");
  ASSERT_FALSE(fifth.ok());
  EXPECT_EQ(fifth.error().code, "cuenta_bloqueada");
  EXPECT_NE(fifth.error().message.find("15 minutos"), std::string::npos);
  auto right = a.accounts.login(kPerson, SecretString(kRight), "10.0.0.1");
  ASSERT_FALSE(right.ok());
  EXPECT_EQ(right.error().code, "cuenta_bloqueada");
  EXPECT_NE(right.error().message.find("(hora de Costa Rica)"), std::string::npos)
      << "the time a person reads is Costa Rica's: " << right.error().message;
}

TEST(AccountLock, ASuccessfulLoginStartsTheCountAgain) {
  Accounts a;
  for (int i = 0; i < kLockAfterFailures - 1; ++i)
    EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas");
  EXPECT_EQ(a.login(kPerson, kRight), "ok");
  for (int i = 0; i < kLockAfterFailures - 1; ++i)
    EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas") << i;
  EXPECT_EQ(a.login(kPerson, kRight), "ok");
}

TEST(AccountLock, TheLockEndsAfterItsTimeAndTheCountStartsOver) {
  Accounts a;
  for (int i = 0; i < kLockAfterFailures; ++i) (void)a.login(kPerson, kWrong);
  ASSERT_EQ(a.login(kPerson, kRight), "cuenta_bloqueada");
  // Fifteen minutes later, as the store sees it.
  raw_sql(a.inst->db_path(), "UPDATE login_failures SET locked_until = '2000-01-01T00:00:00Z'");
  EXPECT_EQ(a.login(kPerson, kWrong), "credenciales_invalidas");  // not locked again at once
  EXPECT_EQ(a.login(kPerson, kRight), "ok");
}

TEST(AccountLock, TheLockIsRecordedForFifteenMinutes) {
  Accounts a;
  const UnixSeconds before = now_seconds();
  for (int i = 0; i < kLockAfterFailures; ++i) (void)a.login(kPerson, kWrong);
  auto taxpayer = a.inst->store->find_taxpayer("106470958");
  auto failures = a.inst->store->login_failures((*taxpayer)->id);
  ASSERT_TRUE(failures.ok());
  ASSERT_TRUE(failures->locked_until.has_value());
  const UnixSeconds until = *failures->locked_until;
  EXPECT_GE(until, before + kLockSeconds);
  EXPECT_LE(until, now_seconds() + kLockSeconds);
}

TEST(AccountLock, TheLockIsPerAccount) {
  Accounts a;
  for (int i = 0; i < kLockAfterFailures; ++i) (void)a.login(kPerson, kWrong);
  ASSERT_EQ(a.login(kPerson, kRight), "cuenta_bloqueada");
  EXPECT_EQ(a.login(kCompany, kRight), "ok");
}

TEST(AccountLock, AnyAddressCountsTowardsTheSameAccount) {
  Accounts a;
  for (int i = 0; i < kLockAfterFailures; ++i)
    (void)a.login(kPerson, kWrong, fmt::format("10.0.0.{}", i + 1));
  EXPECT_EQ(a.login(kPerson, kRight, "192.168.1.1"), "cuenta_bloqueada");
}

TEST(AccountLock, AnUnknownIdentificationNeverLocks) {
  // There is no account to lock: the answer stays "credenciales_invalidas".
  Accounts a;
  for (int i = 0; i < kLockAfterFailures + 2; ++i)
    EXPECT_EQ(a.login(kNobody, kWrong), "credenciales_invalidas") << i;
}

// --- per address, through the portal's login form ----------------------------------

constexpr int kAddressLimit = 10;

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

TEST(AddressThrottle, TheRightPasswordLogsIn) {
  Portal p;
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.1"), "portal");
  EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.1"), "credenciales");
}

TEST(AddressThrottle, TheTenthWrongPasswordMakesTheAddressWaitWhateverAccountItTries) {
  Portal p;
  // An identification without an account, so that no account locks first.
  for (int i = 0; i < kAddressLimit - 1; ++i)
    EXPECT_EQ(p.login(kNobody, kWrong, "10.0.0.66"), "credenciales") << i;
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.66"), "portal");  // nine: not yet
  EXPECT_EQ(p.login(kNobody, kWrong, "10.0.0.66"), "credenciales");
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.66"), "demasiados");
  EXPECT_EQ(p.login(kNobody, kWrong, "10.0.0.66"), "demasiados");
}

TEST(AddressThrottle, AWaitingAddressNeitherBlocksOthersNorReachesTheAccount) {
  Portal p;
  for (int i = 0; i < kAddressLimit; ++i) (void)p.login(kNobody, kWrong, "10.0.0.66");
  // Enough wrong passwords to lock the account, had they reached it.
  for (int i = 0; i < kLockAfterFailures + 1; ++i)
    EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.66"), "demasiados");
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.67"), "portal");
}

TEST(AddressThrottle, ALockedAccountIsSaidSoEvenWithTheRightPassword) {
  Portal p;
  for (int i = 0; i < kLockAfterFailures - 1; ++i)
    EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.1"), "credenciales");
  EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.1"), "bloqueada");
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.2"), "bloqueada");
}

// Issue 14: the login page warns before the attempt that locks the account,
// not after.
TEST(AddressThrottle, TheLoginPageWarnsBeforeTheLastAttempt) {
  Portal p;
  std::vector<std::string> left;
  std::vector<std::string> pages;
  for (int i = 0; i < kLockAfterFailures - 1; ++i) {
    ASSERT_EQ(p.login(kPerson, kWrong, "10.0.0.1"), "credenciales") << i;
    auto it = p.last_flash.find("intentos");
    left.push_back(it == p.last_flash.end() ? "" : it->second);
    pages.push_back(p.login_page(p.last_cookie));
  }
  EXPECT_EQ(left, (std::vector<std::string>{"", "", "2", "1"}));
  for (int i = 0; i < 2; ++i) EXPECT_EQ(pages[i].find("intento"), std::string::npos) << i;
  EXPECT_NE(pages[2].find("Le quedan 2 intentos"), std::string::npos);
  EXPECT_NE(pages[3].find("Le queda 1 intento."), std::string::npos);
  for (const std::string& page : pages)
    EXPECT_NE(page.find("Identificación o contraseña incorrecta."), std::string::npos);
  // The fifth locks it; the page says so instead of counting.
  ASSERT_EQ(p.login(kPerson, kWrong, "10.0.0.1"), "bloqueada");
  EXPECT_EQ(p.last_flash.count("intentos"), 0u);
}

TEST(AddressThrottle, FormsWithoutTheCsrfTokenAreRefusedAndNotCounted) {
  Portal p;
  for (int i = 0; i < kAddressLimit + 2; ++i)
    EXPECT_EQ(p.login(kPerson, kWrong, "10.0.0.66", false), "403");
  // Neither the address nor the account was charged for them.
  EXPECT_EQ(p.login(kPerson, kRight, "10.0.0.66"), "portal");
}

}  // namespace
}  // namespace llavero
