// The rate limiter's sliding windows and the budgets' reservations, with an injected clock: the
// time is an argument of every call, so each case is exact and independent of the machine.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "governance/budget_store.hpp"
#include "governance/rate_limiter.hpp"

namespace llmux::governance {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

router::SteadyTime at(milliseconds t) { return router::SteadyTime(std::chrono::duration_cast<router::SteadyClock::duration>(t + std::chrono::hours(1))); }

// 2026-12-01 + offset, UTC.
router::WallTime utc(int day_of_month, int hour, int minute = 0, int second = 0, int month = 12) {
  using namespace std::chrono;
  return sys_days(year(2026) / month / day_of_month) + hours(hour) + minutes(minute) + std::chrono::seconds(second);
}

TEST(SlidingWindow, AdmitsUpToTheLimitAndNoMoreWithinTheWindow) {
  SlidingWindow w(seconds(1));
  uint32_t bucket = 0;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(w.try_add(1, 10, at(milliseconds(500 + i * 1000)), bucket)) << i;
  // The window holds the ten (seconds 0..9); at 59.9 s the first is still in it.
  EXPECT_FALSE(w.try_add(1, 10, at(milliseconds(59'900)), bucket));
  EXPECT_EQ(w.count(at(milliseconds(59'900))), 10u);
  // Retry-After: the first admission (second 0) leaves when second 60 begins: 100 ms from 59.9 s.
  EXPECT_EQ(w.wait_for(1, 10, at(milliseconds(59'900))), milliseconds(100));
  EXPECT_TRUE(w.try_add(1, 10, at(milliseconds(60'000)), bucket));
  EXPECT_FALSE(w.try_add(1, 10, at(milliseconds(60'999)), bucket));
  EXPECT_EQ(w.wait_for(1, 10, at(milliseconds(60'999))), milliseconds(1));
}

TEST(SlidingWindow, NeverAdmitsMoreThanTheLimitInAnySixtyAlignedSeconds) {
  SlidingWindow w(seconds(1));
  uint32_t bucket = 0;
  std::vector<int> admitted_at;  // second of each admission
  for (int ms = 0; ms < 300'000; ms += 250)
    if (w.try_add(1, 7, at(milliseconds(ms)), bucket)) admitted_at.push_back(ms / 1000);
  for (int start = 0; start + 60 <= 300; ++start) {
    int n = 0;
    for (int s : admitted_at) n += s >= start && s < start + 60;
    EXPECT_LE(n, 7) << "window starting at second " << start;
  }
  // Steady offered load: exactly 7 per 60 s over 300 s.
  EXPECT_EQ(admitted_at.size(), 35u);
}

TEST(SlidingWindow, WaitIsTheTimeUntilEnoughOldBucketsLeave) {
  SlidingWindow w(seconds(1));
  uint32_t bucket = 0;
  ASSERT_TRUE(w.try_add(60, 100, at(milliseconds(1'000)), bucket));   // second 1
  ASSERT_TRUE(w.try_add(30, 100, at(milliseconds(20'000)), bucket));  // second 20
  // 50 more need 40 freed: the 60 of second 1 leave at second 61.
  EXPECT_EQ(w.wait_for(50, 100, at(milliseconds(30'500))), milliseconds(30'500));
  EXPECT_EQ(w.wait_for(10, 100, at(milliseconds(30'500))), milliseconds(0));
}

TEST(SlidingWindow, AdjustCorrectsAnEstimateWhileItsBucketIsInTheWindow) {
  uint32_t first = 0, second = 0;
  SlidingWindow v(seconds(1));
  ASSERT_TRUE(v.try_add(80, 100, at(milliseconds(0)), first));
  EXPECT_FALSE(v.try_add(30, 100, at(milliseconds(10)), second));
  v.adjust(first, -60);  // the real usage was 20
  EXPECT_TRUE(v.try_add(30, 100, at(milliseconds(10)), second));
  EXPECT_EQ(v.count(at(milliseconds(10))), 50u);
  v.adjust(second, 40);  // real 70
  EXPECT_EQ(v.count(at(milliseconds(10))), 90u);
  // Long after, a correction of a bucket gone changes nothing.
  v.adjust(first, 1000);
  EXPECT_EQ(v.count(at(milliseconds(120'000))), 0u);
  EXPECT_TRUE(v.try_add(100, 100, at(milliseconds(120'000)), first));
}

TEST(SlidingWindow, ConcurrentAddersNeverOvershoot) {
  SlidingWindow w(seconds(1));
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      uint32_t bucket = 0;
      for (int i = 0; i < 5000; ++i)
        if (w.try_add(1, 1000, at(milliseconds(5)), bucket)) admitted.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 1000);
}

TEST(RateLimiter, RefusesWithTheLimitNamedAndUndoesWhatItTook) {
  LocalRateLimiter limiter;
  RateLimits limits;
  limits.rpm = 2;
  limits.tpm = 100;
  limits.concurrent = 2;
  LimitTicket a, b, c;
  EXPECT_TRUE(limiter.acquire(limits, 40, at(milliseconds(0)), a).admitted);
  auto refused = limiter.acquire(limits, 70, at(milliseconds(1)), b);  // 40 + 70 > 100
  EXPECT_FALSE(refused.admitted);
  EXPECT_STREQ(refused.limit, "tpm");
  EXPECT_EQ(limiter.requests_last_minute(at(milliseconds(1))), 1u);  // the refused one's request undone
  EXPECT_EQ(limiter.in_flight(), 1u);
  limiter.settle(a, 10);  // real usage 10: room for 70 now
  EXPECT_EQ(limiter.in_flight(), 0u);
  EXPECT_TRUE(limiter.acquire(limits, 70, at(milliseconds(2)), b).admitted);
  auto rpm = limiter.acquire(limits, 1, at(milliseconds(3)), c);
  EXPECT_STREQ(rpm.limit, "rpm");
  EXPECT_EQ(rpm.retry_after, milliseconds(60'000 - 3));
}

TEST(RateLimiter, ConcurrencyIsHeldUntilSettled) {
  LocalRateLimiter limiter;
  RateLimits limits;
  limits.concurrent = 1;
  LimitTicket a, b;
  EXPECT_TRUE(limiter.acquire(limits, 0, at(milliseconds(0)), a).admitted);
  auto refused = limiter.acquire(limits, 0, at(milliseconds(0)), b);
  EXPECT_STREQ(refused.limit, "concurrent");
  EXPECT_EQ(refused.retry_after, kConcurrencyRetry);
  limiter.settle(a, 0);
  EXPECT_TRUE(limiter.acquire(limits, 0, at(milliseconds(0)), b).admitted);
}

TEST(Budget, ReservationsNeverPassTheCapTogether) {
  LocalBudgetStore store;
  BudgetLimits limits;
  limits.daily_micro_usd = 100;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  std::vector<BudgetReservation> held(400);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        if (store.reserve(limits, 10, utc(1, 12), held[t * 100 + i]).admitted) admitted.fetch_add(1);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 10);
  EXPECT_EQ(store.spent(BudgetPeriod::daily, utc(1, 12)), 100);
}

TEST(Budget, SettlementReplacesTheReservationByTheRealCost) {
  LocalBudgetStore store;
  BudgetLimits limits;
  limits.daily_micro_usd = 100;
  BudgetReservation r;
  ASSERT_TRUE(store.reserve(limits, 80, utc(1, 12), r).admitted);
  BudgetReservation r2;
  auto refused = store.reserve(limits, 30, utc(1, 12), r2);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.period, BudgetPeriod::daily);
  EXPECT_EQ(refused.resets_at, utc(2, 0));
  store.settle(limits, r, 25, utc(1, 12));
  EXPECT_EQ(store.spent(BudgetPeriod::daily, utc(1, 12)), 25);
  EXPECT_TRUE(store.reserve(limits, 30, utc(1, 12), r2).admitted);
}

TEST(Budget, PeriodsResetAtUtcDayAndMonthBoundaries) {
  LocalBudgetStore store;
  BudgetLimits limits;
  limits.daily_micro_usd = 100;
  limits.monthly_micro_usd = 150;
  BudgetReservation r;
  ASSERT_TRUE(store.reserve(limits, 100, utc(30, 23, 59, 59, 11), r).admitted);
  store.settle(limits, r, 100, utc(30, 23, 59, 59, 11));
  EXPECT_FALSE(store.reserve(limits, 1, utc(30, 23, 59, 59, 11), r).admitted);
  // A new day and a new month: both counters start from zero.
  EXPECT_TRUE(store.reserve(limits, 100, utc(1, 0, 0, 0, 12), r).admitted);
  store.settle(limits, r, 100, utc(1, 0, 0, 0, 12));
  // The next day the daily cap admits again, the monthly one (150) does not.
  auto refused = store.reserve(limits, 60, utc(2, 0), r);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.period, BudgetPeriod::monthly);
  EXPECT_EQ(refused.resets_at, router::WallTime(std::chrono::sys_days(std::chrono::year(2027) / 1 / 1)));
  EXPECT_EQ(store.spent(BudgetPeriod::daily, utc(2, 0)), 0);  // the refused one is not kept
  EXPECT_TRUE(store.reserve(limits, 50, utc(2, 0), r).admitted);
}

TEST(Budget, AReservationSettledAfterMidnightCountsInTheNewDay) {
  LocalBudgetStore store;
  BudgetLimits limits;
  limits.daily_micro_usd = 100;
  BudgetReservation r;
  ASSERT_TRUE(store.reserve(limits, 90, utc(1, 23, 59, 59), r).admitted);
  store.settle(limits, r, 40, utc(2, 0, 0, 1));
  EXPECT_EQ(store.spent(BudgetPeriod::daily, utc(2, 0, 0, 1)), 40);
}

TEST(Budget, AlertsOncePerPeriodWhenTheThresholdIsCrossed) {
  LocalBudgetStore store;
  BudgetLimits limits;
  limits.daily_micro_usd = 100;
  limits.alert_threshold = 0.5;
  BudgetReservation r;
  auto spend = [&](int64_t micro, router::WallTime when) {
    EXPECT_TRUE(store.reserve(limits, micro, when, r).admitted);
    return store.settle(limits, r, micro, when);
  };
  EXPECT_FALSE(spend(40, utc(1, 10)).crossed);
  auto crossed = spend(20, utc(1, 11));
  EXPECT_TRUE(crossed.crossed);
  EXPECT_EQ(crossed.used_micro, 60);
  EXPECT_EQ(crossed.cap_micro, 100);
  EXPECT_FALSE(spend(20, utc(1, 12)).crossed);  // once per period
  EXPECT_TRUE(spend(60, utc(2, 1)).crossed);    // the next day again
}

TEST(Budget, SpendFromTheLedgerCountsAgainstTheCap) {
  LocalBudgetStore store;
  BudgetLimits limits;
  limits.daily_micro_usd = 100;
  store.set_spent(95, 95, utc(1, 8));
  BudgetReservation r;
  EXPECT_FALSE(store.reserve(limits, 10, utc(1, 8), r).admitted);
  EXPECT_TRUE(store.reserve(limits, 5, utc(1, 8), r).admitted);
}

}  // namespace
}  // namespace llmux::governance
