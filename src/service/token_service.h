// The token endpoint of the API, compatible with the Keycloak realms that
// invoicing software already talks to (docs/api.md): password and refresh_token
// grants on realms `rut` (produccion, client api-prod) and `rut-stag`
// (pruebas, client api-stag); RS256 access tokens valid 300 s, published in a
// JWKS, with an id_token as Keycloak adds; refresh tokens valid
// token_refresh_segundos (36 000 s), revocable by logout; errors with
// Keycloak's codes and English descriptions, which clients match.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <mutex>

#include "service/accounts.h"
#include "service/authorities.h"

namespace llavero::service {

struct Realm {
  std::string_view name;       // "rut" | "rut-stag"
  std::string_view client_id;  // "api-prod" | "api-stag"
  Environment environment;
};

const Realm* find_realm(std::string_view name);
const Realm& realm_of(Environment env);

inline constexpr UnixSeconds kAccessTokenSeconds = 300;
inline constexpr UnixSeconds kRefreshTokenSeconds = 36000;

// An HTTP answer: status and JSON body.
struct TokenAnswer {
  unsigned status = 200;
  boost::json::object body;
};

// Who an access token speaks for.
struct ApiCaller {
  std::string username;
  Environment environment;
  std::int64_t taxpayer_id = 0;
};

class TokenService {
 public:
  TokenService(Store& store, AccountService& accounts, CaKeyring& keyring, const Config& config);

  // Loads or creates the signing key of each realm (needs the CA passphrase).
  // After a rollover the newest key signs, and the one before it is still
  // published and accepted (the overlap for tokens it signed).
  Status start();

  // Adds a new signing key for the realm of `env`; servers started
  // afterwards sign with it. Returns its kid.
  static Result<std::string> roll_over_key(Store& store, CaKeyring& keyring, Environment env,
                                           const std::string& actor);

  // POST …/token with the form fields, from `remote_address` (wrong
  // passwords are throttled per user name and address, as the portal's).
  // Hashes passwords: call it from the worker pool.
  TokenAnswer token(const Realm& realm, const std::map<std::string, std::string, std::less<>>& form,
                    const std::string& remote_address);
  // POST …/logout: revokes the refresh token's session.
  TokenAnswer logout(const Realm& realm,
                     const std::map<std::string, std::string, std::less<>>& form);
  // GET …/certs
  boost::json::object jwks(const Realm& realm) const;

  // Checks "Authorization: bearer <jwt>" for `env`. Errors: "token_invalido"
  // (missing, malformed, bad signature, expired) and "token_otro_ambiente".
  Result<ApiCaller> check_bearer(std::string_view authorization, Environment env) const;

 private:
  struct RealmKey {
    ossl::PKey key;
    std::string kid;
  };
  TokenAnswer issue(const Realm& realm, const ApiCredential& credential,
                    const std::string& session_id);
  std::string issuer(const Realm& realm) const;

  Store& store_;
  AccountService& accounts_;
  CaKeyring& keyring_;
  const Config& config_;
  // The signing key (back) and the one before it, if any; fixed after start().
  std::map<Environment, std::vector<RealmKey>> keys_;
};

}  // namespace llavero::service
