#include "pki/jwt.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "util/base64.h"
#include "util/error_codes.h"

namespace llavero {

namespace {

using MdCtx = ossl::Owned<EVP_MD_CTX, EVP_MD_CTX_free>;

Error invalid_token() {
  return make_error(errc::kTokenInvalido, "El token no es válido.");
}

std::string bignum_bytes(const BIGNUM* bn) {
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

namespace {

std::string base64url_encode(std::string_view bytes) {
  return base64_encode(bytes, kBase64Url);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return base64_decode_to_string(text, kBase64Url);
}

}  // namespace

Result<std::string> sign_jwt(const boost::json::object& claims, const EVP_PKEY& key,
                             std::string_view kid) {
  boost::json::object header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid}};
  const std::string signing_input = base64url_encode(boost::json::serialize(header)) + "." +
                                    base64url_encode(boost::json::serialize(claims));
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, const_cast<EVP_PKEY*>(&key)) !=
          1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    return ossl::internal_error("firmar JWT");
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    return ossl::internal_error("firmar JWT");
  signature.resize(length);
  return signing_input + "." + base64url_encode(signature);
}

Result<boost::json::object> verify_jwt(std::string_view token, const EVP_PKEY& key) {
  if (token.size() > 8192) return invalid_token();
  const std::size_t first = token.find('.');
  const std::size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos)
    return invalid_token();
  auto header_text = base64url_decode(token.substr(0, first));
  auto payload_text = base64url_decode(token.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(token.substr(second + 1));
  if (!header_text || !payload_text || !signature) return invalid_token();
  boost::system::error_code ec;
  boost::json::value header = boost::json::parse(*header_text, ec);
  if (ec || !header.is_object() || !header.as_object().contains("alg") ||
      header.as_object().at("alg") != "RS256")
    return invalid_token();
  MdCtx ctx(EVP_MD_CTX_new());
  const std::string_view signing_input = token.substr(0, second);
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           const_cast<EVP_PKEY*>(&key)) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                       signature->size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
    ERR_clear_error();
    return invalid_token();
  }
  boost::json::value payload = boost::json::parse(*payload_text, ec);
  if (ec || !payload.is_object()) return invalid_token();
  return payload.as_object();
}

Result<boost::json::object> rsa_jwk(const EVP_PKEY& key, std::string_view kid) {
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  if (EVP_PKEY_get_bn_param(&key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
      EVP_PKEY_get_bn_param(&key, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
    ossl::Bignum free_n(n), free_e(e);
    return ossl::internal_error("JWK");
  }
  ossl::Bignum owned_n(n), owned_e(e);
  return boost::json::object{{"kid", kid},
                             {"kty", "RSA"},
                             {"alg", "RS256"},
                             {"use", "sig"},
                             {"n", base64url_encode(bignum_bytes(n))},
                             {"e", base64url_encode(bignum_bytes(e))}};
}

}  // namespace llavero
