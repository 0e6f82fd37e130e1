// The `fecha` of a reception envelope and the FechaEmision of a comprobante:
// RFC 3339 date-times as integrators write them (2026-11-26T10:00:00-06:00,
// …-0600 as Anexo 3's own example, …Z, with a fraction of a second of any
// length), parsed with Howard Hinnant's date library (the model of C++20's
// std::chrono::parse, which GCC 12 does not ship yet). A time without a zone
// names no instant and is refused.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "util/clock.h"

namespace llavero::service {

struct Fecha {
  std::chrono::sys_time<std::chrono::nanoseconds> instant;  // UTC
  std::chrono::minutes offset{0};                           // as written
};

std::optional<Fecha> parse_fecha(std::string_view text);

// The calendar date in Costa Rica (UTC−6 all year since 1992) of an instant:
// what the clave's DDMMAA means.
struct CivilDate {
  int year = 0, month = 0, day = 0;
  bool operator==(const CivilDate&) const = default;
};
CivilDate costa_rica_date(std::chrono::sys_time<std::chrono::nanoseconds> instant);

UnixSeconds unix_seconds(const Fecha& fecha);

}  // namespace llavero::service
