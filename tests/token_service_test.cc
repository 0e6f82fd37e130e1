// The token endpoint (service/token_service.h) as invoicing software sees it:
// Keycloak's password and refresh_token grants in realms rut and rut-stag,
// OAuth2 errors, logout, the JWKS, the bearer check of the API, and the lock
// after repeated wrong passwords.
#include "service/token_service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "pki/jwt.h"
#include "testing.h"
#include "util/base64.h"
#include "util/clock.h"

namespace llavero {

using namespace llavero::service;
namespace {

using Form = std::map<std::string, std::string, std::less<>>;

// An installation with the token service started and an API password for
// the demo taxpayer in each environment.
struct Tokens {
  explicit Tokens(testing::Backend backend) : inst(testing::make_installation(backend)) {
    auto started = tokens.start();
    EXPECT_TRUE(started.ok()) << (started ? "" : started.error().message);
    for (Environment env : kAllEnvironments) {
      auto made = accounts.generate_api_password("1-0647-0958", env, "test");
      EXPECT_TRUE(made.ok());
      users.emplace(env, std::move(*made));
    }
  }

  std::unique_ptr<testing::Installation> inst;
  AccountService accounts{*inst->store, inst->config};
  TokenService tokens{*inst->store, accounts, *inst->keyring, inst->config};
  std::map<Environment, NewApiPassword> users;

  const std::string& user(Environment env) { return users.at(env).username; }
  std::string password(Environment env) { return std::string(users.at(env).password.view()); }

