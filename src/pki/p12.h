// The .p12 file a taxpayer downloads (docs/p12.md): private key, certificate with
// friendlyName and localKeyId, and the chain (issuing CA, root), protected by
// the PIN. Never RC2-40: both profiles open on OpenSSL 3 without -legacy.
#pragma once

#include <span>
#include <string>

#include "pki/openssl.h"
#include "pki/pin.h"

namespace llavero {

enum class P12Profile {
  kCompatible,  // 3DES (pbeWithSHA1And3-KeyTripleDES-CBC) bags, SHA-1 MAC
  kModerno,     // PBES2 / PBKDF2-HMAC-SHA256 / AES-256-CBC bags, SHA-256 MAC
};

Result<P12Profile> parse_p12_profile(std::string_view text);
std::string_view p12_profile_name(P12Profile profile);

struct P12Options {
  P12Profile profile = P12Profile::kCompatible;
  int iterations = 100000;  // for the bags' key derivation and the MAC
};

// `chain` is the issuing CA then the root.
Result<Bytes> build_p12(const EVP_PKEY& key, const X509& cert, std::span<const X509* const> chain,
                        const std::string& friendly_name, const Pin& pin,
                        const P12Options& options);

}  // namespace llavero
