#include "router/attempt_planner.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "providers/provider.hpp"

namespace llmux::router {

namespace {

std::string seconds_text(SteadyClock::duration d) {
  auto ms = std::chrono::duration_cast<Millis>(d);
  return providers::format_duration(std::max(ms, Millis(0)));
}

}  // namespace

AttemptPlanner::AttemptPlanner(const RouterConfig& config, Route& route, BreakerStore& breakers,
                               DeploymentStats& stats, Random& random, Instant start, std::optional<Millis> budget)
    : config_(config), route_(route), breakers_(breakers), stats_(stats), random_(random) {
  if (budget) deadline_ = start.steady + *budget;
  // Room for the route as it is and as its context fallbacks may lengthen it.
  size_t longest = route_.size() + (route_.chain() ? route_.chain()->context_fallbacks.size() : 0);
  per_capacity_ = std::min(longest, kMaxRouteLength);
  if (per_capacity_ > kInlineDeployments) {
    spilled_per_ = std::make_unique_for_overwrite<PerDeployment[]>(per_capacity_);
    per_ = spilled_per_.get();
  }
  for (size_t i = 0; i < route_.size(); ++i) per_[i] = PerDeployment{{}, {}, 0, false};
}

AttemptPlanner::~AttemptPlanner() { abandon(); }

void AttemptPlanner::end_inflight() noexcept {
  if (!inflight_) return;
  inflight_ = false;
  stats_.end_attempt(route_[current_].slot);
}

void AttemptPlanner::abandon() noexcept {
  if (!inflight_) return;
  breakers_.release(route_[current_].slot, probe_);
  probe_ = false;
  end_inflight();
}

void AttemptPlanner::answer_broke(Instant now) noexcept {
  if (current_ < route_.size()) breakers_.record_failure(route_[current_].slot, now.steady, Millis(0));
}

void AttemptPlanner::log(size_t index, std::string_view code, bool skipped) {
  if (log_count_ == kMaxLog) return;
  if (log_count_ == kInlineLog) {
    spilled_log_ = std::make_unique_for_overwrite<LogEntry[]>(kMaxLog);
    std::copy_n(inline_log_, kInlineLog, spilled_log_.get());
    log_ = spilled_log_.get();
  }
  LogEntry& e = log_[log_count_++];
  e.index = static_cast<uint8_t>(index);
  e.skipped = skipped;
  size_t n = std::min(code.size(), sizeof e.code - 1);
  std::copy_n(code.data(), n, e.code);
  e.code[n] = '\0';
}

void AttemptPlanner::append_attempts_header(std::string& out) const {
  char digits[12];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, reported_);
  out.append(digits, end);
  out += "; ";
  for (size_t i = 0; i < log_count_; ++i) {
    if (i) out += ',';
    out += route_[log_[i].index].label;
    out += '=';
    out += log_[i].code;
  }
}

Millis AttemptPlanner::backoff(int retry) noexcept {
  // Full jitter: uniform in [0, min(cap, base * 2^retry)].
  double ceiling = static_cast<double>(config_.backoff_base.count()) * std::ldexp(1.0, std::min(retry, 30));
  ceiling = std::min(ceiling, static_cast<double>(config_.backoff_cap.count()));
  return Millis(static_cast<int64_t>(random_.uniform() * ceiling));
}

Decision AttemptPlanner::attempt(size_t index, SteadyTime start_at, Admission admission) {
  current_ = index;
  if (!first_tried_) first_tried_ = index;
  PerDeployment& d = per_[index];
  ++d.tries;
  ++attempts_;
  d.starts[1] = d.starts[0];
  d.starts[0] = start_at;
  probe_ = admission.verdict == Admission::Verdict::probe;
  inflight_ = true;
  const Deployment& deployment = route_[index];
  stats_.begin_attempt(deployment.slot);
  std::optional<Millis> remaining;
  if (deadline_) remaining = std::chrono::duration_cast<Millis>(*deadline_ - start_at);
  return {Decision::Action::attempt, &deployment, start_at, attempt_timeouts(deployment.provider->config(), remaining)};
}

Decision AttemptPlanner::fail(Error error) {
  final_ = std::make_unique<Error>(std::move(error));
  return {};
}