  TokenAnswer password_grant(const Realm& realm, const std::string& username,
                             const std::string& password,
                             const std::string& address = "127.0.0.1") {
    return tokens.token(realm,
                        Form{{"grant_type", "password"},
                             {"client_id", std::string(realm.client_id)},
                             {"username", username},
                             {"password", password}},
                        address);
  }
  TokenAnswer login(Environment env, const std::string& address = "127.0.0.1") {
    return password_grant(realm_of(env), user(env), password(env), address);
  }
  TokenAnswer refresh(const Realm& realm, const std::string& refresh_token) {
    return tokens.token(realm,
                        Form{{"grant_type", "refresh_token"},
                             {"client_id", std::string(realm.client_id)},
                             {"refresh_token", refresh_token}},
                        "127.0.0.1");
  }
  TokenAnswer logout(const Realm& realm, const std::string& refresh_token) {
    return tokens.logout(
        realm, Form{{"client_id", std::string(realm.client_id)}, {"refresh_token", refresh_token}});
  }
};

std::string text(const boost::json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The claims inside an access token, read without checking its signature.
boost::json::object claims_of(const std::string& jwt) {
  const std::size_t first = jwt.find('.');
  const std::size_t second = jwt.find('.', first + 1);
  auto payload = base64_decode_to_string(jwt.substr(first + 1, second - first - 1), kBase64Url);
  EXPECT_TRUE(payload.has_value());
  return payload ? boost::json::parse(*payload).as_object() : boost::json::object();
}

void expect_oauth_error(const TokenAnswer& answer, unsigned status, std::string_view error) {
  EXPECT_EQ(answer.status, status) << boost::json::serialize(answer.body);
  EXPECT_EQ(text(answer.body, "error"), error) << boost::json::serialize(answer.body);
  EXPECT_FALSE(text(answer.body, "error_description").empty());
  EXPECT_FALSE(answer.body.contains("access_token"));
}

// The token service on both stores (SQLite and PostgreSQL).
class TokenService : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(TokenService);
class TokenThrottle : public testing::OnBothBackends {};
LLAVERO_ON_BOTH_BACKENDS(TokenThrottle);

// --- realms ------------------------------------------------------------------------

TEST(TokenRealms, EachEnvironmentHasItsRealmAndClient) {
  const Realm* rut = find_realm("rut");
  const Realm* stag = find_realm("rut-stag");
  ASSERT_NE(rut, nullptr);
  ASSERT_NE(stag, nullptr);
  EXPECT_EQ(rut->client_id, "api-prod");
  EXPECT_EQ(rut->environment, Environment::kProduccion);
  EXPECT_EQ(stag->client_id, "api-stag");
  EXPECT_EQ(stag->environment, Environment::kPruebas);
  EXPECT_EQ(&realm_of(Environment::kProduccion), rut);
  EXPECT_EQ(&realm_of(Environment::kPruebas), stag);
  for (std::string_view unknown : {"", "RUT", "rut-prod", "master", "rut-stag/"})
    EXPECT_EQ(find_realm(unknown), nullptr) << unknown;
}

// --- password grant ----------------------------------------------------------------

TEST_P(TokenService, PasswordGrantIssuesKeycloakShapedTokensInEachRealm) {
  Tokens t(backend());
  for (Environment env : kAllEnvironments) {
    const Realm& realm = realm_of(env);
    const UnixSeconds before = now_seconds();
    TokenAnswer answer = t.login(env);
    ASSERT_EQ(answer.status, 200u) << boost::json::serialize(answer.body);
    EXPECT_EQ(text(answer.body, "token_type"), "bearer");
    EXPECT_EQ(answer.body.at("expires_in"), 300);
    EXPECT_EQ(answer.body.at("refresh_expires_in"), 36000);
    EXPECT_FALSE(text(answer.body, "refresh_token").empty());
    EXPECT_FALSE(text(answer.body, "session_state").empty());
    // Keycloak's OpenID id_token: the same subject, typ ID, for the client.
    const auto id = claims_of(text(answer.body, "id_token"));
    EXPECT_EQ(text(id, "typ"), "ID");
    EXPECT_EQ(text(id, "aud"), realm.client_id);
    EXPECT_EQ(text(id, "preferred_username"), t.user(env));

    const auto claims = claims_of(text(answer.body, "access_token"));
    EXPECT_EQ(text(claims, "iss"), fmt::format("http://127.0.0.1:8080/auth/realms/{}", realm.name));
    EXPECT_EQ(text(claims, "azp"), realm.client_id);
    EXPECT_EQ(text(claims, "preferred_username"), t.user(env));
    EXPECT_EQ(text(claims, "session_state"), text(answer.body, "session_state"));
    const std::int64_t exp = claims.at("exp").as_int64();
    EXPECT_EQ(exp - claims.at("iat").as_int64(), 300);
    EXPECT_GE(exp, before + 300);
    EXPECT_LE(exp, now_seconds() + 300);

    auto caller = t.tokens.check_bearer("bearer " + text(answer.body, "access_token"), env);
    ASSERT_TRUE(caller.ok()) << caller.error().message;
    EXPECT_EQ(caller->username, t.user(env));
    EXPECT_EQ(caller->environment, env);
  }
}

TEST_P(TokenService, EveryLoginStartsANewSession) {
  Tokens t(backend());
  TokenAnswer a = t.login(Environment::kPruebas);
  TokenAnswer b = t.login(Environment::kPruebas);
  ASSERT_EQ(a.status, 200u);
  ASSERT_EQ(b.status, 200u);
  EXPECT_NE(text(a.body, "session_state"), text(b.body, "session_state"));
  EXPECT_NE(text(a.body, "refresh_token"), text(b.body, "refresh_token"));
  EXPECT_NE(text(a.body, "access_token"), text(b.body, "access_token"));  // its own jti
}

TEST_P(TokenService, WrongPasswordIsInvalidGrant) {
  Tokens t(backend());
  TokenAnswer wrong = t.password_grant(realm_of(Environment::kPruebas),
                                       t.user(Environment::kPruebas), "Mala-1234!");
  expect_oauth_error(wrong, 401, "invalid_grant");
  EXPECT_EQ(text(wrong.body, "error_description"), "Invalid user credentials");
  // The password of the same user in the other environment is not this one.
  TokenAnswer crossed =
      t.password_grant(realm_of(Environment::kPruebas), t.user(Environment::kPruebas),
                       t.password(Environment::kProduccion));
  expect_oauth_error(crossed, 401, "invalid_grant");
}

TEST_P(TokenService, UnknownUserLooksLikeAWrongPassword) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  TokenAnswer wrong = t.password_grant(realm, t.user(Environment::kPruebas), "Mala-1234!");
  TokenAnswer unknown =
      t.password_grant(realm, "cpf-02-0456-0789@stag.comprobanteselectronicos.go.cr", "Mala-1234!");
  expect_oauth_error(unknown, 401, "invalid_grant");
  EXPECT_EQ(unknown.body, wrong.body);
}

TEST_P(TokenService, UserOfTheOtherEnvironmentIsRefusedInThisRealm) {
  Tokens t(backend());
  // The pruebas user with its right password, at the producción realm.
  expect_oauth_error(
      t.password_grant(realm_of(Environment::kProduccion), t.user(Environment::kPruebas),
                       t.password(Environment::kPruebas)),
      401, "invalid_grant");
  expect_oauth_error(
      t.password_grant(realm_of(Environment::kPruebas), t.user(Environment::kProduccion),
                       t.password(Environment::kProduccion)),
      401, "invalid_grant");
}

// Keycloak's codes and descriptions, which clients match (issue 10): a
// client the realm does not have is 400, as AuthenticationProcessor's
// handleClientAuthException answers (docs/recepcion.md cites each source).
TEST_P(TokenService, ClientOfAnotherRealmIsUnauthorizedClient) {
  Tokens t(backend());
  for (std::string client : {"api-prod", "", "API-STAG", "account"}) {
    TokenAnswer answer = t.tokens.token(realm_of(Environment::kPruebas),
                                        Form{{"grant_type", "password"},
                                             {"client_id", client},
                                             {"username", t.user(Environment::kPruebas)},
                                             {"password", t.password(Environment::kPruebas)}},
                                        "127.0.0.1");
    expect_oauth_error(answer, 400, "unauthorized_client");
    EXPECT_EQ(text(answer.body, "error_description"),
              "INVALID_CREDENTIALS: Invalid client credentials");
  }
  TokenAnswer no_client = t.tokens.token(realm_of(Environment::kPruebas),
                                         Form{{"grant_type", "password"},
                                              {"username", t.user(Environment::kPruebas)},
                                              {"password", t.password(Environment::kPruebas)}},
                                         "127.0.0.1");
  expect_oauth_error(no_client, 400, "unauthorized_client");
}

// Keycloak's TokenEndpoint checks grant_type before the client.
TEST_P(TokenService, GrantTypeIsCheckedBeforeTheClient) {
  Tokens t(backend());
  TokenAnswer none =
      t.tokens.token(realm_of(Environment::kPruebas), Form{{"client_id", "otro"}}, "127.0.0.1");
  expect_oauth_error(none, 400, "invalid_request");
  EXPECT_EQ(text(none.body, "error_description"), "Missing form parameter: grant_type");
  TokenAnswer other =
      t.tokens.token(realm_of(Environment::kPruebas),
                     Form{{"grant_type", "client_credentials"}, {"client_id", ""}}, "127.0.0.1");
  expect_oauth_error(other, 400, "unsupported_grant_type");
  EXPECT_EQ(text(other.body, "error_description"), "Unsupported grant_type");
}

TEST_P(TokenService, OtherGrantTypesAreUnsupported) {
  Tokens t(backend());
  for (std::string grant : {"client_credentials", "authorization_code", "PASSWORD"}) {
    TokenAnswer answer =
        t.tokens.token(realm_of(Environment::kPruebas),
                       Form{{"grant_type", grant}, {"client_id", "api-stag"}}, "127.0.0.1");
    expect_oauth_error(answer, 400, "unsupported_grant_type");
  }
  TokenAnswer none =
      t.tokens.token(realm_of(Environment::kPruebas),
                     Form{{"grant_type", ""}, {"client_id", "api-stag"}}, "127.0.0.1");
  expect_oauth_error(none, 400, "invalid_request");
  EXPECT_EQ(text(none.body, "error_description"), "Missing form parameter: grant_type");
}

// As Keycloak's direct grant answers (ValidateUsername, ValidatePassword):
// no username parameter is invalid_request, an empty one is a user it does
// not find, no password is a wrong password.
TEST_P(TokenService, PasswordGrantWithoutUsernameOrPasswordIsRefusedAsKeycloakDoes) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  TokenAnswer no_user = t.tokens.token(
      realm, Form{{"grant_type", "password"}, {"client_id", "api-stag"}, {"password", "x"}},
      "127.0.0.1");
  expect_oauth_error(no_user, 401, "invalid_request");
  EXPECT_EQ(text(no_user.body, "error_description"), "Missing parameter: username");
  TokenAnswer empty_user = t.password_grant(realm, "", t.password(Environment::kPruebas));
  expect_oauth_error(empty_user, 401, "invalid_grant");
  EXPECT_EQ(text(empty_user.body, "error_description"), "Invalid user credentials");
  TokenAnswer no_password = t.password_grant(realm, t.user(Environment::kPruebas), "");
  expect_oauth_error(no_password, 401, "invalid_grant");
  EXPECT_EQ(text(no_password.body, "error_description"), "Invalid user credentials");
  expect_oauth_error(
      t.tokens.token(realm, Form{{"grant_type", "password"}, {"client_id", "api-stag"}},
                     "127.0.0.1"),
      401, "invalid_request");
}

// --- refresh and logout ------------------------------------------------------------

TEST_P(TokenService, RefreshGrantKeepsTheSessionAndIssuesANewAccessToken) {
  Tokens t(backend());
  TokenAnswer login = t.login(Environment::kPruebas);
  ASSERT_EQ(login.status, 200u);
  TokenAnswer refreshed =
      t.refresh(realm_of(Environment::kPruebas), text(login.body, "refresh_token"));
  ASSERT_EQ(refreshed.status, 200u) << boost::json::serialize(refreshed.body);
  EXPECT_EQ(text(refreshed.body, "session_state"), text(login.body, "session_state"));
  EXPECT_NE(text(refreshed.body, "access_token"), text(login.body, "access_token"));
  auto caller = t.tokens.check_bearer("Bearer " + text(refreshed.body, "access_token"),
                                      Environment::kPruebas);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->username, t.user(Environment::kPruebas));
  // The new refresh token works as well.
  EXPECT_EQ(
      t.refresh(realm_of(Environment::kPruebas), text(refreshed.body, "refresh_token")).status,
      200u);
}

