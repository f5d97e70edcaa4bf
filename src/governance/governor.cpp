#include "governance/governor.hpp"

#include "governance/prices.hpp"
#include "observability/log.hpp"
#include "storage/ledger.hpp"

namespace llmux::governance {

namespace {

void append_usd_of_micro(std::string& out, int64_t micro) { append_usd_nanos(out, micro * 1000); }

}  // namespace

std::string budget_alert_json(const BudgetAlert& a) {
  std::string out = "{\"type\":\"budget_alert\",\"subject\":\"";
  out += a.subject;
  out += "\",\"id\":\"";
  for (char c : a.id)  // ids are config names: plain text, escaped only for quotes and backslashes
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) >= 0x20) out += c;
  out += "\",\"period\":\"";
  out += a.crossing.period == BudgetPeriod::daily ? "daily" : "monthly";
  out += "\",\"spent_usd\":";
  append_usd_of_micro(out, a.crossing.used_micro);
  out += ",\"cap_usd\":";
  append_usd_of_micro(out, a.crossing.cap_micro);
  out += ",\"threshold\":" + std::to_string(a.threshold) + "}";
  return out;
}

Governance::~Governance() {
  for (auto& slot : keys_) delete slot.load(std::memory_order_acquire);
}

const Governance::Subject* Governance::provider(std::string_view id) const noexcept {
  for (const auto& p : providers_)
    if (p.id == id) return p.governed() ? &p : nullptr;
  return nullptr;
}

Governance::KeyEntry* Governance::insert_key(std::unique_ptr<KeyEntry> entry) const {
  size_t start = std::hash<std::string_view>{}(entry->id) % kKeySlots;
  for (size_t n = 0; n < kKeySlots; ++n) {
    auto& slot = keys_[(start + n) % kKeySlots];
    KeyEntry* seen = slot.load(std::memory_order_acquire);
    if (!seen) {
      KeyEntry* mine = entry.get();
      if (slot.compare_exchange_strong(seen, mine, std::memory_order_acq_rel)) return entry.release();
    }
    if (seen->id == entry->id) return seen;
  }
  return nullptr;
}

// Open addressing, never removed from: a reader sees a slot empty or holding a complete entry.
SubjectState& Governance::key_state(std::string_view key_id) const { return find_or_add_key(key_id, true); }

// A state made on the request path is live at once: its spend must never be replaced by a later
// ledger load (that would drop the reservations in flight). Only the ledger load itself makes
// states still to be loaded (spend_loaded false).
SubjectState& Governance::find_or_add_key(std::string_view key_id, bool spend_loaded) const {
  size_t start = std::hash<std::string_view>{}(key_id) % kKeySlots;
  for (size_t n = 0; n < kKeySlots; ++n) {
    KeyEntry* seen = keys_[(start + n) % kKeySlots].load(std::memory_order_acquire);
    if (!seen) break;
    if (seen->id == key_id) return *seen->state;
  }
  auto entry = std::make_unique<KeyEntry>(KeyEntry{std::string(key_id), std::make_shared<SubjectState>()});
  entry->state->spend_loaded.store(spend_loaded, std::memory_order_relaxed);
  KeyEntry* held = insert_key(std::move(entry));
  // More keys than slots in one snapshot: the rest share one state (limits then hold for them together).
  return held ? *held->state : *overflow_;
}

void GovernanceRegistry::set_alert_sink(BudgetAlertSink sink) {
  std::lock_guard lock(mutex_);
  alert_sink_ = std::move(sink);
}

