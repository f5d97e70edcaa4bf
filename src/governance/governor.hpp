// The rate limits and budgets of one config snapshot: each provider's and each gateway key's
// limits, with their live state (counters), and the static KeyPolicy objects of the config keys.
// The live state outlives snapshots: GovernanceRegistry hands a new snapshot the state of the
// providers and keys it keeps (by id), so a reload neither forgets a spend nor resets a window.
//
// Thread-safety: a Governance is immutable once bound except for its states (atomics, see
// rate_limiter.hpp and budget_store.hpp) and its key table, which any thread may add to without a
// lock (compare-exchange on a slot). GovernanceRegistry's members may be called from any thread
// (a mutex serialises them); they run off the request path (start, reload).
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "governance/budget_store.hpp"
#include "governance/key_policy.hpp"
#include "governance/rate_limiter.hpp"
#include "llmux/config.hpp"

namespace llmux::storage {
class UsageLedger;
}

namespace llmux::governance {

// One provider's or key's live state.
struct SubjectState {
  LocalRateLimiter limiter;
  LocalBudgetStore budget;
  std::atomic<bool> spend_loaded{false};  // this period's spend was read from the ledger
  // The caps last reserved against (micro-USD), so a scrape can report a key's spend against its
  // cap without the key's policy at hand; written only when they change.
  std::atomic<int64_t> daily_cap_micro{0}, monthly_cap_micro{0};
  void note_caps(const BudgetLimits& b) noexcept {
    if (daily_cap_micro.load(std::memory_order_relaxed) != b.daily_micro_usd)
      daily_cap_micro.store(b.daily_micro_usd, std::memory_order_relaxed);
    if (monthly_cap_micro.load(std::memory_order_relaxed) != b.monthly_micro_usd)
      monthly_cap_micro.store(b.monthly_micro_usd, std::memory_order_relaxed);
  }
};

struct BudgetAlert {
  const char* subject = "";  // "provider" or "key"
  std::string id;
  BudgetCrossing crossing;
  double threshold = 0;
};
using BudgetAlertSink = std::function<void(const BudgetAlert&)>;

// {"type":"budget_alert","subject":"provider","id":"a","period":"daily","spent_usd":…,"cap_usd":…,"threshold":0.8}
std::string budget_alert_json(const BudgetAlert& alert);

class Governance {
 public:
  struct Subject {
    std::string id;
    RateLimits limits;
    BudgetLimits budget;
    std::shared_ptr<SubjectState> state;
    bool governed() const noexcept { return limits.any() || budget.any(); }
  };

  Governance() = default;
  ~Governance();
  Governance(const Governance&) = delete;
  Governance& operator=(const Governance&) = delete;

  // The config's providers in config order; nullptr for a provider without limits or budget.
  const Subject* provider(std::string_view id) const noexcept;
  bool any_provider_governed() const noexcept { return any_provider_; }

  // The static policies of the config keys (id "master_key", "api_keys[N]").
  const std::shared_ptr<const KeyPolicy>& master_policy() const noexcept { return master_; }
  const std::shared_ptr<const KeyPolicy>& api_key_policy(size_t index) const noexcept { return api_keys_[index]; }

  // The live state of a key (config or virtual) by its name, the ledger's key column (active names are
  // unique), made on first use. Lock-free.
  SubjectState& key_state(std::string_view key_id) const;

  void alert(const BudgetAlert& alert) const {
    if (alert_sink_) alert_sink_(alert);
  }

  // Every subject with a budget, with its caps in micro-USD: the providers', then the keys' that
  // have reserved against one (scope "provider" or "key"). For the metrics scrape; safe beside the
  // request path.
  template <typename F>
  void for_each_budget(F&& visit) const {
    for (const auto& p : providers_)
      if (p.budget.any()) visit("provider", std::string_view(p.id), *p.state, p.budget.daily_micro_usd, p.budget.monthly_micro_usd);
    for (const auto& slot : keys_) {
      const KeyEntry* e = slot.load(std::memory_order_acquire);
      if (!e) continue;
      int64_t daily = e->state->daily_cap_micro.load(std::memory_order_relaxed);
      int64_t monthly = e->state->monthly_cap_micro.load(std::memory_order_relaxed);
      if (daily || monthly) visit("key", std::string_view(e->id), *e->state, daily, monthly);
    }
  }

 private:
  friend class GovernanceRegistry;
  struct KeyEntry {
    std::string id;
    std::shared_ptr<SubjectState> state;
  };
  static constexpr size_t kKeySlots = 4096;
  // Adds `entry` unless its id is there; returns the entry that holds the id.
  KeyEntry* insert_key(std::unique_ptr<KeyEntry> entry) const;
  SubjectState& find_or_add_key(std::string_view key_id, bool spend_loaded) const;

  std::vector<Subject> providers_;
  bool any_provider_ = false;
  std::shared_ptr<const KeyPolicy> master_;
  std::vector<std::shared_ptr<const KeyPolicy>> api_keys_;
  mutable std::array<std::atomic<KeyEntry*>, kKeySlots> keys_{};
  mutable std::shared_ptr<SubjectState> overflow_ = std::make_shared<SubjectState>();  // a full table's
  BudgetAlertSink alert_sink_;
};

class GovernanceRegistry {
 public:
  void set_alert_sink(BudgetAlertSink sink);
  // A snapshot's governance: the state of the providers and keys the previous one had, fresh
  // state for new ones; spend of new ones is read from the ledger when one is set.
  std::shared_ptr<const Governance> bind(const GatewayConfig& config);
  // From now on new state starts from the ledger's spend of the current day and month (the call
  // loads it for the state there is now).
  void set_ledger(std::shared_ptr<storage::UsageLedger> ledger);

 private:
  void load_spend(Governance& governance);

  std::mutex mutex_;
  BudgetAlertSink alert_sink_;
  std::shared_ptr<storage::UsageLedger> ledger_;
  std::map<std::string, std::shared_ptr<SubjectState>, std::less<>> providers_;
  std::map<std::string, std::shared_ptr<SubjectState>, std::less<>> keys_;
  std::weak_ptr<Governance> current_;
};

}  // namespace llmux::governance
