#include "util/base64.h"

namespace llavero {

namespace {

constexpr char kStandardAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlSafeAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// The 6-bit value of `c` in `alphabet`, or -1.
int sextet(char c, Base64Alphabet alphabet) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  const bool standard = alphabet != Base64Alphabet::kUrlSafe;
  const bool url_safe = alphabet != Base64Alphabet::kStandard;
  if ((c == '+' && standard) || (c == '-' && url_safe)) return 62;
  if ((c == '/' && standard) || (c == '_' && url_safe)) return 63;
  return -1;
}

bool is_whitespace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

template <typename Out>
bool decode_into(std::string_view text, Base64Format format, Out& out) {
  out.reserve(text.size() / 4 * 3 + 3);
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t symbols = 0;  // alphabet characters seen
  std::size_t padding = 0;  // '=' seen (only at the end)
  for (char c : text) {
    if (format.skip_whitespace && is_whitespace(c)) continue;
    if (c == '=') {
      if (format.padding == Base64Padding::kForbidden) return false;
      ++padding;
      continue;
    }
    if (padding > 0) return false;  // data after padding
    const int v = sextet(c, format.alphabet);
    if (v < 0) return false;
    ++symbols;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<typename Out::value_type>((buffer >> bits) & 0xff));
    }
  }
  if (symbols == 0 || symbols % 4 == 1 || padding > 2) return false;
  const std::size_t missing = (4 - symbols % 4) % 4;
  if (padding != 0 && padding != missing) return false;
  if (format.padding == Base64Padding::kRequired && padding != missing) return false;
  return true;
}

}  // namespace

std::string base64_encode(std::span<const std::uint8_t> data, Base64Format format) {
  const char* alphabet =
      format.alphabet == Base64Alphabet::kUrlSafe ? kUrlSafeAlphabet : kStandardAlphabet;
  const bool pad = format.padding != Base64Padding::kForbidden;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const std::uint32_t v = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i < data.size()) {
    std::uint32_t v = data[i] << 16;
    const bool two = i + 1 < data.size();
    if (two) v |= data[i + 1] << 8;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (two) out += alphabet[(v >> 6) & 63];
    if (pad) out += two ? "=" : "==";
  }
  return out;
}

std::string base64_encode(std::string_view data, Base64Format format) {
  return base64_encode(std::span<const std::uint8_t>(
                           reinterpret_cast<const std::uint8_t*>(data.data()), data.size()),
                       format);
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text, Base64Format format) {
  std::vector<std::uint8_t> out;
  if (!decode_into(text, format, out)) return std::nullopt;
  return out;
}

std::optional<std::string> base64_decode_to_string(std::string_view text, Base64Format format) {
  std::string out;
  if (!decode_into(text, format, out)) return std::nullopt;
  return out;
}

}  // namespace llavero
