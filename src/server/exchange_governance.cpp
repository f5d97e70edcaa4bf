// The rate limits and budgets of a completion exchange (README "Rate limits and budgets"): the
// gateway key's, taken once before the first attempt, and each provider's, taken per attempt as
// the planner's AttemptGate. Everything held is settled in end() with the ledger row's real
// tokens and cost. Nothing here locks or allocates on the way in.
#include <ctime>

#include "governance/cost.hpp"
#include "server/completion_exchange.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace {

std::string retry_seconds(std::chrono::milliseconds wait) {
  auto s = std::chrono::duration_cast<std::chrono::seconds>(wait + std::chrono::milliseconds(999)).count();
  return std::to_string(std::max<int64_t>(s, 1));
}

uint32_t limit_value(const governance::RateLimits& l, std::string_view name) {
  return name == "rpm" ? l.rpm : name == "rph" ? l.rph : name == "tpm" ? l.tpm : l.concurrent;
}

// "2026-12-02T00:00:00Z"
std::string utc_text(router::WallTime t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
}

}  // namespace

// A refusal is rare and already the slow path: the counter's lookup (a short lock) is paid only here.
void CompletionExchange::count_rejection(std::string_view scope, std::string_view name) {
  worker_.server.metrics.governance.rate_limit_rejections(scope, name).fetch_add(1, std::memory_order_relaxed);
}

// The most a request can cost on `deployment`: its prompt (estimated from the body's size, which
// is never less than its text) plus every output token it may ask for, at the model's prices.
int64_t CompletionExchange::worst_case_nano(const router::Deployment& deployment) const {
  if (!deployment.model) return 0;
  json::Usage worst;
  worst.prompt_tokens = prompt_estimate_;
  worst.completion_tokens = output_reserve_;
  worst.total_tokens = prompt_estimate_ + output_reserve_;
  worst.reported = true;
  return governance::cost_nano_usd(worst, deployment.model->prices);
}

std::optional<Error> CompletionExchange::admit_key() {
  const auto& fields = buffers_.fields;
  prompt_estimate_ = governance::estimate_tokens(body_.size());
  output_reserve_ = endpoint_ == providers::Endpoint::embeddings ? 0
                    : fields.max_tokens                         ? std::max<int64_t>(*fields.max_tokens, 0)
                                                                : governance::kDefaultOutputReserve;
  if (!key_ || (!key_->limits.any() && !key_->budget.any())) return std::nullopt;
  auto now = router::Instant::now();
  Held& held = key_held_.get_or_make();
  held.state = &state_->governance->key_state(key_->name);
  held.limits = &key_->limits;
  held.budget = &key_->budget;
  held.id = key_->name;
  held.subject = "key";
  auto tokens = static_cast<uint32_t>(std::min<int64_t>(prompt_estimate_ + output_reserve_, UINT32_MAX));
  if (key_->limits.any()) {
    auto verdict = held.state->limiter.acquire(key_->limits, tokens, now.steady, held.ticket);
    if (!verdict.admitted) {
      held.state = nullptr;
      count_rejection("key", key_->name);
      std::string wait = retry_seconds(verdict.retry_after);
      Error e = Error::make(ErrorKind::rate_limited,
                            "gateway key '" + key_->name + "' is over its " + verdict.limit + " limit (" +
                                std::to_string(limit_value(key_->limits, verdict.limit)) +
                                "); retry in " + wait + " s",
                            {}, "rate_limit_exceeded");
      e.retry_after = std::move(wait);
      return e;
    }
  }
  if (key_->budget.any()) {
    held.state->note_caps(key_->budget);
    int64_t worst = 0;
    for (size_t i = 0; i < route_.size(); ++i) worst = std::max(worst, worst_case_nano(route_[i]));
    auto verdict = held.state->budget.reserve(key_->budget, governance::micro_of_nano(worst), now.wall, held.reservation);
    if (!verdict.admitted) {
      held.state->limiter.settle(held.ticket, 0);
      held.state = nullptr;
      count_rejection("key", key_->name);
      // 402, not 429: a spent budget is not a burst to back off from; SDKs retry 429 on their own,
      // which cannot succeed before the period resets. The reset time is in the message and header.
      std::string reset = utc_text(verdict.resets_at);
      Error e = Error::make(ErrorKind::rate_limited,
                            "gateway key '" + key_->name + "' has spent its " +
                                (verdict.period == governance::BudgetPeriod::daily ? "daily" : "monthly") +
                                " budget; it resets at " + reset,
                            {}, "budget_exceeded");
      e.http_status = 402;
      e.type = "budget_exceeded";
      e.retry_after = retry_seconds(std::chrono::duration_cast<std::chrono::milliseconds>(verdict.resets_at - now.wall));
      buffers_.headers += "x-llmux-budget-reset: " + reset + "\r\n";
      return e;
    }
  }
  return std::nullopt;
}

// The planner asks before each attempt: the last attempt (if any) has ended without an answer, so
// what it held is given back first (its requests still count, its tokens and cost do not).
router::AttemptGate::Verdict CompletionExchange::admit(const router::Deployment& deployment, router::Instant now) {
  settle(provider_held_, 0, 0);
  const auto* subject = state_->governance->provider(deployment.provider->id());
  if (!subject) return {};
  Held& held = provider_held_.get_or_make();
  auto tokens = static_cast<uint32_t>(std::min<int64_t>(prompt_estimate_ + output_reserve_, UINT32_MAX));
  if (subject->limits.any()) {
    auto verdict = subject->state->limiter.acquire(subject->limits, tokens, now.steady, held.ticket);
    if (!verdict.admitted) {
      count_rejection("provider", subject->id);
      return {Refusal::rate_limited, verdict.retry_after};
    }
  }
  if (subject->budget.any()) {
    auto verdict = subject->state->budget.reserve(subject->budget, governance::micro_of_nano(worst_case_nano(deployment)),
                                                  now.wall, held.reservation);
    if (!verdict.admitted) {
      subject->state->limiter.settle(held.ticket, 0);
      count_rejection("provider", subject->id);
      return {Refusal::over_budget, std::chrono::duration_cast<router::Millis>(verdict.resets_at - now.wall)};
    }
  }
  held.state = subject->state.get();
  held.limits = &subject->limits;
  held.budget = &subject->budget;
  held.id = subject->id;
  held.subject = "provider";
  return {};
}

void CompletionExchange::settle(HeapOptional<Held>& holding, int64_t tokens, int64_t cost_nano) {
  if (!holding || !holding->state) return;
  Held& held = *holding;
  held.state->limiter.settle(held.ticket, static_cast<uint32_t>(std::clamp<int64_t>(tokens, 0, UINT32_MAX)));
  auto crossing = held.state->budget.settle(*held.budget, held.reservation, governance::micro_of_nano(cost_nano),
                                            std::chrono::system_clock::now());
  if (crossing.crossed)
    state_->governance->alert({held.subject, std::string(held.id), crossing, held.budget->alert_threshold});
  held.state = nullptr;
}

void CompletionExchange::settle_governance(int64_t tokens, int64_t cost_nano) {
  settle(provider_held_, tokens, cost_nano);
  settle(key_held_, tokens, cost_nano);
}

}  // namespace llmux::server