TEST_P(TokenService, UnknownRefreshTokenIsInvalidGrant) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  expect_oauth_error(t.refresh(realm, random_token()), 400, "invalid_grant");
  expect_oauth_error(t.refresh(realm, ""), 400, "invalid_grant");
  EXPECT_EQ(text(t.refresh(realm, random_token()).body, "error_description"),
            "Invalid refresh token");
  // The access token is not a refresh token.
  TokenAnswer login = t.login(Environment::kPruebas);
  expect_oauth_error(t.refresh(realm, text(login.body, "access_token")), 400, "invalid_grant");
}

// No refresh_token parameter at all: Keycloak's RefreshTokenGrantType and
// LogoutEndpoint answer invalid_request "No refresh token".
TEST_P(TokenService, NoRefreshTokenParameterIsInvalidRequest) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  TokenAnswer refresh = t.tokens.token(
      realm, Form{{"grant_type", "refresh_token"}, {"client_id", "api-stag"}}, "127.0.0.1");
  expect_oauth_error(refresh, 400, "invalid_request");
  EXPECT_EQ(text(refresh.body, "error_description"), "No refresh token");
  TokenAnswer logout = t.tokens.logout(realm, Form{{"client_id", "api-stag"}});
  expect_oauth_error(logout, 400, "invalid_request");
  EXPECT_EQ(text(logout.body, "error_description"), "No refresh token");
}

