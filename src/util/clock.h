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

// Costa Rica keeps UTC−6 all year (no daylight saving time since 1992), so
// its time is a fixed offset, with no time-zone database to go stale.
inline constexpr UnixSeconds kCostaRicaOffsetSeconds = -6 * 3600;

// A time as a person in Costa Rica reads it: "1 de diciembre de 2026, 15:31".
std::string format_costa_rica(UnixSeconds t);
// Only the hour, "15:31", for a time later the same day.
std::string format_costa_rica_hour(UnixSeconds t);

}  // namespace llavero