std::shared_ptr<const Governance> GovernanceRegistry::bind(const GatewayConfig& config) {
  std::lock_guard lock(mutex_);
  auto g = std::make_shared<Governance>();
  g->alert_sink_ = alert_sink_;
  // Keys the previous snapshot met on the request path (virtual keys) keep their state too.
  if (auto previous = current_.lock())
    for (auto& slot : previous->keys_)
      if (Governance::KeyEntry* e = slot.load(std::memory_order_acquire)) keys_.try_emplace(e->id, e->state);

  std::map<std::string, std::shared_ptr<SubjectState>, std::less<>> providers;
  for (const auto& p : config.providers) {
    auto& state = providers[p.id];
    if (auto old = providers_.find(p.id); old != providers_.end()) state = old->second;
    if (!state) state = std::make_shared<SubjectState>();
    g->providers_.push_back({p.id, p.governance.limits, p.governance.budget, state});
    g->any_provider_ = g->any_provider_ || g->providers_.back().governed();
  }
  providers_ = std::move(providers);

  auto master = std::make_shared<KeyPolicy>();
  master->id = master->name = "master_key";
  g->master_ = std::move(master);
  for (size_t i = 0; i < config.api_keys.size(); ++i) {
    auto policy = std::make_shared<KeyPolicy>();
    policy->id = "api_keys[" + std::to_string(i) + "]";
    if (i < config.api_key_settings.size()) {
      const auto& s = config.api_key_settings[i];
      policy->name = s.name;
      policy->limits = s.limits;
      policy->budget = s.budget;
    }
    if (policy->name.empty()) policy->name = policy->id;
    g->api_keys_.push_back(std::move(policy));
  }
  for (auto& [id, state] : keys_) g->insert_key(std::make_unique<Governance::KeyEntry>(Governance::KeyEntry{id, state}));
  if (ledger_) load_spend(*g);
  current_ = g;
  return g;
}

void GovernanceRegistry::set_ledger(std::shared_ptr<storage::UsageLedger> ledger) {
  std::lock_guard lock(mutex_);
  ledger_ = std::move(ledger);
  if (auto g = current_.lock(); g && ledger_) load_spend(*g);
}

// This day's and month's spend per provider and per key, for the state not yet loaded. Every key
// the ledger knows this month gets its state now, so a virtual key's spend survives a restart too.
void GovernanceRegistry::load_spend(Governance& g) {
  auto now = std::chrono::system_clock::now();
  auto ms = [](router::WallTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  };
  int64_t day_start = ms(period_start(BudgetPeriod::daily, now));
  int64_t month_start = ms(period_start(BudgetPeriod::monthly, now));
  bool pending = false;
  for (const auto& p : g.providers_) pending = pending || !p.state->spend_loaded.load();
  for (const auto& policy : g.api_keys_) pending = pending || !g.find_or_add_key(policy->name, false).spend_loaded.load();
  if (!pending) return;
  ledger_->flush();  // rows of requests just finished count too
  using Spend = std::map<std::string, std::pair<int64_t, int64_t>, std::less<>>;  // day, month micro-USD
  auto read = [&](storage::SpendSubject by, Spend& out) {
    for (int64_t since : {month_start, day_start}) {
      auto spend = ledger_->spend_since(since, by);
      if (!spend) {
        observability::log_warning("budgets: the usage ledger could not be read (" + spend.error() +
                                   "); spend starts from zero");
        return;
      }
      for (const auto& subject : *spend) {
        auto& [day, month] = out[subject.subject];
        (since == day_start ? day : month) = micro_of_nano(subject.cost_nano_usd);
      }
    }
  };
  Spend by_provider, by_key;
  read(storage::SpendSubject::provider, by_provider);
  read(storage::SpendSubject::key, by_key);
  auto apply = [&](SubjectState& state, const Spend& spend, std::string_view id) {
    if (state.spend_loaded.exchange(true)) return;
    auto it = spend.find(id);
    if (it != spend.end()) state.budget.set_spent(it->second.first, it->second.second, now);
  };
  for (const auto& p : g.providers_) apply(*p.state, by_provider, p.id);
  for (const auto& [id, amounts] : by_key) {
    if (id.empty()) continue;
    apply(g.find_or_add_key(id, false), by_key, id);  // the next bind adopts it from this snapshot's table
  }
  for (const auto& policy : g.api_keys_) apply(g.find_or_add_key(policy->name, false), by_key, policy->name);
}

}  // namespace llmux::governance
