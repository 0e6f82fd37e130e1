// RS256 JSON Web Tokens (pki/jwt.h): what the token endpoint signs and the
// reception checks. A token verifies only whole and unchanged, under the key
// that signed it, and only as RS256.
#include "pki/jwt.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>

#include "util/base64.h"

namespace llavero {
namespace {

namespace json = boost::json;

const EVP_PKEY& key() {
  static const ossl::PKey k = std::move(*ossl::generate_rsa(2048));
  return *k;
}

const EVP_PKEY& other_key() {
  static const ossl::PKey k = std::move(*ossl::generate_rsa(2048));
  return *k;
}

const json::object& claims() {
  static const json::object c{{"sub", "cpf-01-0647-0958@stag.comprobanteselectronicos.go.cr"},
                              {"exp", 1900000000},
                              {"iss", "http://127.0.0.1:8080/auth/realms/rut-stag"},
                              {"nombre", "PEÑA"}};
  return c;
}

std::string b64url(std::string_view text) {
  return base64_encode(text, kBase64Url);
}

std::string signed_token() {
  auto token = sign_jwt(claims(), key(), "kid-1");
  EXPECT_TRUE(token.ok());
  return token ? *token : "";
}

std::vector<std::string> parts_of(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// A token with any header and payload text, whose signature is a genuine
// RSA-SHA256 signature by `k`: only the header's "alg" can make it invalid.
std::string rsa_signed(std::string_view header, std::string_view payload, const EVP_PKEY& k) {
  const std::string input = b64url(header) + "." + b64url(payload);
  ossl::Owned<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  EXPECT_EQ(
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&k)), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), nullptr, &length,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  std::string signature(length, '\0');
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                           reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  signature.resize(length);
  return input + "." + b64url(signature);
}

bool verifies(std::string_view token, const EVP_PKEY& k = key()) {
  auto claims = verify_jwt(token, k);
  if (!claims) {
    EXPECT_EQ(claims.error().code, "token_invalido");
  }
  return claims.ok();
}

// --- signing and verifying ---------------------------------------------------------

TEST(Jwt, SignedTokenVerifiesAndGivesBackItsClaims) {
  auto verified = verify_jwt(signed_token(), key());
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(*verified, claims());
}

TEST(Jwt, HeaderNamesRs256AndTheKeyId) {
  const auto parts = parts_of(signed_token());
  ASSERT_EQ(parts.size(), 3u);
  auto header = base64_decode_to_string(parts[0], kBase64Url);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(json::parse(*header).as_object(),
            (json::object{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}}));
  // No padding and no standard-alphabet characters anywhere.
  for (const auto& part : parts) EXPECT_EQ(part.find_first_of("+/="), std::string::npos) << part;
}

TEST(Jwt, SignatureIsRsaSha256OverHeaderDotPayload) {
  // An independent signer producing the same header and payload text makes
  // the same (deterministic PKCS#1 v1.5) signature.
  const std::string token = signed_token();
  const auto parts = parts_of(token);
  const std::string again = rsa_signed(*base64_decode_to_string(parts[0], kBase64Url),
                                       *base64_decode_to_string(parts[1], kBase64Url), key());
  EXPECT_EQ(again, token);
}

TEST(Jwt, TokenOfAnotherKeyIsRefused) {
  EXPECT_TRUE(verifies(signed_token(), key()));
  EXPECT_FALSE(verifies(signed_token(), other_key()));
  auto other = sign_jwt(claims(), other_key(), "kid-1");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(verifies(*other, key()));
}

// --- tampering ---------------------------------------------------------------------

TEST(Jwt, ChangedPayloadIsRefused) {
  auto parts = parts_of(signed_token());
  json::object changed = claims();
  changed["exp"] = 2100000000;
  parts[1] = b64url(json::serialize(changed));
  EXPECT_FALSE(verifies(parts[0] + "." + parts[1] + "." + parts[2]));
}

TEST(Jwt, ChangedHeaderIsRefused) {
  auto parts = parts_of(signed_token());
  parts[0] = b64url(R"({"alg":"RS256","typ":"JWT","kid":"kid-2"})");
  EXPECT_FALSE(verifies(parts[0] + "." + parts[1] + "." + parts[2]));
}

TEST(Jwt, ChangedSignatureIsRefused) {
  const std::string token = signed_token();
  const std::size_t signature_start = token.rfind('.') + 1;
  // A character well inside the signature: all six of its bits count.
  for (std::size_t at : {signature_start, signature_start + 100, token.size() - 10}) {
    std::string changed = token;
    changed[at] = changed[at] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verifies(changed)) << at;
  }
  EXPECT_FALSE(verifies(token.substr(0, signature_start)));           // signature removed
  EXPECT_FALSE(verifies(token.substr(0, token.size() - 4)));          // truncated
  EXPECT_FALSE(verifies(token.substr(0, signature_start) + "AAAA"));  // a short one
}

TEST(Jwt, PayloadOfAnotherTokenUnderThisSignatureIsRefused) {
  auto a = parts_of(signed_token());
  json::object other_claims = claims();
  other_claims["sub"] = "otro";
  auto b = parts_of(*sign_jwt(other_claims, key(), "kid-1"));
  EXPECT_TRUE(verifies(b[0] + "." + b[1] + "." + b[2]));
  EXPECT_FALSE(verifies(a[0] + "." + b[1] + "." + a[2]));
}

// --- algorithms --------------------------------------------------------------------

TEST(Jwt, Rs256HeaderWithAGenuineSignatureIsTheControl) {
  EXPECT_TRUE(verifies(rsa_signed(R"({"alg":"RS256"})", R"({"sub":"x"})", key())));
}

