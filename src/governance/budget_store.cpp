#include "governance/budget_store.hpp"

#include <algorithm>
#include <chrono>

namespace llmux::governance {

namespace {

constexpr int kAmountBits = 48;
constexpr uint64_t kAmountMask = (uint64_t(1) << kAmountBits) - 1;

constexpr uint64_t pack(int64_t tag, int64_t micro) noexcept {
  return (static_cast<uint64_t>(tag & 0xFFFF) << kAmountBits) |
         (static_cast<uint64_t>(std::clamp<int64_t>(micro, 0, int64_t(kAmountMask))));
}
constexpr int64_t tag_of(uint64_t w) noexcept { return static_cast<int64_t>(w >> kAmountBits); }
constexpr int64_t amount_of(uint64_t w) noexcept { return static_cast<int64_t>(w & kAmountMask); }
constexpr int64_t short_tag(int64_t tag) noexcept { return tag & 0xFFFF; }

std::chrono::year_month_day civil(router::WallTime now) noexcept {
  return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now));
}

}  // namespace

int64_t utc_day(router::WallTime now) noexcept {
  return std::chrono::floor<std::chrono::days>(now).time_since_epoch().count();
}

int64_t utc_month(router::WallTime now) noexcept {
  auto ymd = civil(now);
  return (static_cast<int>(ymd.year()) - 1970) * 12 + static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
}

router::WallTime period_start(BudgetPeriod period, router::WallTime now) noexcept {
  using namespace std::chrono;
  if (period == BudgetPeriod::daily) return floor<days>(now);
  auto ymd = civil(now);
  return sys_days(ymd.year() / ymd.month() / 1);
}

router::WallTime period_end(BudgetPeriod period, router::WallTime now) noexcept {
  using namespace std::chrono;
  if (period == BudgetPeriod::daily) return floor<days>(now) + days(1);
  auto ymd = civil(now);
  return sys_days((ymd.year() / ymd.month() / 1) + months(1));
}

bool PeriodCounter::reserve(int64_t micro, int64_t cap, int64_t tag) noexcept {
  uint64_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    int64_t used = tag_of(w) == short_tag(tag) ? amount_of(w) : 0;
    if (cap > 0 && used + micro > cap) return false;
    if (word_.compare_exchange_weak(w, pack(tag, used + micro), std::memory_order_acq_rel)) return true;
  }
}

int64_t PeriodCounter::settle(int64_t reserved, int64_t reserved_tag, int64_t real, int64_t now_tag) noexcept {
  uint64_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    int64_t tag = tag_of(w);
    int64_t next;
    if (short_tag(reserved_tag) == short_tag(now_tag) && tag == short_tag(now_tag))
      next = std::max<int64_t>(amount_of(w) - reserved, 0) + real;
    else  // a new period began since the reservation: the real cost counts in it
      next = (tag == short_tag(now_tag) ? amount_of(w) : 0) + real;
    if (word_.compare_exchange_weak(w, pack(now_tag, next), std::memory_order_acq_rel)) return next;
  }
}

void PeriodCounter::set(int64_t micro, int64_t tag) noexcept { word_.store(pack(tag, micro), std::memory_order_release); }

int64_t PeriodCounter::used(int64_t tag) const noexcept {
  uint64_t w = word_.load(std::memory_order_acquire);
  return tag_of(w) == short_tag(tag) ? amount_of(w) : 0;
}

bool PeriodCounter::first_alert(int64_t tag) noexcept {
  uint32_t mark = static_cast<uint32_t>(short_tag(tag)) + 1;
  return alerted_.exchange(mark, std::memory_order_acq_rel) != mark;
}

BudgetVerdict LocalBudgetStore::reserve(const BudgetLimits& limits, int64_t worst_micro, router::WallTime now,
                                        BudgetReservation& r) noexcept {
  r = BudgetReservation{};
  int64_t day = utc_day(now), month = utc_month(now);
  if (!day_.reserve(worst_micro, limits.daily_micro_usd, day))
    return {false, BudgetPeriod::daily, limits.daily_micro_usd, period_end(BudgetPeriod::daily, now)};
  if (!month_.reserve(worst_micro, limits.monthly_micro_usd, month)) {
    day_.settle(worst_micro, day, 0, day);
    return {false, BudgetPeriod::monthly, limits.monthly_micro_usd, period_end(BudgetPeriod::monthly, now)};
  }
  r = {true, worst_micro, day, month};
  return {};
}

BudgetCrossing LocalBudgetStore::settle(const BudgetLimits& limits, BudgetReservation& r, int64_t real_micro,
                                        router::WallTime now) noexcept {
  if (!r.held) return {};
  int64_t day = utc_day(now), month = utc_month(now);
  int64_t day_used = day_.settle(r.micro, r.day, real_micro, day);
  int64_t month_used = month_.settle(r.micro, r.month, real_micro, month);
  r = BudgetReservation{};
  double threshold = limits.alert_threshold;
  if (threshold <= 0 || real_micro <= 0) return {};
  auto over = [&](int64_t used, int64_t cap) { return cap > 0 && static_cast<double>(used) >= threshold * static_cast<double>(cap); };
  if (over(day_used, limits.daily_micro_usd) && day_.first_alert(day))
    return {true, BudgetPeriod::daily, day_used, limits.daily_micro_usd};
  if (over(month_used, limits.monthly_micro_usd) && month_.first_alert(month))
    return {true, BudgetPeriod::monthly, month_used, limits.monthly_micro_usd};
  return {};
}

void LocalBudgetStore::set_spent(int64_t day_micro, int64_t month_micro, router::WallTime now) noexcept {
  day_.set(day_micro, utc_day(now));
  month_.set(month_micro, utc_month(now));
}

int64_t LocalBudgetStore::spent(BudgetPeriod period, router::WallTime now) const noexcept {
  return period == BudgetPeriod::daily ? day_.used(utc_day(now)) : month_.used(utc_month(now));
}

}  // namespace llmux::governance