Decision AttemptPlanner::fail_with_best(Instant now) {
  if (best_) {
    final_ = std::move(best_);
    return {};
  }
  if (deadline_ && now.steady >= *deadline_) {
    Error e = Error::make(ErrorKind::upstream_timeout,
                          "no answer for model '" + std::string(route_.requested()) + "' within the request's deadline (" +
                              std::to_string(attempts_) + " attempts)",
                          {}, "request_timeout");
    return fail(std::move(e));
  }
  if (auto refused = refused_error(now)) return fail(std::move(*refused));
  // Nothing was attempted: every deployment's breaker is open.
  std::string names;
  SteadyTime first_retry = SteadyTime::max();
  for (size_t i = 0; i < route_.size(); ++i) {
    if (per_[i].open_until == SteadyTime{}) continue;
    names += (names.empty() ? "" : ", ") + route_[i].label + " (next try in " +
             seconds_text(per_[i].open_until - now.steady) + ")";
    first_retry = std::min(first_retry, per_[i].open_until);
  }
  if (names.empty()) {
    Error e = Error::make(ErrorKind::upstream_unreachable,
                          "no deployment of model '" + std::string(route_.requested()) + "' answered", {},
                          "no_deployment_answered");
    return fail(std::move(e));
  }
  Error e = Error::make(ErrorKind::upstream_error,
                        "no deployment of model '" + std::string(route_.requested()) +
                            "' is available: circuit open for " + names,
                        {}, "all_deployments_unavailable");
  e.http_status = 503;
  if (first_retry != SteadyTime::max()) {
    auto wait = std::chrono::duration_cast<std::chrono::seconds>(first_retry - now.steady + std::chrono::milliseconds(999));
    e.retry_after = std::to_string(std::max<int64_t>(wait.count(), 1));
  }
  return fail(std::move(e));
}

// A deployment its breaker admitted may still be refused by the gate (its provider's limits or
// budget); the breaker's admission is then given back.
bool AttemptPlanner::gate_refuses(size_t index, const Admission& admission, Instant now) {
  if (!gate_) return false;
  AttemptGate::Verdict v = gate_->admit(route_[index], now);
  if (v.refusal == AttemptGate::Refusal::none) return false;
  breakers_.release(route_[index].slot, admission.verdict == Admission::Verdict::probe);
  bool rate = v.refusal == AttemptGate::Refusal::rate_limited;
  log(index, rate ? "limited" : "budget", true);
  // A rate limit that clears soon is the better answer than a budget that resets at midnight.
  if (v.refusal != refused_ && refused_ != AttemptGate::Refusal::none && !rate) return true;
  if (v.refusal != refused_) refused_wait_ = Millis::max();
  refused_ = v.refusal;
  refused_wait_ = std::min(refused_wait_, v.retry_after);
  return true;
}

// When no attempt was made because the gate refused deployments: 429 rate_limit_exceeded, or 402
// budget_exceeded when only budgets refused (README "Rate limits and budgets" for why 402).
std::optional<Error> AttemptPlanner::refused_error(Instant) const {
  if (refused_ == AttemptGate::Refusal::none) return std::nullopt;
  bool rate = refused_ == AttemptGate::Refusal::rate_limited;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(refused_wait_ + Millis(999)).count();
  seconds = std::max<int64_t>(seconds, 1);
  Error e = Error::make(ErrorKind::rate_limited,
                        "no deployment of model '" + std::string(route_.requested()) + "' is available: " +
                            (rate ? "their providers' rate limits are reached (retry in "
                                  : "their providers' budgets are spent (the budget resets in ") +
                            std::to_string(seconds) + " s)",
                        {}, rate ? "rate_limit_exceeded" : "budget_exceeded");
  if (!rate) {
    e.http_status = 402;
    e.type = "budget_exceeded";
  }
  e.retry_after = std::to_string(seconds);
  return e;
}

bool AttemptPlanner::another_available(Instant now) const noexcept {
  for (size_t i = current_ + 1; i < route_.size(); ++i) {
    if (per_[i].done) continue;
    BreakerStatus s = breakers_.status(route_[i].slot, now.steady);
    if (s.state == BreakerState::closed || s.open_until <= now.steady) return true;
  }
  return false;
}

Decision AttemptPlanner::move_on(Instant now) {
  if (attempts_ >= config_.max_attempts) return fail_with_best(now);
  if (deadline_ && now.steady >= *deadline_) return fail_with_best(now);
  size_t from = first_tried_ ? current_ + 1 : 0;
  for (size_t i = from; i < route_.size(); ++i) {
    if (per_[i].done) continue;
    Admission admission = breakers_.admit(route_[i].slot, now.steady);
    if (!admission.admitted()) {
      per_[i].done = true;
      per_[i].open_until = admission.retry_at;
      log(i, "open", true);
      continue;
    }
    if (gate_refuses(i, admission, now)) {
      per_[i].done = true;
      continue;
    }
    return attempt(i, now.steady, admission);
  }
  return fail_with_best(now);
}