TEST_P(TokenService, RefreshTokenOfTheOtherRealmIsInvalidGrant) {
  Tokens t(backend());
  TokenAnswer login = t.login(Environment::kPruebas);
  ASSERT_EQ(login.status, 200u);
  expect_oauth_error(
      t.refresh(realm_of(Environment::kProduccion), text(login.body, "refresh_token")), 400,
      "invalid_grant");
  // It still works where it belongs.
  EXPECT_EQ(t.refresh(realm_of(Environment::kPruebas), text(login.body, "refresh_token")).status,
            200u);
}

TEST_P(TokenService, ExpiredRefreshTokenIsInvalidGrant) {
  Tokens t(backend());
  TokenAnswer login = t.login(Environment::kPruebas);
  ASSERT_EQ(login.status, 200u);
  ASSERT_EQ(
      testing::raw_sql(*t.inst, "UPDATE refresh_tokens SET expires_at = '2000-01-01T00:00:00Z'"),
      "");
  TokenAnswer expired =
      t.refresh(realm_of(Environment::kPruebas), text(login.body, "refresh_token"));
  expect_oauth_error(expired, 400, "invalid_grant");
  EXPECT_EQ(text(expired.body, "error_description"), "Token is not active");
}

// refresh_expires_in is the setting token_refresh_segundos.
TEST_P(TokenService, RefreshLifetimeIsASetting) {
  Tokens t(backend());
  t.inst->config.refresh_expires_in = 600;
  TokenAnswer login = t.login(Environment::kPruebas);
  ASSERT_EQ(login.status, 200u);
  EXPECT_EQ(login.body.at("refresh_expires_in"), 600);
}

