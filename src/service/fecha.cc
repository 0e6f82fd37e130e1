#include "service/fecha.h"

#include <date/date.h>

#include <sstream>
#include <string>

namespace llavero::service {

std::optional<Fecha> parse_fecha(std::string_view text) {
  if (text.size() < 20 || text.size() > 64) return std::nullopt;
  std::string s(text);
  // RFC 3339 allows a lower-case t and z; "Z" is the zone +00:00.
  if (s[10] == 't') s[10] = 'T';
  if (s.back() == 'Z' || s.back() == 'z') s.replace(s.size() - 1, 1, "+00:00");
  // The offset is ±hh:mm or ±hhmm, two digits each: date::parse would also
  // take "-6".
  const auto digits = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  const std::size_t n = s.size();
  const bool colon = s[n - 6] == '+' || s[n - 6] == '-';
  const bool compact = s[n - 5] == '+' || s[n - 5] == '-';
  if (!(colon && digits(n - 5, 2) && s[n - 3] == ':' && digits(n - 2, 2)) &&
      !(compact && digits(n - 4, 4)))
    return std::nullopt;
  // %Ez reads ±hh:mm, %z reads ±hhmm; each format is tried on its own.
  for (const char* format : {"%Y-%m-%dT%H:%M:%S%Ez", "%Y-%m-%dT%H:%M:%S%z"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::nanoseconds> instant;
    std::chrono::minutes offset{};
    in >> date::parse(format, instant, offset);
    if (in.fail() || in.peek() != std::char_traits<char>::eof()) continue;
    if (offset > std::chrono::hours(14) || offset < -std::chrono::hours(14)) return std::nullopt;
    return Fecha{instant, offset};
  }
  return std::nullopt;
}

CivilDate costa_rica_date(std::chrono::sys_time<std::chrono::nanoseconds> instant) {
  const auto local = instant - std::chrono::hours(6);
  const date::year_month_day ymd{date::floor<date::days>(local)};
  return CivilDate{static_cast<int>(ymd.year()), static_cast<int>(unsigned(ymd.month())),
                   static_cast<int>(unsigned(ymd.day()))};
}

UnixSeconds unix_seconds(const Fecha& fecha) {
  return std::chrono::duration_cast<std::chrono::seconds>(fecha.instant.time_since_epoch()).count();
}

}  // namespace llavero::service
