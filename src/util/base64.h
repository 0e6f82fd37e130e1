// Base64 (RFC 4648), the one codec of the project. Each caller states what it
// accepts instead of carrying its own decoder:
//  - XML signatures: the standard alphabet, padded, with line breaks and
//    spaces inside (signers wrap SignatureValue and certificates);
//  - the reception: the standard alphabet, padded, nothing else;
//  - OCSP over GET: either alphabet, padding optional (clients differ);
//  - JWTs and opaque tokens: the URL-safe alphabet without padding.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llavero {

enum class Base64Alphabet { kStandard, kUrlSafe, kEither };
enum class Base64Padding { kRequired, kOptional, kForbidden };

struct Base64Format {
  Base64Alphabet alphabet = Base64Alphabet::kStandard;
  Base64Padding padding = Base64Padding::kRequired;
  bool skip_whitespace = false;  // ' ', '\t', '\r', '\n' anywhere are ignored
};

inline constexpr Base64Format kBase64Standard{};
inline constexpr Base64Format kBase64Url{Base64Alphabet::kUrlSafe, Base64Padding::kForbidden,
                                         false};

// Encodes with the format's alphabet (kEither encodes as standard); padded
// unless the format forbids padding.
std::string base64_encode(std::span<const std::uint8_t> data, Base64Format format = {});
std::string base64_encode(std::string_view data, Base64Format format = {});

// The decoded bytes, or nullopt when `text` is empty or does not follow
// `format`: a character outside the alphabet, '=' anywhere but the end or
// more than two of them, missing or forbidden padding, or a length no
// encoder produces.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text,
                                                       Base64Format format = {});
std::optional<std::string> base64_decode_to_string(std::string_view text, Base64Format format = {});

}  // namespace llavero
