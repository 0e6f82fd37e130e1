#include "service/token_service.h"

#include <fmt/format.h>

#include "pki/jwt.h"
#include "util/clock.h"
#include "util/error_codes.h"

namespace llavero::service {

namespace {

constexpr Realm kRealms[] = {{"rut", "api-prod", Environment::kProduccion},
                             {"rut-stag", "api-stag", Environment::kPruebas}};

TokenAnswer oauth_error(unsigned status, std::string_view error, std::string_view description) {
  return TokenAnswer{status, {{"error", error}, {"error_description", description}}};
}

// A client_id this realm does not know (or none): the Keycloak Hacienda runs
// answers 400 with the flow error's name and message
// (AuthenticationProcessor.handleClientAuthException after
// ClientAuthenticationFlow's "Invalid client credentials").
TokenAnswer invalid_client() {
  return oauth_error(400, "unauthorized_client", "INVALID_CREDENTIALS: Invalid client credentials");
}

std::string get(const std::map<std::string, std::string, std::less<>>& form,
                const std::string& key) {
  auto it = form.find(key);
  return it == form.end() ? std::string() : it->second;
}

}  // namespace

const Realm* find_realm(std::string_view name) {
  for (const Realm& r : kRealms)
    if (r.name == name) return &r;
  return nullptr;
}

const Realm& realm_of(Environment env) {
  return env == Environment::kProduccion ? kRealms[0] : kRealms[1];
}

TokenService::TokenService(Store& store, AccountService& accounts, CaKeyring& keyring,
                           const Config& config)
    : store_(store), accounts_(accounts), keyring_(keyring), config_(config) {}

namespace {

// The store name of a realm's key: "jwt:rut", then "jwt:rut:g2", … per rollover.
std::string key_name(const Realm& realm, int generation) {
  return generation <= 1 ? fmt::format("jwt:{}", realm.name)
                         : fmt::format("jwt:{}:g{}", realm.name, generation);
}

// The kid: a hash of the public modulus, stable across restarts.
Result<std::string> key_id(const EVP_PKEY& key) {
  auto jwk = rsa_jwk(key, "");
  if (!jwk) return jwk.error();
  return to_hex(sha256(std::string(jwk->at("n").as_string()))).substr(0, 16);
}

constexpr int kMaxKeyGenerations = 1000;  // a bound for the loops below

}  // namespace

Result<std::string> TokenService::roll_over_key(Store& store, CaKeyring& keyring, Environment env,
                                                const std::string& actor) {
  const Realm& realm = realm_of(env);
  int next = 2;
  for (; next < kMaxKeyGenerations; ++next) {
    auto stored = store.service_key(key_name(realm, next));
    if (!stored) return stored.error();
    if (!*stored) break;
  }
  // Made by the key store (in the token when there is one), like the first.
  auto made = keyring.new_key(2048, key_name(realm, next));
  if (!made) return made.error();
  auto kid = key_id(*made->key);
  if (!kid) return kid.error();
  LLAVERO_TRY(store.put_service_key(
      ServiceKey{key_name(realm, next), std::move(made->reference), {}},
      AuditEvent{actor, "token.llave.renovar", std::string(realm.name),
                 fmt::format("llave RS256 nueva kid={}; la anterior sigue publicada", *kid)}));
  return *kid;
}

Status TokenService::start() {
  for (const Realm& realm : kRealms) {
    const std::string name = key_name(realm, 1);
    auto stored = store_.service_key(name);
    if (!stored) return stored.error();
    if (!*stored) {
      auto made = keyring_.new_key(2048, name);
      if (!made) return made.error();
      LLAVERO_TRY(
          store_.put_service_key(ServiceKey{name, made->reference, {}},
                                 AuditEvent{"servidor", "token.llave", std::string(realm.name),
                                            "llave RS256 del realm creada"}));
      stored = store_.service_key(name);  // whichever server stored first wins
      if (!stored || !*stored)
        return make_error(errc::kErrorInterno, "No se guardó la llave del realm.");
    }
    // The newest two generations: the one that signs and the one before.
    std::vector<ServiceKey> newest{**stored};
    for (int generation = 2; generation < kMaxKeyGenerations; ++generation) {
      auto later = store_.service_key(key_name(realm, generation));
      if (!later) return later.error();
      if (!*later) break;
      newest.push_back(**later);
      if (newest.size() > 2) newest.erase(newest.begin());
    }
    std::vector<RealmKey>& keys = keys_[realm.environment];
    for (const ServiceKey& k : newest) {
      auto key = keyring_.open_key(k.key_pem);
      if (!key) return key.error();
      auto kid = key_id(**key);
      if (!kid) return kid.error();
      keys.push_back(RealmKey{std::move(*key), std::move(*kid)});
    }
  }
  return Ok{};
}

std::string TokenService::issuer(const Realm& realm) const {
  std::string base = config_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return fmt::format("{}/auth/realms/{}", base, realm.name);
}

TokenAnswer TokenService::issue(const Realm& realm, const ApiCredential& credential,
                                const std::string& session_id) {
  const UnixSeconds now = now_seconds();
  const RealmKey& key = keys_.at(realm.environment).back();
  boost::json::object claims{{"exp", now + kAccessTokenSeconds},
                             {"iat", now},
                             {"jti", random_token()},
                             {"iss", issuer(realm)},
                             {"aud", "account"},
                             {"sub", credential.username},
                             {"typ", "Bearer"},
                             {"azp", realm.client_id},
                             {"session_state", session_id},
                             {"preferred_username", credential.username},
                             {"scope", "profile email"}};
  auto access = sign_jwt(claims, *key.key, key.kid);
  if (!access) return oauth_error(500, "server_error", "No se pudo firmar el token.");
  // Keycloak answers an OpenID id_token beside the access token: the same
  // subject, for the client, typ "ID".
  boost::json::object id_claims = claims;
  id_claims["typ"] = "ID";
  id_claims["aud"] = realm.client_id;
  id_claims["jti"] = random_token();
  auto id_token = sign_jwt(id_claims, *key.key, key.kid);
  if (!id_token) return oauth_error(500, "server_error", "No se pudo firmar el token.");
  const std::string refresh = random_token();
  Status stored = store_.put_refresh_token(RefreshTokenRecord{
      token_hash(refresh), session_id, credential.username, std::string(realm.name),
      std::string(realm.client_id), now + config_.refresh_expires_in, false});
  if (!stored) return oauth_error(503, "temporarily_unavailable", stored.error().message);
  return TokenAnswer{200,
                     {{"access_token", *access},
                      {"expires_in", kAccessTokenSeconds},
                      {"refresh_expires_in", config_.refresh_expires_in},
                      {"id_token", *id_token},
                      {"refresh_token", refresh},
                      {"token_type", "bearer"},
                      {"not-before-policy", 0},
                      {"session_state", session_id},
                      {"scope", "profile email"}}};
}

TokenAnswer TokenService::token(const Realm& realm,
                                const std::map<std::string, std::string, std::less<>>& form,
                                const std::string& remote_address) {
  // Keycloak's order (TokenEndpoint.processGrantRequest: checkGrantType,
  // then checkClient) and texts; docs/recepcion.md cites the source of each.
  const std::string grant = get(form, "grant_type");
  if (grant.empty())
    return oauth_error(400, "invalid_request", "Missing form parameter: grant_type");
  if (grant != "password" && grant != "refresh_token")
    return oauth_error(400, "unsupported_grant_type", "Unsupported grant_type");
  const std::string client_id = get(form, "client_id");
  if (client_id != realm.client_id) return invalid_client();
  if (grant == "password") {
    const std::string username = get(form, "username");
    SecretString password(get(form, "password"));
    // Keycloak's direct grant: ValidateUsername, then ValidatePassword.
    if (!form.contains("username"))
      return oauth_error(401, "invalid_request", "Missing parameter: username");
    if (password.empty()) return oauth_error(401, "invalid_grant", "Invalid user credentials");
    auto credential = accounts_.check_api_password(username, password, remote_address);
    // Keycloak answers a user its brute-force detection holds back with
    // invalid_grant too; the description says how long to wait (llavero's
    // own text: Hacienda's is not documented).
    if (!credential && credential.error().code == errc::kDemasiadosIntentos)
      return oauth_error(401, "invalid_grant", credential.error().message);
    if (!credential) return oauth_error(503, "temporarily_unavailable", credential.error().message);
    if (!*credential || (*credential)->environment != realm.environment)
      return oauth_error(401, "invalid_grant", "Invalid user credentials");
    return issue(realm, **credential, random_token());
  }
  // grant_type=refresh_token. Rotation (OAuth 2.0 Security BCP): the token
  // is spent here and the answer carries the next one; a spent token comes
  // back revoked, with its whole session.
  if (!form.contains("refresh_token"))
    return oauth_error(400, "invalid_request", "No refresh token");
  auto record =
      store_.spend_refresh_token(token_hash(get(form, "refresh_token")), realm.name, client_id);
  if (!record) return oauth_error(503, "temporarily_unavailable", record.error().message);
  if (!*record || (*record)->revoked || (*record)->realm != realm.name ||
      (*record)->client_id != client_id)
    return oauth_error(400, "invalid_grant", "Invalid refresh token");
  if ((*record)->expires_at <= now_seconds())
    return oauth_error(400, "invalid_grant", "Token is not active");
  auto credential = store_.find_api_credential((*record)->username);
  if (!credential || !*credential || (*credential)->environment != realm.environment)
    return oauth_error(400, "invalid_grant", "Invalid refresh token");
  return issue(realm, **credential, (*record)->session_id);
}

TokenAnswer TokenService::logout(const Realm& realm,
                                 const std::map<std::string, std::string, std::less<>>& form) {
  if (get(form, "client_id") != realm.client_id) return invalid_client();
  if (!form.contains("refresh_token"))
    return oauth_error(400, "invalid_request", "No refresh token");
  auto record = store_.find_refresh_token(token_hash(get(form, "refresh_token")));
  if (!record) return oauth_error(503, "temporarily_unavailable", record.error().message);
  if (!*record || (*record)->realm != realm.name)
    return oauth_error(400, "invalid_grant", "Invalid refresh token");
  Status revoked = store_.revoke_token_session((*record)->session_id);
  if (!revoked) return oauth_error(503, "temporarily_unavailable", revoked.error().message);
  return TokenAnswer{204, {}};
}

boost::json::object TokenService::jwks(const Realm& realm) const {
  boost::json::array keys;
  for (const RealmKey& key : keys_.at(realm.environment))
    if (auto jwk = rsa_jwk(*key.key, key.kid)) keys.push_back(std::move(*jwk));
  return {{"keys", std::move(keys)}};
}

Result<ApiCaller> TokenService::check_bearer(std::string_view authorization,
                                             Environment env) const {
  auto invalid = [] {
    return make_error(errc::kTokenInvalido, "Token de acceso ausente, inválido o vencido.");
  };
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return invalid();
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return invalid();
  const std::string_view token = authorization.substr(kScheme.size());
  // Try the realm of this environment, then the other one to tell the two
  // failures apart.
  for (const Realm& realm : kRealms) {
    Result<boost::json::object> claims = make_error(errc::kTokenInvalido, "");
    for (const RealmKey& key : keys_.at(realm.environment))
      if (!claims) claims = verify_jwt(token, *key.key);
    if (!claims) continue;
    const auto* exp = claims->if_contains("exp");
    const auto* iss = claims->if_contains("iss");
    const auto* user = claims->if_contains("preferred_username");
    if (!exp || !exp->is_int64() || exp->as_int64() <= now_seconds() || !iss || !iss->is_string() ||
        iss->as_string() != issuer(realm) || !user || !user->is_string())
      return invalid();
    if (realm.environment != env)
      return make_error(errc::kTokenOtroAmbiente,
                        fmt::format("El token es del ambiente de {}; este servicio es de {}.",
                                    environment_label(realm.environment), environment_label(env)));
    return ApiCaller{std::string(user->as_string()), env, 0};
  }
  return invalid();
}

}  // namespace llavero::service
