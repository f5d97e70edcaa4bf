#include "observability/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <tuple>

#include "observability/number_text.hpp"
#include "observability/prometheus_text.hpp"

namespace llmux::observability {

namespace {

void append_number(std::string& out, uint64_t n) { append_decimal(out, n); }
void append_seconds(std::string& out, double seconds) { append_decimal(out, seconds); }

struct Totals {
  uint64_t requests = 0, prompt_tokens = 0, completion_tokens = 0, duration_ns = 0, events_dropped = 0, resumes = 0;
  std::array<uint64_t, kDurationBuckets.size() + 1> buckets{};
};

}  // namespace

void MetricsShard::record(const RequestRecord& r) {
  key_.assign(r.provider);
  key_ += '\0';
  key_ += r.model;
  key_ += '\0';
  char digits[12];
  key_.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, r.status).ptr - digits));
  auto it = series_.find(key_);
  if (it == series_.end()) {
    auto series = std::make_unique<Series>();
    series->provider = r.provider;
    series->model = r.model;
    series->status = r.status;
    std::lock_guard lock(shape_mutex_);
    it = series_.emplace(key_, std::move(series)).first;
  }
  Series& s = *it->second;
  s.requests.add(1);
  if (r.prompt_tokens > 0) s.prompt_tokens.add(static_cast<uint64_t>(r.prompt_tokens));
  if (r.completion_tokens > 0) s.completion_tokens.add(static_cast<uint64_t>(r.completion_tokens));
  auto ns = r.duration.count() > 0 ? static_cast<uint64_t>(r.duration.count()) : 0;
  s.duration_ns.add(ns);
  if (r.stream_events_dropped) s.events_dropped.add(r.stream_events_dropped);
  if (r.stream_resumes) s.resumes.add(r.stream_resumes);
  double seconds = static_cast<double>(ns) * 1e-9;
  auto bucket = std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), seconds);
  s.buckets[static_cast<size_t>(bucket - kDurationBuckets.begin())].add(1);
}

MetricsShard& Metrics::add_shard() {
  std::lock_guard lock(shards_mutex_);
  shards_.push_back(std::make_unique<MetricsShard>());
  return *shards_.back();
}

