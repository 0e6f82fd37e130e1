// The operators' second factor: time-based one-time passwords (RFC 6238,
// HMAC-SHA1, 30-second steps, 6 digits), what any authenticator app
// computes from the secret it scanned, and the QR code that carries the
// secret to it (an otpauth:// URI drawn as inline SVG, no JavaScript).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/clock.h"
#include "util/hash.h"

namespace llavero::service {

inline constexpr UnixSeconds kTotpStepSeconds = 30;
inline constexpr int kTotpDigits = 6;
inline constexpr std::size_t kTotpSecretBytes = 20;  // 160 bits, as RFC 4226 recommends

// The time step a moment falls in.
constexpr std::int64_t totp_step(UnixSeconds at) {
  return at / kTotpStepSeconds;
}

// The 6-digit code of a secret at a time step, with its leading zeros.
std::string totp_code(const Bytes& secret, std::int64_t step);

// RFC 4648 base32 without padding, as authenticator apps take the secret.
std::string base32(const Bytes& bytes);

// otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
std::string otpauth_uri(std::string_view issuer, std::string_view account, const Bytes& secret);

// `text` as a QR code in an SVG element (dark modules as one path), with an
// accessible name; empty if libqrencode could not encode it.
std::string qr_svg(std::string_view text, std::string_view label);

}  // namespace llavero::service
