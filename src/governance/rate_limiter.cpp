#include "governance/rate_limiter.hpp"

#include <algorithm>

namespace llmux::governance {

namespace {

constexpr uint64_t pack(uint32_t epoch, uint32_t count) noexcept { return (uint64_t(epoch) << 32) | count; }
constexpr uint32_t epoch_of_word(uint64_t w) noexcept { return static_cast<uint32_t>(w >> 32); }
constexpr uint32_t count_of_word(uint64_t w) noexcept { return static_cast<uint32_t>(w); }

int64_t steady_ms(router::SteadyTime now) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
}

}  // namespace

// Epoch 0 marks a bucket never used, so epochs start at 1.
uint32_t SlidingWindow::epoch_of(router::SteadyTime now) const noexcept {
  return static_cast<uint32_t>(std::max<int64_t>(steady_ms(now), 0) / bucket_ms_) + 1;
}

// Buckets of epochs up to epoch - kBuckets have left the window: their counts leave the total.
// One thread per bucket tick wins the sweep; a count is taken out by whoever zeroes its bucket.
void SlidingWindow::expire(uint32_t epoch) noexcept {
  if (epoch <= kBuckets) return;
  uint32_t target = epoch - kBuckets;
  uint32_t seen = expired_through_.load(std::memory_order_acquire);
  while (seen < target) {
    if (!expired_through_.compare_exchange_weak(seen, target, std::memory_order_acq_rel)) continue;
    for (auto& bucket : buckets_) {
      uint64_t w = bucket.load(std::memory_order_acquire);
      while (epoch_of_word(w) <= target && count_of_word(w) != 0) {
        if (bucket.compare_exchange_weak(w, pack(epoch_of_word(w), 0), std::memory_order_acq_rel)) {
          total_.fetch_sub(count_of_word(w), std::memory_order_acq_rel);
          break;
        }
      }
    }
    return;
  }
}

void SlidingWindow::add_to_bucket(uint32_t epoch, uint32_t n) noexcept {
  auto& bucket = buckets_[epoch % kBuckets];
  uint64_t w = bucket.load(std::memory_order_acquire);
  for (;;) {
    uint32_t e = epoch_of_word(w);
    if (e >= epoch) {  // this bucket (or, after a clock step, a newer one: counted there)
      uint32_t c = count_of_word(w);
      uint32_t sum = c + std::min(n, UINT32_MAX - c);
      if (bucket.compare_exchange_weak(w, pack(e, sum), std::memory_order_acq_rel)) return;
      continue;
    }
    // A bucket of an epoch long gone: reused here; what it still counted leaves the total.
    if (bucket.compare_exchange_weak(w, pack(epoch, n), std::memory_order_acq_rel)) {
      if (count_of_word(w)) total_.fetch_sub(count_of_word(w), std::memory_order_acq_rel);
      return;
    }
  }
}

bool SlidingWindow::try_add(uint32_t n, uint32_t limit, router::SteadyTime now, uint32_t& at) noexcept {
  uint32_t epoch = epoch_of(now);
  expire(epoch);
  int64_t after = total_.fetch_add(n, std::memory_order_acq_rel) + n;
  if (after > limit) {
    total_.fetch_sub(n, std::memory_order_acq_rel);
    return false;
  }
  add_to_bucket(epoch, n);
  at = epoch;
  return true;
}

// Raising counts first and lowering them last keeps the total from ever reading low.
void SlidingWindow::adjust(uint32_t at, int64_t delta) noexcept {
  if (delta == 0 || at == 0) return;
  auto& bucket = buckets_[at % kBuckets];
  if (delta > 0) total_.fetch_add(delta, std::memory_order_acq_rel);
  uint64_t w = bucket.load(std::memory_order_acquire);
  for (;;) {
    if (epoch_of_word(w) != at) {  // the bucket has left the window, and its count with it
      if (delta > 0) total_.fetch_sub(delta, std::memory_order_acq_rel);
      return;
    }
    int64_t c = count_of_word(w);
    int64_t next = std::clamp<int64_t>(c + delta, 0, UINT32_MAX);
    if (bucket.compare_exchange_weak(w, pack(at, static_cast<uint32_t>(next)), std::memory_order_acq_rel)) {
      if (delta < 0) total_.fetch_sub(c - next, std::memory_order_acq_rel);
      else if (next - c < delta) total_.fetch_sub(delta - (next - c), std::memory_order_acq_rel);
      return;
    }
  }
}