std::string Metrics::render() const {
  // (provider, model, status) -> totals, sorted for a stable exposition.
  std::map<std::tuple<std::string, std::string, int>, Totals> series;
  {
    std::lock_guard lock(shards_mutex_);
    for (const auto& shard : shards_) {
      std::lock_guard shape(shard->shape_mutex_);
      for (const auto& [key, s] : shard->series_) {
        Totals& t = series[{s->provider, s->model, s->status}];
        t.requests += s->requests.get();
        t.prompt_tokens += s->prompt_tokens.get();
        t.completion_tokens += s->completion_tokens.get();
        t.duration_ns += s->duration_ns.get();
        t.events_dropped += s->events_dropped.get();
        t.resumes += s->resumes.get();
        for (size_t i = 0; i < t.buckets.size(); ++i) t.buckets[i] += s->buckets[i].get();
      }
    }
  }
  std::string out;
  auto labels = [&out](const std::tuple<std::string, std::string, int>& key, bool with_status) {
    out += "provider=\"";
    append_label_value(out, std::get<0>(key));
    out += "\",model=\"";
    append_label_value(out, std::get<1>(key));
    out += '"';
    if (with_status) {
      out += ",status=\"";
      append_number(out, static_cast<uint64_t>(std::get<2>(key)));
      out += '"';
    }
  };

  out += "# HELP llmux_requests_total Completion, chat and embedding requests answered, by provider, model and HTTP status.\n"
         "# TYPE llmux_requests_total counter\n";
  for (const auto& [key, t] : series) {
    out += "llmux_requests_total{";
    labels(key, true);
    out += "} ";
    append_number(out, t.requests);
    out += '\n';
  }
  out += "# HELP llmux_tokens_total Tokens reported by providers, by provider, model and kind.\n"
         "# TYPE llmux_tokens_total counter\n";
  // Tokens do not depend on the status: summed over it.
  std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> tokens;
  for (const auto& [key, t] : series) {
    auto& sum = tokens[{std::get<0>(key), std::get<1>(key)}];
    sum.first += t.prompt_tokens;
    sum.second += t.completion_tokens;
  }
  for (const auto& [key, sum] : tokens) {
    for (int kind = 0; kind < 2; ++kind) {
      out += "llmux_tokens_total{";
      labels({key.first, key.second, 0}, false);
      out += kind == 0 ? ",kind=\"prompt\"} " : ",kind=\"completion\"} ";
      append_number(out, kind == 0 ? sum.first : sum.second);
      out += '\n';
    }
  }
  // Stream repairs, by provider (summed over model and status).
  std::map<std::string, std::pair<uint64_t, uint64_t>> repairs;
  for (const auto& [key, t] : series) {
    if (std::get<0>(key).empty()) continue;
    auto& sum = repairs[std::get<0>(key)];
    sum.first += t.events_dropped;
    sum.second += t.resumes;
  }
  for (int kind = 0; kind < 2; ++kind) {
    out += kind == 0 ? "# HELP llmux_stream_events_dropped_total Unparseable events of passed-through streams, dropped instead of forwarded.\n"
                       "# TYPE llmux_stream_events_dropped_total counter\n"
                     : "# HELP llmux_stream_resumes_total Continuations spliced into broken streams (resume: prefill), by the provider that finished the answer.\n"
                       "# TYPE llmux_stream_resumes_total counter\n";
    for (const auto& [provider, sum] : repairs) {
      out += kind == 0 ? "llmux_stream_events_dropped_total{provider=\"" : "llmux_stream_resumes_total{provider=\"";
      append_label_value(out, provider);
      out += "\"} ";
      append_number(out, kind == 0 ? sum.first : sum.second);
      out += '\n';
    }
  }
  out += "# HELP llmux_request_duration_seconds Time from a request's arrival to the end of its response.\n"
         "# TYPE llmux_request_duration_seconds histogram\n";
  for (const auto& [key, t] : series) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kDurationBuckets.size(); ++i) {
      cumulative += t.buckets[i];
      out += "llmux_request_duration_seconds_bucket{";
      labels(key, true);
      out += ",le=\"";
      if (i < kDurationBuckets.size()) append_seconds(out, kDurationBuckets[i]);
      else out += "+Inf";
      out += "\"} ";
      append_number(out, cumulative);
      out += '\n';
    }
    out += "llmux_request_duration_seconds_sum{";
    labels(key, true);
    out += "} ";
    append_seconds(out, static_cast<double>(t.duration_ns) * 1e-9);
    out += "\nllmux_request_duration_seconds_count{";
    labels(key, true);
    out += "} ";
    append_number(out, cumulative);
    out += '\n';
  }
  return out;
}

std::atomic<uint64_t>& GovernanceMetrics::rate_limit_rejections(std::string_view scope, std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& r : rejections_)
    if (r->scope == scope && r->name == name) return r->count;
  rejections_.push_back(std::make_unique<Rejections>());
  rejections_.back()->scope = scope;
  rejections_.back()->name = name;
  return rejections_.back()->count;
}

void GovernanceMetrics::set_budget_reader(BudgetReader reader) {
  std::lock_guard lock(mutex_);
  budgets_ = std::move(reader);
}

void GovernanceMetrics::render(std::string& out) const {
  PrometheusText text(out);
  std::vector<Budget> budgets;
  BudgetReader reader;
  {
    std::lock_guard lock(mutex_);
    reader = budgets_;  // called unlocked: it may register a counter itself
  }
  if (reader) reader(budgets);
  std::lock_guard lock(mutex_);
  if (!rejections_.empty()) {
    text.family("llmux_rate_limit_rejections_total", "counter",
                "Requests a rate limit turned away (moved to a fallback or answered 429), by limit.");
    for (const auto& r : rejections_)
      text.sample("llmux_rate_limit_rejections_total", {{"scope", r->scope}, {"name", r->name}},
                  r->count.load(std::memory_order_relaxed));
  }
  if (budgets.empty()) return;
  text.family("llmux_budget_spent_usd", "gauge", "Spend in the budget's current period, reservations included, USD.");
  for (const auto& b : budgets)
    text.sample("llmux_budget_spent_usd", {{"scope", b.scope}, {"name", b.name}, {"period", b.period}}, b.spent_usd);
  text.family("llmux_budget_cap_usd", "gauge", "The budget's cap for its period, USD.");
  for (const auto& b : budgets)
    text.sample("llmux_budget_cap_usd", {{"scope", b.scope}, {"name", b.name}, {"period", b.period}}, b.cap_usd);
}

}  // namespace llmux::observability
