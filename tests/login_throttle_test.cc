// The throttling of wrong passwords (service/login_throttle.h) with the
// clock in the test's hands: what a taxpayer, an accounting office behind one
// address and a stranger who knows a cédula each meet.
#include "service/login_throttle.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace llavero::service {
namespace {

constexpr UnixSeconds kT0 = 1'800'000'000;
constexpr const char* kOwner = "203.0.113.7";
constexpr const char* kStranger = "198.51.100.9";

// `times` wrong passwords of `account` from `address` at `at`; the last one's outcome.
LoginThrottle::Failure fail(LoginThrottle& t, const std::string& account,
                            const std::string& address, int times, UnixSeconds at) {
  LoginThrottle::Failure last;
  for (int i = 0; i < times; ++i) last = t.failure(account, address, at);
  return last;
}

TEST(LoginThrottle, FourFailuresAreFreeAndTheFifthStartsAWait) {
  LoginThrottle t;
  for (int i = 1; i <= 4; ++i) {
    const auto f = t.failure("106470958", kOwner, kT0);
    EXPECT_EQ(f.free_left, 5 - i);
    EXPECT_FALSE(f.wait_until) << i;
    EXPECT_FALSE(t.wait_until("106470958", kOwner, kT0)) << i;
  }
  const auto fifth = t.failure("106470958", kOwner, kT0);
  ASSERT_TRUE(fifth.wait_until);
  EXPECT_EQ(*fifth.wait_until, kT0 + 30);
  EXPECT_EQ(t.wait_until("106470958", kOwner, kT0 + 29), kT0 + 30);
  EXPECT_FALSE(t.wait_until("106470958", kOwner, kT0 + 30));
}

TEST(LoginThrottle, EachFailureAfterTheWaitDoublesItUpToFifteenMinutes) {
  LoginThrottle t;
  UnixSeconds now = kT0;
  fail(t, "106470958", kOwner, 4, now);
  std::vector<UnixSeconds> waits;
  for (int i = 0; i < 8; ++i) {
    const auto f = t.failure("106470958", kOwner, now);
    ASSERT_TRUE(f.wait_until);
    waits.push_back(*f.wait_until - now);
    now = *f.wait_until;  // tries again as soon as allowed
  }
  EXPECT_EQ(waits, (std::vector<UnixSeconds>{30, 60, 120, 240, 480, 900, 900, 900}));
}

TEST(LoginThrottle, AStrangersFailuresNeverHoldTheOwnerBack) {
  LoginThrottle t;
  fail(t, "106470958", kStranger, 50, kT0);
  EXPECT_TRUE(t.wait_until("106470958", kStranger, kT0));
  EXPECT_FALSE(t.wait_until("106470958", kOwner, kT0));
  EXPECT_EQ(t.free_left("106470958", kOwner, kT0), 5);
}

TEST(LoginThrottle, AnOfficeBehindOneAddressIsHeldOnlyPerAccount) {
  // Ten colleagues each mistype twice: nobody waits.
  LoginThrottle t;
  for (int colleague = 0; colleague < 10; ++colleague)
    fail(t, fmt::format("10647095{}", colleague), kOwner, 2, kT0);
  for (int colleague = 0; colleague < 10; ++colleague)
    EXPECT_FALSE(t.wait_until(fmt::format("10647095{}", colleague), kOwner, kT0)) << colleague;
  // One colleague who fails five times waits alone.
  fail(t, "106470950", kOwner, 3, kT0);
  EXPECT_TRUE(t.wait_until("106470950", kOwner, kT0));
  EXPECT_FALSE(t.wait_until("106470951", kOwner, kT0));
}

TEST(LoginThrottle, AnAddressTryingManyAccountsWaitsFromItsHundredthFailure) {
  LoginThrottle t;
  for (int i = 0; i < 99; ++i) t.failure(fmt::format("1{:08}", i), kStranger, kT0);
  EXPECT_FALSE(t.wait_until("999999999", kStranger, kT0));
  const auto hundredth = t.failure("100000099", kStranger, kT0);
  ASSERT_TRUE(hundredth.wait_until);
  EXPECT_TRUE(t.wait_until("999999999", kStranger, kT0)) << "any account, from that address";
  EXPECT_FALSE(t.wait_until("999999999", kOwner, kT0)) << "not from another address";
}

TEST(LoginThrottle, ARightPasswordStartsThatPairOver) {
  LoginThrottle t;
  fail(t, "106470958", kOwner, 4, kT0);
  fail(t, "106470958", kStranger, 4, kT0);
  t.success("106470958", kOwner);
  EXPECT_EQ(t.free_left("106470958", kOwner, kT0), 5);
  EXPECT_EQ(t.free_left("106470958", kStranger, kT0), 1) << "only the pair that succeeded";
}

TEST(LoginThrottle, FailuresAreForgottenAfterADay) {
  LoginThrottle t;
  fail(t, "106470958", kOwner, 4, kT0);
  EXPECT_EQ(t.free_left("106470958", kOwner, kT0 + 24 * 3600 - 1), 1);
  EXPECT_EQ(t.free_left("106470958", kOwner, kT0 + 24 * 3600), 5);
}

TEST(LoginThrottle, ManyAddressesAgainstOneAccountWarnTheOperatorOnce) {
  LoginThrottle t;
  int alarms = 0;
  for (int i = 0; i < 40; ++i)
    alarms += t.failure("106470958", fmt::format("198.51.100.{}", i % 4), kT0 + i).alarm;
  EXPECT_EQ(alarms, 1);
  // Many failures from one address alone are that address's wait, not an alarm.
  LoginThrottle single;
  for (int i = 0; i < 40; ++i) EXPECT_FALSE(single.failure("106470958", kOwner, kT0 + i).alarm);
  // An hour after the first failure, a new window and a new warning.
  int later = 0;
  for (int i = 0; i < 40; ++i)
    later += t.failure("106470958", fmt::format("198.51.100.{}", i % 4), kT0 + 3600 + i).alarm;
  EXPECT_EQ(later, 1);
}

TEST(LoginThrottle, AskingCostsNothing) {
  LoginThrottle t;
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(t.wait_until("106470958", kOwner, kT0));
  EXPECT_EQ(t.free_left("106470958", kOwner, kT0), 5);
}

TEST(LoginThrottle, AFullTableKeepsEveryRunningWait) {
  LoginThrottleSettings settings;
  settings.max_keys = 50;
  LoginThrottle t(settings);
  fail(t, "106470958", kStranger, 5, kT0);
  ASSERT_TRUE(t.wait_until("106470958", kStranger, kT0 + 1));
  for (int i = 0; i < 500; ++i)
    t.failure(fmt::format("2{:08}", i), fmt::format("10.0.{}.{}", i / 250, i % 250), kT0 + 1);
  EXPECT_TRUE(t.wait_until("106470958", kStranger, kT0 + 1))
      << "flooding the table must not end a wait";
}

}  // namespace
}  // namespace llavero::service
