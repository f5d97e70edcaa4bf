// Budgets of one subject (a provider or a gateway key): spend caps per UTC day and per UTC month,
// in micro-USD. README "Rate limits and budgets".
//
// Reservation. Before a call its worst-case cost is reserved with one compare-exchange on the
// period's counter (spent + reserved, in micro-USD): a reservation that would pass the cap is
// refused, so concurrent requests can never reserve more than the cap together. After the call
// settle() replaces the reservation by the real cost. Spend therefore exceeds a cap only by what
// real costs exceed their reservations, which the worst case (prompt estimate + max_tokens, or
// kDefaultOutputReserve, at the model's prices) rules out unless a provider bills more tokens than
// it was allowed to produce. Amounts are rounded up to the micro-USD (at most 1 µUSD per request).
//
// Periods: a counter carries the UTC day (or month) it counts; the first reservation or
// settlement of a new period starts it from zero. A settlement of a reservation made in the
// previous period counts its real cost in the current one.
//
// Thread-safety: every member may be called from any thread; no locks (atomics only).
#pragma once

#include <atomic>
#include <cstdint>

#include "llmux/config.hpp"
#include "router/clock.hpp"

namespace llmux::governance {

// Output tokens a request without max_tokens is assumed to produce, for its reservation.
inline constexpr int64_t kDefaultOutputReserve = 4096;

enum class BudgetPeriod : uint8_t { daily, monthly };

// UTC day (days since 1970-01-01) and month (months since 1970-01) of a time.
int64_t utc_day(router::WallTime now) noexcept;
int64_t utc_month(router::WallTime now) noexcept;
// When the current period of `now` ends (the next UTC midnight, or the first of next month).
router::WallTime period_end(BudgetPeriod period, router::WallTime now) noexcept;
router::WallTime period_start(BudgetPeriod period, router::WallTime now) noexcept;

// One period's counter: the period tag (high 16 bits) and micro-USD used (low 48 bits, up to
// $281M), in one atomic word so that a period change and an amount change are one operation.
class PeriodCounter {
 public:
  // Adds `micro` for period `tag` unless that passes `cap` (0: no cap). Returns whether it did.
  bool reserve(int64_t micro, int64_t cap, int64_t tag) noexcept;
  // Replaces `reserved` (added in period `reserved_tag`) by `real` in period `now_tag`; returns the
  // amount used in `now_tag` after it.
  int64_t settle(int64_t reserved, int64_t reserved_tag, int64_t real, int64_t now_tag) noexcept;
  void set(int64_t micro, int64_t tag) noexcept;
  int64_t used(int64_t tag) const noexcept;  // 0 when the counter holds another period
  // True exactly once per period tag: the first call for it.
  bool first_alert(int64_t tag) noexcept;

 private:
  std::atomic<uint64_t> word_{0};
  std::atomic<uint32_t> alerted_{0};  // tag + 1 of the last period alerted
};

struct BudgetReservation {
  bool held = false;
  int64_t micro = 0;
  int64_t day = 0, month = 0;  // the periods it was reserved in
};

struct BudgetVerdict {
  bool admitted = true;
  BudgetPeriod period = BudgetPeriod::daily;  // when refused: the cap that refused it
  int64_t cap_micro = 0;
  router::WallTime resets_at{};
};

// A settlement that crossed the alert threshold of a cap, reported once per period.
struct BudgetCrossing {
  bool crossed = false;
  BudgetPeriod period = BudgetPeriod::daily;
  int64_t used_micro = 0, cap_micro = 0;
};

// One subject's budget. The interface a shared (Redis) implementation replaces.
class BudgetStore {
 public:
  virtual ~BudgetStore() = default;
  virtual BudgetVerdict reserve(const BudgetLimits& limits, int64_t worst_micro, router::WallTime now,
                                BudgetReservation& reservation) noexcept = 0;
  // At most one of the periods' crossings is reported (the daily one first).
  virtual BudgetCrossing settle(const BudgetLimits& limits, BudgetReservation& reservation, int64_t real_micro,
                                router::WallTime now) noexcept = 0;
  // Spend already recorded this period (from the usage ledger, at start or reload).
  virtual void set_spent(int64_t day_micro, int64_t month_micro, router::WallTime now) noexcept = 0;
  virtual int64_t spent(BudgetPeriod period, router::WallTime now) const noexcept = 0;
};

class LocalBudgetStore final : public BudgetStore {
 public:
  BudgetVerdict reserve(const BudgetLimits& limits, int64_t worst_micro, router::WallTime now,
                        BudgetReservation& reservation) noexcept override;
  BudgetCrossing settle(const BudgetLimits& limits, BudgetReservation& reservation, int64_t real_micro,
                        router::WallTime now) noexcept override;
  void set_spent(int64_t day_micro, int64_t month_micro, router::WallTime now) noexcept override;
  int64_t spent(BudgetPeriod period, router::WallTime now) const noexcept override;

 private:
  PeriodCounter day_, month_;
};

// nano-USD rounded up to micro-USD.
constexpr int64_t micro_of_nano(int64_t nano) noexcept { return nano <= 0 ? 0 : (nano + 999) / 1000; }

}  // namespace llmux::governance