uint64_t SlidingWindow::count(router::SteadyTime now) const noexcept {
  uint32_t epoch = epoch_of(now);
  uint64_t sum = 0;
  for (const auto& bucket : buckets_) {
    uint64_t w = bucket.load(std::memory_order_acquire);
    uint32_t e = epoch_of_word(w);
    if (e != 0 && e <= epoch && epoch - e < kBuckets) sum += count_of_word(w);
  }
  return sum;
}

std::chrono::milliseconds SlidingWindow::wait_for(uint32_t n, uint32_t limit, router::SteadyTime now) const noexcept {
  uint32_t epoch = epoch_of(now);
  uint64_t by_age[kBuckets] = {};  // by_age[k]: the count of the bucket that leaves k+1 buckets from now
  uint64_t sum = 0;
  for (const auto& bucket : buckets_) {
    uint64_t w = bucket.load(std::memory_order_acquire);
    uint32_t e = epoch_of_word(w);
    if (e == 0 || e > epoch || epoch - e >= kBuckets) continue;
    by_age[kBuckets - 1 - (epoch - e)] += count_of_word(w);
    sum += count_of_word(w);
  }
  if (sum + n <= limit) return std::chrono::milliseconds(0);
  uint64_t need = sum + n - limit, freed = 0;
  uint32_t k = 1;
  for (; k <= kBuckets; ++k) {
    freed += by_age[k - 1];
    if (freed >= need) break;
  }
  // Epoch `epoch + k` begins at (epoch + k - 1) * bucket_ms (epochs start at 1).
  int64_t admits_at = static_cast<int64_t>(epoch + k - 1) * bucket_ms_;
  return std::chrono::milliseconds(std::max<int64_t>(admits_at - steady_ms(now), 1));
}

LimitVerdict LocalRateLimiter::acquire(const RateLimits& limits, uint32_t tokens, router::SteadyTime now,
                                       LimitTicket& ticket) noexcept {
  ticket = LimitTicket{};
  LimitVerdict refused{false, {}, ""};
  auto undo = [&] {
    if (ticket.minute_at) minute_.adjust(ticket.minute_at, -1);
    if (ticket.hour_at) hour_.adjust(ticket.hour_at, -1);
    if (ticket.concurrent) in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    ticket = LimitTicket{};
  };
  if (limits.concurrent) {
    if (in_flight_.fetch_add(1, std::memory_order_acq_rel) >= limits.concurrent) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return {false, kConcurrencyRetry, "concurrent"};
    }
    ticket.concurrent = true;
  }
  if (limits.rpm && !minute_.try_add(1, limits.rpm, now, ticket.minute_at)) {
    refused = {false, minute_.wait_for(1, limits.rpm, now), "rpm"};
  } else if (limits.rph && !hour_.try_add(1, limits.rph, now, ticket.hour_at)) {
    refused = {false, hour_.wait_for(1, limits.rph, now), "rph"};
  } else if (limits.tpm) {
    uint32_t reserve = std::min(std::max<uint32_t>(tokens, 1), limits.tpm);
    if (!tokens_.try_add(reserve, limits.tpm, now, ticket.tokens_at))
      refused = {false, tokens_.wait_for(reserve, limits.tpm, now), "tpm"};
    else
      ticket.tokens = reserve;
  }
  if (!refused.admitted && refused.limit[0]) {
    undo();
    return refused;
  }
  ticket.held = true;
  return {};
}

void LocalRateLimiter::settle(LimitTicket& ticket, uint32_t real_tokens) noexcept {
  if (!ticket.held) return;
  if (ticket.tokens_at)
    tokens_.adjust(ticket.tokens_at, static_cast<int64_t>(real_tokens) - static_cast<int64_t>(ticket.tokens));
  if (ticket.concurrent) in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  ticket = LimitTicket{};
}

}  // namespace llmux::governance