TEST(Jwt, AlgNoneIsRefused) {
  const std::string payload = b64url(json::serialize(claims()));
  EXPECT_FALSE(verifies(b64url(R"({"alg":"none","typ":"JWT"})") + "." + payload + "."));
  // Even with a signature the key would accept.
  EXPECT_FALSE(verifies(rsa_signed(R"({"alg":"none"})", R"({"sub":"x"})", key())));
}

TEST(Jwt, OtherAlgorithmsAreRefusedEvenWithAValidRsaSignature) {
  for (std::string_view header : {R"({"alg":"HS256"})", R"({"alg":"RS512"})", R"({"alg":"PS256"})",
                                  R"({"alg":"rs256"})", R"({"typ":"JWT"})", R"({"alg":256})",
                                  R"({"alg":null})", R"(["RS256"])", R"("RS256")", "no es json"})
    EXPECT_FALSE(verifies(rsa_signed(header, R"({"sub":"x"})", key()))) << header;
}

TEST(Jwt, HmacSignedWithThePublicKeyIsRefused) {
  // The classic confusion: HS256 keyed with the RSA public key's bytes.
  const std::string input =
      b64url(R"({"alg":"HS256","typ":"JWT"})") + "." + b64url(json::serialize(claims()));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  unsigned char* der = nullptr;
  const int der_length = i2d_PUBKEY(&key(), &der);
  ASSERT_GT(der_length, 0);
  HMAC(EVP_sha256(), der, der_length, reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &mac_length);
  OPENSSL_free(der);
  const std::string token =
      input + "." + b64url(std::string_view(reinterpret_cast<const char*>(mac), mac_length));
  EXPECT_FALSE(verifies(token));
}

TEST(Jwt, PayloadThatIsNotAJsonObjectIsRefused) {
  for (std::string_view payload : {R"(["sub"])", "42", R"("texto")", "{roto"})
    EXPECT_FALSE(verifies(rsa_signed(R"({"alg":"RS256"})", payload, key()))) << payload;
}

// --- malformed ---------------------------------------------------------------------

TEST(Jwt, WrongNumberOfPartsIsRefused) {
  const std::string token = signed_token();
  const auto parts = parts_of(token);
  EXPECT_FALSE(verifies(""));
  EXPECT_FALSE(verifies("."));
  EXPECT_FALSE(verifies(".."));
  EXPECT_FALSE(verifies(parts[0]));
  EXPECT_FALSE(verifies(parts[0] + "." + parts[1]));
  EXPECT_FALSE(verifies(token + "."));
  EXPECT_FALSE(verifies(token + "." + parts[2]));
}

TEST(Jwt, PartsThatAreNotBase64UrlAreRefused) {
  const std::string token = signed_token();
  auto parts = parts_of(token);
  const std::string padded_header = base64_encode(*base64_decode_to_string(parts[0], kBase64Url));
  ASSERT_NE(padded_header.find('='), std::string::npos);  // the header needs padding
  EXPECT_FALSE(verifies(padded_header + "." + parts[1] + "." + parts[2]));
  auto with = [&](std::size_t index, std::string text) {
    auto p = parts;
    p[index] = std::move(text);
    return p[0] + "." + p[1] + "." + p[2];
  };
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_FALSE(verifies(with(i, parts[i] + "+"))) << i;
    EXPECT_FALSE(verifies(with(i, parts[i] + "="))) << i;
    EXPECT_FALSE(verifies(with(i, " " + parts[i]))) << i;
    EXPECT_FALSE(verifies(with(i, ""))) << i;
  }
}

TEST(Jwt, OversizedTokenIsRefusedBeforeAnyWork) {
  json::object big = claims();
  big["relleno"] = std::string(9000, 'x');
  auto token = sign_jwt(big, key(), "kid-1");
  ASSERT_TRUE(token.ok());
  EXPECT_FALSE(verifies(*token));
  big["relleno"] = std::string(4000, 'x');  // the same shape, under the limit
  EXPECT_TRUE(verifies(*sign_jwt(big, key(), "kid-1")));
}

// --- JWK ---------------------------------------------------------------------------

TEST(Jwt, JwkCarriesTheModulusAndExponentInBase64Url) {
  auto jwk = rsa_jwk(key(), "kid-1");
  ASSERT_TRUE(jwk.ok());
  EXPECT_EQ(jwk->at("kid"), "kid-1");
  EXPECT_EQ(jwk->at("kty"), "RSA");
  EXPECT_EQ(jwk->at("alg"), "RS256");
  EXPECT_EQ(jwk->at("use"), "sig");
  EXPECT_EQ(jwk->at("e"), "AQAB");  // 65537
  const std::string n(jwk->at("n").as_string());
  auto modulus = base64_decode(n, kBase64Url);
  ASSERT_TRUE(modulus.has_value()) << n;
  ASSERT_EQ(modulus->size(), 256u);  // 2048 bits, no leading zero byte
  BIGNUM* expected = nullptr;
  ASSERT_EQ(EVP_PKEY_get_bn_param(&key(), OSSL_PKEY_PARAM_RSA_N, &expected), 1);
  ossl::Bignum owned(expected);
  ossl::Bignum from_jwk(BN_bin2bn(modulus->data(), static_cast<int>(modulus->size()), nullptr));
  EXPECT_EQ(BN_cmp(from_jwk.get(), expected), 0);
}

TEST(Jwt, JwkOfAnotherKeyHasAnotherModulus) {
  auto a = rsa_jwk(key(), "k");
  auto b = rsa_jwk(other_key(), "k");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->at("n"), b->at("n"));
}

TEST(Jwt, JwkOfANonRsaKeyIsAnError) {
  ossl::PKeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  ASSERT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
  ossl::PKey ed25519(raw);
  EXPECT_FALSE(rsa_jwk(*ed25519, "k").ok());
}

}  // namespace
}  // namespace llavero