Decision AttemptPlanner::first(Instant now) { return move_on(now); }

std::optional<Decision> AttemptPlanner::retry_here(const AttemptOutcome& outcome, Instant now) {
  PerDeployment& d = per_[current_];
  const Deployment& deployment = route_[current_];
  if (d.tries > deployment.provider->config().max_retries) return std::nullopt;
  Millis wait;
  if (auto asked = parse_retry_after(outcome.retry_after, now.wall)) {
    if (*asked > config_.max_retry_wait) return std::nullopt;  // too long to wait: fall back now
    wait = *asked;
  } else {
    wait = backoff(d.tries - 1);
  }
  SteadyTime start = now.steady + wait;
  bool window_forced = false;
  if (d.tries >= kMaxAttemptsPerWindow) {
    SteadyTime earliest = d.starts[kMaxAttemptsPerWindow - 1] + kRetryWindow;
    if (start < earliest) start = earliest, window_forced = true;
  }
  if (deadline_ && start >= *deadline_) return std::nullopt;
  if (window_forced && another_available(now)) return std::nullopt;
  Admission admission = breakers_.admit(deployment.slot, now.steady);
  if (!admission.admitted() || gate_refuses(current_, admission, now)) return std::nullopt;
  return attempt(current_, start, admission);
}

// After context_length_exceeded: the chain's context_fallbacks go first, and no deployment whose
// window is known to be no larger than the failed one is tried.
void AttemptPlanner::prefer_larger_context(size_t failed) {
  const Chain* chain = route_.chain();
  size_t next = failed + 1;
  if (chain) {
    size_t insert_at = next;
    for (const Deployment* d : chain->context_fallbacks) {
      auto tail = route_.tail(insert_at);
      auto found = std::find(tail.begin(), tail.end(), d);
      if (found == tail.end()) {
        bool tried = false;
        for (size_t i = 0; i < insert_at; ++i) tried = tried || &route_[i] == d;
        if (tried || route_.size() >= per_capacity_ || !route_.push(d)) continue;
        per_[route_.size() - 1] = PerDeployment{{}, {}, 0, false};
        tail = route_.tail(insert_at);
        found = tail.end() - 1;
      }
      std::rotate(tail.begin(), found, found + 1);
      ++insert_at;
    }
  }
  auto window = route_[failed].context_window();
  if (!window) return;
  for (size_t i = next; i < route_.size(); ++i) {
    auto other = route_[i].context_window();
    if (other && *other <= *window) per_[i].done = true;
  }
}

Decision AttemptPlanner::after(const AttemptOutcome& outcome, Instant now, Error error) {
  if (!inflight_) return final_ ? Decision{} : fail_with_best(now);
  const Deployment& deployment = route_[current_];
  Treatment t = classify(outcome);
  char buffer[8];
  log(current_, outcome_code(outcome, buffer), false);
  ++reported_;

  if (t == Treatment::cancelled) {
    abandon();
    return fail_with_best(now);
  }
  std::optional<Millis> retry_after;
  if (!outcome.retry_after.empty()) retry_after = parse_retry_after(outcome.retry_after, now.wall);
  if (is_breaker_failure(outcome, t)) breakers_.record_failure(deployment.slot, now.steady, retry_after.value_or(Millis(0)));
  else if (t == Treatment::deployment_rejected) breakers_.release(deployment.slot, probe_);
  else breakers_.record_success(deployment.slot, now.steady);
  probe_ = false;

  if (t == Treatment::success) {
    if (outcome.first_token.count() > 0) stats_.record_first_token(deployment.slot, outcome.first_token);
    return {Decision::Action::answer, &deployment, now.steady, {}};  // in flight until the planner ends
  }
  end_inflight();

  int rank = error_rank(t, first_tried_ && *first_tried_ == current_);
  if (rank >= best_rank_) {
    if (best_) *best_ = std::move(error);
    else best_ = std::make_unique<Error>(std::move(error));
    best_rank_ = rank;
  }
  if (t == Treatment::content_policy && !(route_.chain() && route_.chain()->content_policy_fallback))
    return fail_with_best(now);
  if (attempts_ >= config_.max_attempts) return fail_with_best(now);
  if (t == Treatment::transient)
    if (auto again = retry_here(outcome, now)) return *again;
  per_[current_].done = true;
  if (t == Treatment::context_exceeded) prefer_larger_context(current_);
  return move_on(now);
}

}  // namespace llmux::router
