#include "xades/dates.h"

#include <ctime>
#include <string>

#include "xades/xades.h"
#include "xml/document.h"

namespace llavero::xades {

namespace {

constexpr int kCostaRicaOffset = -6 * 3600;  // no daylight saving time

// The number written with `n` digits at `at` of `s`, or nullopt.
std::optional<int> digits(const std::string& s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// The offset from UTC in seconds of what follows the seconds at `at` (an
// optional fraction, then "Z" or "±hh:mm", then nothing); nullopt if absent
// or malformed: a time without offset is ambiguous.
std::optional<int> offset_after(const std::string& s, std::size_t at) {
  if (at < s.size() && s[at] == '.') {
    ++at;
    const std::size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == start) return std::nullopt;
  }
  if (at < s.size() && s[at] == 'Z')
    return at + 1 == s.size() ? std::optional<int>(0) : std::nullopt;
  if (at >= s.size() || (s[at] != '+' && s[at] != '-')) return std::nullopt;
  auto oh = digits(s, at + 1, 2), om = digits(s, at + 4, 2);
  if (!oh || !om || at + 3 >= s.size() || s[at + 3] != ':' || *oh > 14 || *om > 59)
    return std::nullopt;
  if (at + 6 != s.size()) return std::nullopt;
  return (*oh * 3600 + *om * 60) * (s[at] == '-' ? -1 : 1);
}

}  // namespace

std::string costa_rica_time(UnixSeconds t) {
  std::time_t local = static_cast<std::time_t>(t + kCostaRicaOffset);
  std::tm tm{};
  gmtime_r(&local, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "-06:00";
}

std::optional<UnixSeconds> parse_date_time(std::string_view text) {
  const std::string s = xml::trimmed(text);
  auto year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2),
       hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second || s[4] != '-' || s[7] != '-' ||
      s[10] != 'T' || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (*month < 1 || *month > 12 || *day < 1 || *day > 31 || *hour > 23 || *minute > 59 ||
      *second > 60)
    return std::nullopt;
  const auto offset = offset_after(s, 19);
  if (!offset) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  return static_cast<UnixSeconds>(timegm(&tm)) - *offset;
}

std::optional<UnixSeconds> asn1_time_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<UnixSeconds>(timegm(&tm));
}

}  // namespace llavero::xades
