// The per-request "what next?" of the attempt loop. The exchange asks first() for the first
// attempt, reports every attempt's outcome to after(), and does what the decision says: start an
// attempt (at a given time, on a given deployment, with given limits), send the answer it has,
// or send final_error(). It never decides a retry or a fallback itself.
//
// Rules (README "Failure behaviour"): transient failures (connect, reset before headers, 408,
// 429, 5xx, 529) are retried on the same deployment up to its provider's max_retries, waiting for
// Retry-After (above router.max_retry_wait: fall back at once) or a full-jitter backoff, and never
// more than 2 attempts per deployment in any 1.5 s (when that window would force a wait and
// another deployment is available, that one goes first); timeouts waiting for a response fall
// back at once; request and deployment rejections are not repeated; context_length_exceeded moves
// to larger context windows; a content-policy rejection is the answer unless the model's chain
// says otherwise; router.max_attempts and the deadline bound everything. Circuit breakers are
// consulted before each deployment (open: skipped) and told every outcome.
//
// Thread-safety: none; a planner belongs to one request. The BreakerStore and DeploymentStats it
// reports to are shared and thread-safe. No allocation on the success path of a route of up to
// kInlineDeployments deployments; a longer one makes one allocation, sized once for the request.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "router/balancer.hpp"
#include "router/breaker.hpp"
#include "router/clock.hpp"
#include "router/deployment.hpp"
#include "router/failure.hpp"
#include "router/route_table.hpp"
#include "router/timeouts.hpp"

namespace llmux::router {

struct Decision {
  enum class Action : uint8_t {
    attempt,  // start an attempt on `deployment` at `start_at` (now = at once) with `timeouts`
    answer,   // the last attempt succeeded: send its answer
    fail,     // send final_error()
  };
  Action action = Action::fail;
  const Deployment* deployment = nullptr;
  SteadyTime start_at{};
  AttemptTimeouts timeouts;
};

// Admission of a deployment beyond its breaker: the exchange's provider rate limits and budgets.
// Asked before each attempt (what it admits it holds for that attempt); a refused deployment is
// skipped like one with an open breaker. When every deployment was refused, the final error is
// 429 rate_limit_exceeded (or 402 budget_exceeded) with the earliest wait as Retry-After.
class AttemptGate {
 public:
  enum class Refusal : uint8_t { none, rate_limited, over_budget };
  struct Verdict {
    Refusal refusal = Refusal::none;
    Millis retry_after{0};  // until the limit admits again, or the budget's period resets
  };
  virtual Verdict admit(const Deployment& deployment, Instant now) = 0;

 protected:
  ~AttemptGate() = default;
};

inline constexpr Millis kRetryWindow{1500};
inline constexpr int kMaxAttemptsPerWindow = 2;

class AttemptPlanner {
 public:
  // `route`, `breakers`, `stats`, `random` are borrowed for the planner's life. `budget` is the
  // request's deadline budget (request_budget()), counted from `start`.
  AttemptPlanner(const RouterConfig& config, Route& route, BreakerStore& breakers, DeploymentStats& stats,
                 Random& random, Instant start, std::optional<Millis> budget);
  // Gives back what an unfinished attempt holds (in-flight count, a half-open probe).
  ~AttemptPlanner();
  AttemptPlanner(const AttemptPlanner&) = delete;
  AttemptPlanner& operator=(const AttemptPlanner&) = delete;

  Decision first(Instant now);
  // The outcome of the attempt the last decision started. `error` is the client-facing error the
  // exchange made of a failure (provider.decode_error, transfer_error, ...); the planner keeps the
  // most meaningful one for final_error().
  Decision after(const AttemptOutcome& outcome, Instant now, Error error = {});
  // The attempt in flight ends without an outcome (the client left, shutdown).
  void abandon() noexcept;
  // After an answer: the answering stream broke later (after content reached the client); it
  // counts against the deployment's breaker.
  void answer_broke(Instant now) noexcept;

