// The request target and form bodies: percent-decoding, the query string,
// application/x-www-form-urlencoded. A decoded form re-encoded must decode
// to the same fields.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/http.h"

namespace {
std::string encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)llavero::http::target_path(text);
  (void)llavero::http::percent_decode(text);
  (void)llavero::http::safe_target(text);
  auto form = llavero::http::parse_form(text);
  if (!form) return 0;
  std::string again;
  for (const auto& [key, value] : *form) {
    if (!again.empty()) again += '&';
    again += encode(key) + "=" + encode(value);
  }
  auto reparsed = llavero::http::parse_form(again);
  if (!reparsed || *reparsed != *form) std::abort();
  return 0;
}