TEST_P(TokenService, RefreshAfterLogoutIsRefusedForTheWholeSession) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  TokenAnswer login = t.login(Environment::kPruebas);
  TokenAnswer refreshed = t.refresh(realm, text(login.body, "refresh_token"));
  TokenAnswer other_session = t.login(Environment::kPruebas);
  ASSERT_EQ(refreshed.status, 200u);
  ASSERT_EQ(other_session.status, 200u);

  TokenAnswer out = t.logout(realm, text(login.body, "refresh_token"));
  EXPECT_EQ(out.status, 204u);
  EXPECT_TRUE(out.body.empty());
  expect_oauth_error(t.refresh(realm, text(login.body, "refresh_token")), 400, "invalid_grant");
  // The refresh token the session got later is gone with it...
  expect_oauth_error(t.refresh(realm, text(refreshed.body, "refresh_token")), 400, "invalid_grant");
  // ...but another login's session is not.
  EXPECT_EQ(t.refresh(realm, text(other_session.body, "refresh_token")).status, 200u);
}

TEST_P(TokenService, ARefreshTokenIsGoodOnceAndItsReuseEndsTheWholeSession) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  TokenAnswer login = t.login(Environment::kPruebas);
  TokenAnswer other_session = t.login(Environment::kPruebas);
  TokenAnswer first = t.refresh(realm, text(login.body, "refresh_token"));
  ASSERT_EQ(first.status, 200u);
  EXPECT_NE(text(first.body, "refresh_token"), text(login.body, "refresh_token"))
      << "each use answers with the next refresh token";
  // Someone replays the spent token (a thief, or the owner after a thief):
  // refused, and the token the legitimate use got dies with the session.
  expect_oauth_error(t.refresh(realm, text(login.body, "refresh_token")), 400, "invalid_grant");
  expect_oauth_error(t.refresh(realm, text(first.body, "refresh_token")), 400, "invalid_grant");
  EXPECT_EQ(t.refresh(realm, text(other_session.body, "refresh_token")).status, 200u)
      << "another login's session goes on";
}

TEST_P(TokenService, ANewApiPasswordEndsTheRefreshTokensOfTheOldOne) {
  Tokens t(backend());
  const Realm& stag = realm_of(Environment::kPruebas);
  const Realm& prod = realm_of(Environment::kProduccion);
  TokenAnswer before = t.login(Environment::kPruebas);
  TokenAnswer prod_before = t.login(Environment::kProduccion);
  ASSERT_EQ(before.status, 200u);
  auto made = t.accounts.generate_api_password("1-0647-0958", Environment::kPruebas, "test");
  ASSERT_TRUE(made.ok());
  expect_oauth_error(t.refresh(stag, text(before.body, "refresh_token")), 400, "invalid_grant");
  EXPECT_EQ(t.password_grant(stag, made->username, std::string(made->password.view())).status, 200u)
      << "the new password logs in";
  EXPECT_EQ(t.refresh(prod, text(prod_before.body, "refresh_token")).status, 200u)
      << "the other environment's user is another user";
}

TEST_P(TokenService, LogoutNeedsThisRealmsClientAndAKnownToken) {
  Tokens t(backend());
  TokenAnswer login = t.login(Environment::kPruebas);
  const std::string refresh = text(login.body, "refresh_token");
  expect_oauth_error(t.tokens.logout(realm_of(Environment::kPruebas),
                                     Form{{"client_id", "api-prod"}, {"refresh_token", refresh}}),
                     400, "unauthorized_client");
  expect_oauth_error(t.logout(realm_of(Environment::kPruebas), random_token()), 400,
                     "invalid_grant");
  expect_oauth_error(t.logout(realm_of(Environment::kProduccion), refresh), 400, "invalid_grant");
  // None of those ended the session.
  EXPECT_EQ(t.refresh(realm_of(Environment::kPruebas), refresh).status, 200u);
}

// --- the bearer check --------------------------------------------------------------