  // After a fail decision. When no attempt produced an error: 503 naming the open breakers, or
  // 504 for the deadline.
  const Error& final_error() const noexcept { return *final_; }
  // "3; a/gpt-4o=503,a/gpt-4o=503,b/claude=200": attempts reported, then each deployment tried and
  // its outcome in order; a deployment skipped for an open breaker is listed as "=open" and not
  // counted. Appended to `out` (no allocation once `out` has grown).
  void append_attempts_header(std::string& out) const;

  // Optional; borrowed for the planner's life. Without one every deployment is admitted.
  void set_gate(AttemptGate* gate) noexcept { gate_ = gate; }

  // Per-request state lives in the planner (so in every open stream's exchange): most routes have
  // one to three deployments and log as many attempts, so that much is kept inline; a longer route
  // or log moves to the heap (issue 12: memory per open stream).
  static constexpr size_t kInlineDeployments = 4;
  static constexpr size_t kInlineLog = 6;
  static constexpr size_t kMaxLog = 32;  // entries of x-llmux-attempts; later ones are not listed

  int attempts() const noexcept { return attempts_; }
  const Deployment* current() const noexcept { return current_ < route_.size() ? &route_[current_] : nullptr; }

 private:
  // Left uninitialised by the constructor except for the route's length (the planner is built
  // for every request; zeroing every entry was a fifth of its cost).
  struct PerDeployment {
    SteadyTime starts[kMaxAttemptsPerWindow];  // the last two attempt starts, newest first
    SteadyTime open_until;                     // skipped: its breaker admits again then
    int tries;
    bool done;  // never to be tried again for this request
  };
  struct LogEntry {
    uint8_t index;
    bool skipped;
    char code[10];
  };

  Decision attempt(size_t index, SteadyTime start_at, Admission admission);
  Decision move_on(Instant now);
  Decision fail(Error error);
  Decision fail_with_best(Instant now);
  std::optional<Decision> retry_here(const AttemptOutcome& outcome, Instant now);
  void prefer_larger_context(size_t failed);
  void log(size_t index, std::string_view code, bool skipped);
  bool another_available(Instant now) const noexcept;
  void end_inflight() noexcept;
  bool gate_refuses(size_t index, const Admission& admission, Instant now);
  std::optional<Error> refused_error(Instant now) const;
  Millis backoff(int retry) noexcept;

  const RouterConfig& config_;
  Route& route_;
  BreakerStore& breakers_;
  DeploymentStats& stats_;
  Random& random_;
  std::optional<SteadyTime> deadline_;
  PerDeployment inline_per_[kInlineDeployments];
  std::unique_ptr<PerDeployment[]> spilled_per_;  // routes longer than kInlineDeployments
  PerDeployment* per_ = inline_per_;
  size_t per_capacity_ = kInlineDeployments;  // the route may grow to this (context fallbacks)
  LogEntry inline_log_[kInlineLog];
  std::unique_ptr<LogEntry[]> spilled_log_;  // kMaxLog entries, once more than kInlineLog are logged
  LogEntry* log_ = inline_log_;
  size_t log_count_ = 0;
  size_t current_ = kMaxRouteLength;  // route index of the attempt in flight (or that answered)
  std::optional<size_t> first_tried_;
  bool inflight_ = false;
  bool probe_ = false;  // the attempt in flight is its breaker's half-open probe
  int attempts_ = 0;   // started
  int reported_ = 0;   // with an outcome (the x-llmux-attempts count)
  // Errors exist only on a failure path: held by pointer, they take no room in a success's planner.
  std::unique_ptr<Error> best_;
  int best_rank_ = -1;
  std::unique_ptr<Error> final_;
  AttemptGate* gate_ = nullptr;
  AttemptGate::Refusal refused_ = AttemptGate::Refusal::none;  // the strongest refusal seen
  Millis refused_wait_ = Millis::max();                        // the shortest wait of that kind
};

}  // namespace llmux::router
