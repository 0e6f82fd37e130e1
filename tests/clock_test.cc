// The times a person reads (portal pages, the PDF of a comprobante, "try
// again at 15:31") are Costa Rica's: UTC−6 all year (util/clock.h).
#include "util/clock.h"

#include <gtest/gtest.h>

namespace llavero {
namespace {

// 2026-11-26T16:00:00Z
constexpr UnixSeconds kAfternoonUtc = 1795708800;

TEST(CostaRicaTime, APersonReadsTheHourOfCostaRica) {
  ASSERT_EQ(format_utc(kAfternoonUtc), "2026-11-26T16:00:00Z");
  EXPECT_EQ(format_costa_rica(kAfternoonUtc), "26 de noviembre de 2026, 10:00");
  EXPECT_EQ(format_costa_rica_hour(kAfternoonUtc + 31 * 60), "10:31");
}

TEST(CostaRicaTime, PastMidnightUtcIsStillTheDayBeforeInCostaRica) {
  // 01:30 UTC on the 1st of January is still New Year's Eve in Costa Rica.
  auto t = parse_utc("2027-01-01T01:30:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_costa_rica(*t), "31 de diciembre de 2026, 19:30");
  EXPECT_EQ(format_costa_rica_hour(*t), "19:30");
}

}  // namespace
}  // namespace llavero
