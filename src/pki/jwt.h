// JSON Web Tokens signed with RS256 (RFC 7515/7519), as Keycloak issues
// them, and the JWK form of their public key for the realm's JWKS.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "pki/openssl.h"

namespace llavero {

// header.payload.signature with {"alg":"RS256","typ":"JWT","kid":kid}.
Result<std::string> sign_jwt(const boost::json::object& claims, const EVP_PKEY& key,
                             std::string_view kid);

// The claims of a token whose RS256 signature `key` verifies; the caller
// checks exp, iss and the rest. Errors: "token_invalido".
Result<boost::json::object> verify_jwt(std::string_view token, const EVP_PKEY& key);

// {"kid","kty":"RSA","alg":"RS256","use":"sig","n","e"} for an RSA key.
Result<boost::json::object> rsa_jwk(const EVP_PKEY& key, std::string_view kid);

}  // namespace llavero
