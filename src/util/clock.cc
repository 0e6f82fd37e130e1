#include "util/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace llavero {

UnixSeconds now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_utc(UnixSeconds t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<UnixSeconds> parse_utc(std::string_view text) {
  if (text.size() != 20 || text[19] != 'Z') return std::nullopt;
  std::tm tm{};
  int consumed = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 20)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<UnixSeconds>(timegm(&tm));
}

namespace {
std::tm costa_rica_tm(UnixSeconds t) {
  std::time_t tt = static_cast<std::time_t>(t + kCostaRicaOffsetSeconds);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return tm;
}
}  // namespace

std::string format_costa_rica(UnixSeconds t) {
  static constexpr const char* kMonths[] = {"enero",     "febrero", "marzo",     "abril",
                                            "mayo",      "junio",   "julio",     "agosto",
                                            "setiembre", "octubre", "noviembre", "diciembre"};
  const std::tm tm = costa_rica_tm(t);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d de %s de %d, %02d:%02d", tm.tm_mday, kMonths[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min);
  return buf;
}

std::string format_costa_rica_hour(UnixSeconds t) {
  const std::tm tm = costa_rica_tm(t);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%02d:%02d", tm.tm_hour, tm.tm_min);
  return buf;
}

}  // namespace llavero