TEST_P(TokenService, BearerCheckRefusesWhatIsNotABearerToken) {
  Tokens t(backend());
  const std::string token = text(t.login(Environment::kPruebas).body, "access_token");
  ASSERT_FALSE(token.empty());
  for (const std::string& header :
       {std::string(), std::string("bearer"), std::string("bearer "), "Basic " + token, token,
        "bearer" + token, "bearer  " + token, "bearer " + token + "x", "bearer x" + token,
        std::string("bearer a.b.c")}) {
    auto caller = t.tokens.check_bearer(header, Environment::kPruebas);
    ASSERT_FALSE(caller.ok()) << header;
    EXPECT_EQ(caller.error().code, "token_invalido") << header;
  }
  for (std::string scheme : {"bearer ", "Bearer ", "BEARER "})
    EXPECT_TRUE(t.tokens.check_bearer(scheme + token, Environment::kPruebas).ok()) << scheme;
}

TEST_P(TokenService, TokenOfTheOtherEnvironmentIsToldApart) {
  Tokens t(backend());
  const std::string pruebas = text(t.login(Environment::kPruebas).body, "access_token");
  const std::string produccion = text(t.login(Environment::kProduccion).body, "access_token");
  auto at_prod = t.tokens.check_bearer("bearer " + pruebas, Environment::kProduccion);
  ASSERT_FALSE(at_prod.ok());
  EXPECT_EQ(at_prod.error().code, "token_otro_ambiente");
  EXPECT_NE(at_prod.error().message.find("Pruebas"), std::string::npos) << at_prod.error().message;
  EXPECT_NE(at_prod.error().message.find("Producción"), std::string::npos);
  auto at_stag = t.tokens.check_bearer("bearer " + produccion, Environment::kPruebas);
  ASSERT_FALSE(at_stag.ok());
  EXPECT_EQ(at_stag.error().code, "token_otro_ambiente");
  EXPECT_TRUE(t.tokens.check_bearer("bearer " + produccion, Environment::kProduccion).ok());
}

// Signs claims with the realm's own key, taken from the store as a second
// server would: the only way to hold a token whose exp has passed without
// waiting five minutes.
std::string realm_signed(Tokens& t, Environment env, boost::json::object claims) {
  auto stored = t.inst->store->service_key(fmt::format("jwt:{}", realm_of(env).name));
  EXPECT_TRUE(stored.ok() && stored->has_value());
  auto key = t.inst->keyring->open_key((*stored)->key_pem);
  EXPECT_TRUE(key.ok());
  auto token = sign_jwt(claims, **key, "kid");
  EXPECT_TRUE(token.ok());
  return *token;
}

boost::json::object valid_claims(Tokens& t, Environment env) {
  return {{"exp", now_seconds() + 60},
          {"iss", fmt::format("http://127.0.0.1:8080/auth/realms/{}", realm_of(env).name)},
          {"preferred_username", t.user(env)}};
}

TEST_P(TokenService, TokenSignedWithTheRealmKeyIsTheControl) {
  Tokens t(backend());
  auto caller = t.tokens.check_bearer(
      "bearer " + realm_signed(t, Environment::kPruebas, valid_claims(t, Environment::kPruebas)),
      Environment::kPruebas);
  ASSERT_TRUE(caller.ok()) << caller.error().message;
  EXPECT_EQ(caller->username, t.user(Environment::kPruebas));
}

TEST_P(TokenService, ExpiredAccessTokenIsRefused) {
  Tokens t(backend());
  for (UnixSeconds exp : {now_seconds() - 1, now_seconds() - 3600, UnixSeconds{0}}) {
    auto claims = valid_claims(t, Environment::kPruebas);
    claims["exp"] = exp;
    auto caller = t.tokens.check_bearer("bearer " + realm_signed(t, Environment::kPruebas, claims),
                                        Environment::kPruebas);
    ASSERT_FALSE(caller.ok()) << exp;
    EXPECT_EQ(caller.error().code, "token_invalido");
  }
}

