// SHA-256 and hex helpers shared by the store (audit chain) and the PKI.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace llavero {

using Bytes = std::vector<std::uint8_t>;

Bytes sha256(std::span<const std::uint8_t> data);
inline Bytes sha256(std::string_view text) {
  return sha256(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}
std::string to_hex(std::span<const std::uint8_t> data);  // lower case

}  // namespace llavero
