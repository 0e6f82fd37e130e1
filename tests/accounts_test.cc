// Accounts, sessions and the download vault: what a taxpayer would notice
// when logging in, staying idle, or fetching a file twice.
#include "service/accounts.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "service/downloads.h"
#include "testing.h"

namespace llavero {

using namespace llavero::service;
namespace {

using testing::make_installation;

struct Portal {
  explicit Portal(testing::Backend backend) : inst(make_installation(backend)) {
    EXPECT_TRUE(
        accounts.set_portal_password("1-0647-0958", SecretString("correcta-123"), "test").ok());
  }
  std::unique_ptr<testing::Installation> inst;
  AccountService accounts{*inst->store, inst->config};
};

// Every test on both stores.
class Accounts : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Accounts);
class Downloads : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(Downloads);

TEST_P(Accounts, PortalPasswordNeedsEightCharacters) {
  Portal a(backend());
  auto short_one = a.accounts.set_portal_password("1-0647-0958", SecretString("corta"), "test");
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code, "contrasena_invalida");
}

TEST_P(Accounts, LoginWithAnySpellingOfTheIdentification) {
  Portal a(backend());
  for (auto id : {"1-0647-0958", "106470958", "1 0647 0958"}) {
    auto login = a.accounts.login(id, SecretString("correcta-123"), "127.0.0.1");
    ASSERT_TRUE(login.ok()) << id;
    EXPECT_EQ(login->session.taxpayer.identification, "106470958");
    EXPECT_EQ(login->cookie_token.size(), 43u);  // 256 bits, base64url
    EXPECT_TRUE(a.accounts.session(login->cookie_token).ok());
  }
}

TEST_P(Accounts, UnknownAccountAndWrongPasswordLookTheSame) {
  Portal a(backend());
  auto wrong = a.accounts.login("1-0647-0958", SecretString("incorrecta"), "127.0.0.1");
  auto unknown = a.accounts.login("2-0456-0789", SecretString("incorrecta"), "127.0.0.1");
  ASSERT_FALSE(wrong.ok());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(wrong.error().code, "credenciales_invalidas");
  EXPECT_EQ(wrong.error().message, unknown.error().message);
}

TEST_P(Accounts, IdleSessionExpiresAndIsDeleted) {
  Portal a(backend());
  auto login = a.accounts.login("1-0647-0958", SecretString("correcta-123"), "x");
  ASSERT_TRUE(login.ok());
  ASSERT_EQ(testing::raw_sql(*a.inst, "UPDATE sessions SET last_seen = '2000-01-01T00:00:00Z'"),
            "");
  auto expired = a.accounts.session(login->cookie_token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, "sesion_expirada");
  EXPECT_EQ(a.accounts.session(login->cookie_token).error().code, "sin_sesion");
}

TEST_P(Accounts, FormTokensAreSingleUse) {
  Portal a(backend());
  const std::string token = random_token();
  EXPECT_TRUE(*a.accounts.spend_form_token(token));
  EXPECT_FALSE(*a.accounts.spend_form_token(token));
}

TEST_P(Accounts, NewApiPasswordReplacesTheOldOne) {
  Portal a(backend());
  auto first = a.accounts.generate_api_password("1-0647-0958", Environment::kPruebas, "test");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->username, "cpf-01-0647-0958@stag.comprobanteselectronicos.go.cr");
  EXPECT_TRUE(
      a.accounts.check_api_password(first->username, first->password, "127.0.0.1")->has_value());
  auto second = a.accounts.generate_api_password("1-0647-0958", Environment::kPruebas, "test");
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(
      a.accounts.check_api_password(first->username, first->password, "127.0.0.1")->has_value());
  EXPECT_TRUE(
      a.accounts.check_api_password(second->username, second->password, "127.0.0.1")->has_value());
}

RC_GTEST_PROP(ApiPassword, TwentyCharactersOfTheAllowedAlphabetWithEveryClass, ()) {
  const SecretString password = generate_api_password();
  const std::string_view p = password.view();
  RC_ASSERT(p.size() == 20u);
  const std::string allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" +
                              std::string(kApiPasswordSymbols);
  RC_ASSERT(p.find_first_not_of(allowed) == std::string_view::npos);
  RC_ASSERT(p.find_first_of("abcdefghijklmnopqrstuvwxyz") != std::string_view::npos);
  RC_ASSERT(p.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos);
  RC_ASSERT(p.find_first_of("0123456789") != std::string_view::npos);
  RC_ASSERT(p.find_first_of(kApiPasswordSymbols) != std::string_view::npos);
}

TEST_P(Downloads, OnceForItsOwnerOnly) {
  auto inst = make_installation(backend());
  testing::TempDir dir;
  auto key = load_or_create_server_key(dir.path() / "portal.key");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(std::filesystem::status(dir.path() / "portal.key").permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  DownloadVault vault(*inst->store, *key);
  const auto owner = **inst->store->find_taxpayer("106470958");
  const auto other = **inst->store->find_taxpayer("3101522899");
  auto token = vault.put(owner.id, Environment::kPruebas, "010647095876.p12", Bytes{1, 2, 3});
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(vault.open(*token, other.id).error().code, "descarga_no_disponible");
  auto file = vault.open(*token, owner.id);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->p12, (Bytes{1, 2, 3}));
  EXPECT_EQ(file->file_name, "010647095876.p12");
  ASSERT_TRUE(vault.wipe(file->token_hash).ok());
  EXPECT_EQ(vault.open(*token, owner.id).error().code, "descarga_no_disponible");
}

TEST_P(Downloads, ExpiredFileIsGoneAndStoredEncrypted) {
  auto inst = make_installation(backend());
  testing::TempDir dir;
  DownloadVault vault(*inst->store, *load_or_create_server_key(dir.path() / "portal.key"));
  const auto owner = **inst->store->find_taxpayer("106470958");
  const Bytes secret = {'S', 'E', 'C', 'R', 'E', 'T', 'O'};
  auto token = vault.put(owner.id, Environment::kPruebas, "f.p12", secret);
  ASSERT_TRUE(token.ok());
  auto stored = inst->store->find_download(token_hash(*token));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  const Bytes& ciphertext = (*stored)->ciphertext;
  EXPECT_EQ(std::search(ciphertext.begin(), ciphertext.end(), secret.begin(), secret.end()),
            ciphertext.end());
  ASSERT_EQ(
      testing::raw_sql(*inst, "UPDATE pending_downloads SET expires_at = '2000-01-01T00:00:00Z'"),
      "");
  EXPECT_EQ(vault.open(*token, owner.id).error().code, "descarga_no_disponible");
}

}  // namespace
}  // namespace llavero