TEST_P(TokenService, AccessTokenWithoutTheRequiredClaimsIsRefused) {
  Tokens t(backend());
  const Environment env = Environment::kPruebas;
  std::vector<boost::json::object> broken;
  for (std::string_view drop : {"exp", "iss", "preferred_username"}) {
    auto c = valid_claims(t, env);
    c.erase(drop);
    broken.push_back(c);
  }
  auto other_issuer = valid_claims(t, env);
  other_issuer["iss"] = "http://127.0.0.1:8080/auth/realms/rut";  // the other realm's
  broken.push_back(other_issuer);
  auto text_exp = valid_claims(t, env);
  text_exp["exp"] = std::to_string(now_seconds() + 60);
  broken.push_back(text_exp);
  auto numeric_user = valid_claims(t, env);
  numeric_user["preferred_username"] = 106470958;
  broken.push_back(numeric_user);
  for (const auto& claims : broken) {
    auto caller = t.tokens.check_bearer("bearer " + realm_signed(t, env, claims), env);
    ASSERT_FALSE(caller.ok()) << boost::json::serialize(claims);
    EXPECT_EQ(caller.error().code, "token_invalido");
  }
}

TEST_P(TokenService, TokenSignedByAnyOtherKeyIsRefused) {
  Tokens t(backend());
  auto key = ossl::generate_rsa(2048);
  ASSERT_TRUE(key.ok());
  auto forged = sign_jwt(valid_claims(t, Environment::kPruebas), **key, "kid");
  ASSERT_TRUE(forged.ok());
  auto caller = t.tokens.check_bearer("bearer " + *forged, Environment::kPruebas);
  ASSERT_FALSE(caller.ok());
  EXPECT_EQ(caller.error().code, "token_invalido");
}

// --- JWKS --------------------------------------------------------------------------

TEST_P(TokenService, JwksPublishesTheKeyThatSignsEachRealmsTokens) {
  Tokens t(backend());
  for (Environment env : kAllEnvironments) {
    const auto jwks = t.tokens.jwks(realm_of(env));
    ASSERT_EQ(jwks.at("keys").as_array().size(), 1u);
    const auto& jwk = jwks.at("keys").as_array()[0].as_object();
    EXPECT_EQ(text(jwk, "kty"), "RSA");
    EXPECT_EQ(text(jwk, "alg"), "RS256");
    EXPECT_EQ(text(jwk, "use"), "sig");
    // The token names this key in its header.
    const std::string token = text(t.login(env).body, "access_token");
    auto header = base64_decode_to_string(token.substr(0, token.find('.')), kBase64Url);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(text(boost::json::parse(*header).as_object(), "kid"), text(jwk, "kid"));
    EXPECT_FALSE(text(jwk, "kid").empty());
  }
  EXPECT_NE(
      text(t.tokens.jwks(realm_of(Environment::kPruebas)).at("keys").as_array()[0].as_object(),
           "n"),
      text(t.tokens.jwks(realm_of(Environment::kProduccion)).at("keys").as_array()[0].as_object(),
           "n"));
}

TEST_P(TokenService, ARestartedServerKeepsItsKeysAndHonoursEarlierTokens) {
  Tokens t(backend());
  TokenAnswer login = t.login(Environment::kPruebas);
  ASSERT_EQ(login.status, 200u);
  service::TokenService restarted(*t.inst->store, t.accounts, *t.inst->keyring, t.inst->config);
  ASSERT_TRUE(restarted.start().ok());
  EXPECT_EQ(restarted.jwks(realm_of(Environment::kPruebas)),
            t.tokens.jwks(realm_of(Environment::kPruebas)));
  EXPECT_TRUE(
      restarted.check_bearer("bearer " + text(login.body, "access_token"), Environment::kPruebas)
          .ok());
  EXPECT_EQ(restarted
                .token(realm_of(Environment::kPruebas),
                       Form{{"grant_type", "refresh_token"},
                            {"client_id", "api-stag"},
                            {"refresh_token", text(login.body, "refresh_token")}},
                       "127.0.0.1")
                .status,
            200u);
}

// --- throttling ----------------------------------------------------------------------
// Wrong passwords per (user name, address), as the portal's log-in
// (throttle_test.cc): the fifth makes that pair wait; nobody else waits.

constexpr int kFreeFailures = 5;
constexpr const char* kStranger = "198.51.100.9";

