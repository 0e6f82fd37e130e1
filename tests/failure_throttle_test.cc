// The in-memory failure counter (util/throttle.h) behind the portal's limit
// per address (10 in 15 minutes) and the token endpoint's limit per API user
// (5 in 15 minutes), with the clock in the test's hands.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "util/throttle.h"

namespace llavero {
namespace {

constexpr UnixSeconds kT0 = 1'800'000'000;
constexpr UnixSeconds kWindow = 15 * 60;

void fail(FailureThrottle& throttle, const std::string& key, int times, UnixSeconds at) {
  for (int i = 0; i < times; ++i) throttle.failure(key, at);
}

TEST(FailureThrottle, ReachingTheLimitThrottlesAndNotBefore) {
  FailureThrottle throttle(5, kWindow);
  EXPECT_FALSE(throttle.throttled("u", kT0));
  for (int i = 0; i < 4; ++i) {
    throttle.failure("u", kT0 + i);
    EXPECT_FALSE(throttle.throttled("u", kT0 + i)) << i;
  }
  throttle.failure("u", kT0 + 4);
  EXPECT_TRUE(throttle.throttled("u", kT0 + 4));
}

TEST(FailureThrottle, AskingDoesNotCount) {
  FailureThrottle throttle(2, kWindow);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(throttle.throttled("u", kT0));
  throttle.failure("u", kT0);
  EXPECT_FALSE(throttle.throttled("u", kT0));
}

TEST(FailureThrottle, EachKeyCountsAlone) {
  FailureThrottle throttle(3, kWindow);
  fail(throttle, "10.0.0.1", 3, kT0);
  fail(throttle, "10.0.0.2", 2, kT0);
  EXPECT_TRUE(throttle.throttled("10.0.0.1", kT0));
  EXPECT_FALSE(throttle.throttled("10.0.0.2", kT0));
  EXPECT_FALSE(throttle.throttled("10.0.0.10", kT0));
  EXPECT_FALSE(throttle.throttled("", kT0));
}

TEST(FailureThrottle, TheWaitEndsWhenTheWindowOfTheFirstFailureHasPassed) {
  FailureThrottle throttle(5, kWindow);
  throttle.failure("u", kT0);
  fail(throttle, "u", 4, kT0 + 600);  // the limit reached ten minutes in
  EXPECT_TRUE(throttle.throttled("u", kT0 + 600));
  EXPECT_TRUE(throttle.throttled("u", kT0 + kWindow));
  EXPECT_FALSE(throttle.throttled("u", kT0 + kWindow + 1));
  // And the count starts again from nothing.
  fail(throttle, "u", 4, kT0 + kWindow + 2);
  EXPECT_FALSE(throttle.throttled("u", kT0 + kWindow + 2));
  throttle.failure("u", kT0 + kWindow + 3);
  EXPECT_TRUE(throttle.throttled("u", kT0 + kWindow + 3));
}

TEST(FailureThrottle, FailuresFartherApartThanTheWindowDoNotAddUp) {
  FailureThrottle throttle(3, kWindow);
  for (int i = 0; i < 10; ++i) {
    throttle.failure("u", kT0 + i * (kWindow + 1));
    EXPECT_FALSE(throttle.throttled("u", kT0 + i * (kWindow + 1))) << i;
  }
}

TEST(FailureThrottle, AWaitingKeyKeepsWaitingWhileItKeepsFailing) {
  // Failures while throttled still belong to the same window: they do not
  // extend it, and they do not end it either.
  FailureThrottle throttle(2, kWindow);
  fail(throttle, "u", 2, kT0);
  fail(throttle, "u", 5, kT0 + kWindow - 1);
  EXPECT_TRUE(throttle.throttled("u", kT0 + kWindow));
  EXPECT_FALSE(throttle.throttled("u", kT0 + kWindow + 1));
}

TEST(FailureThrottle, PastItsMemoryBoundEveryCountStartsAgain) {
  FailureThrottle throttle(2, kWindow, 3);
  fail(throttle, "a", 2, kT0);
  fail(throttle, "b", 1, kT0);
  fail(throttle, "c", 1, kT0);
  throttle.failure("a", kT0);  // a known key does not make room
  EXPECT_TRUE(throttle.throttled("a", kT0));
  throttle.failure("d", kT0);  // a fourth key does
  EXPECT_FALSE(throttle.throttled("a", kT0));
  throttle.failure("d", kT0);
  EXPECT_TRUE(throttle.throttled("d", kT0));
}

TEST(FailureThrottle, FailuresFromManyThreadsAreAllCounted) {
  constexpr int kThreads = 4, kEach = 250;
  FailureThrottle exactly(kThreads * kEach, kWindow);
  FailureThrottle one_more(kThreads * kEach + 1, kWindow);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        exactly.failure("u", kT0);
        one_more.failure("u", kT0);
        (void)exactly.throttled("u", kT0);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(exactly.throttled("u", kT0));
  EXPECT_FALSE(one_more.throttled("u", kT0));
}

}  // namespace
}  // namespace llavero
