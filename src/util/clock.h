// Time as llavero stores and prints it: whole seconds since the Unix epoch,
// written as ISO-8601 UTC ("2026-11-26T23:59:11Z") so that text columns sort
// in time order on every database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llavero {

using UnixSeconds = std::int64_t;

UnixSeconds now_seconds();
std::string format_utc(UnixSeconds t);
std::optional<UnixSeconds> parse_utc(std::string_view text);

}  // namespace llavero