TEST_P(TokenThrottle, TheFifthWrongPasswordMakesThatAddressWaitEvenWithTheRightOne) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  const std::string& user = t.user(Environment::kPruebas);
  for (int i = 0; i < kFreeFailures; ++i) {
    TokenAnswer answer = t.password_grant(realm, user, "Mala-1234!", kStranger);
    expect_oauth_error(answer, 401, "invalid_grant");
    EXPECT_EQ(text(answer.body, "error_description"), "Invalid user credentials") << i;
  }
  TokenAnswer held = t.password_grant(realm, user, t.password(Environment::kPruebas), kStranger);
  expect_oauth_error(held, 401, "invalid_grant");
  EXPECT_NE(text(held.body, "error_description").find("Demasiados intentos fallidos"),
            std::string::npos)
      << text(held.body, "error_description");
}

TEST_P(TokenThrottle, AStrangersWrongPasswordsDoNotStopTheOwner) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  for (int i = 0; i < 3 * kFreeFailures; ++i)
    (void)t.password_grant(realm, t.user(Environment::kPruebas), "Mala-1234!", kStranger);
  EXPECT_EQ(t.login(Environment::kPruebas, "127.0.0.1").status, 200u);
}

TEST_P(TokenThrottle, AnUnknownUserNameWaitsExactlyAsAKnownOne) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  auto answers = [&](const std::string& user) {
    std::vector<std::string> out;
    for (int i = 0; i < kFreeFailures + 1; ++i) {
      TokenAnswer a = t.password_grant(realm, user, "Mala-1234!", kStranger);
      // Up to the seconds left, which the clock may tick between the two
      // runs (each wrong password is a second of Argon2id under load).
      const std::string d = text(a.body, "error_description");
      out.push_back(std::to_string(a.status) + text(a.body, "error") +
                    d.substr(0, d.find(" espere ")));
    }
    return out;
  };
  EXPECT_EQ(answers(t.user(Environment::kPruebas)),
            answers("cpf-02-0456-0789@stag.comprobanteselectronicos.go.cr"));
}

TEST_P(TokenThrottle, FourWrongPasswordsDoNotHoldBack) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  for (int i = 0; i < kFreeFailures - 1; ++i)
    expect_oauth_error(t.password_grant(realm, t.user(Environment::kPruebas), "Mala-1234!"), 401,
                       "invalid_grant");
  EXPECT_EQ(t.login(Environment::kPruebas).status, 200u);
}

TEST_P(TokenThrottle, TheWaitIsPerUser) {
  Tokens t(backend());
  const Realm& stag = realm_of(Environment::kPruebas);
  for (int i = 0; i < kFreeFailures; ++i)
    (void)t.password_grant(stag, t.user(Environment::kPruebas), "Mala-1234!");
  ASSERT_NE(text(t.login(Environment::kPruebas).body, "error_description").find("Demasiados"),
            std::string::npos);
  // The same taxpayer's producción user, and another taxpayer's pruebas user.
  EXPECT_EQ(t.login(Environment::kProduccion).status, 200u);
  auto company = t.accounts.generate_api_password("3-101-522899", Environment::kPruebas, "test");
  ASSERT_TRUE(company.ok());
  EXPECT_EQ(t.password_grant(stag, company->username, std::string(company->password.view())).status,
            200u);
}

TEST_P(TokenThrottle, RefreshStillWorksWhileTheUserWaits) {
  // The wait stops password guessing; it does not end sessions already open.
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  TokenAnswer login = t.login(Environment::kPruebas);
  for (int i = 0; i < kFreeFailures; ++i)
    (void)t.password_grant(realm, t.user(Environment::kPruebas), "Mala-1234!");
  EXPECT_EQ(t.refresh(realm, text(login.body, "refresh_token")).status, 200u);
}

// Keycloak, which this endpoint follows, resets the count on a successful
// login too: wrong passwords interleaved with good logins never add up.
TEST_P(TokenThrottle, ASuccessfulLoginStartsTheCountAgain) {
  Tokens t(backend());
  const Realm& realm = realm_of(Environment::kPruebas);
  for (int i = 0; i < kFreeFailures - 1; ++i)
    (void)t.password_grant(realm, t.user(Environment::kPruebas), "Mala-1234!");
  ASSERT_EQ(t.login(Environment::kPruebas).status, 200u);
  (void)t.password_grant(realm, t.user(Environment::kPruebas), "Mala-1234!");
  EXPECT_EQ(t.login(Environment::kPruebas).status, 200u);
}

}  // namespace
}  // namespace llavero
