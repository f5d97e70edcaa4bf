#include "observability/provider_metrics.hpp"

#include <algorithm>
#include <cstring>

#include "core/json_text.hpp"
#include "observability/number_text.hpp"

namespace llmux::observability {

namespace {

constexpr std::memory_order relaxed = std::memory_order_relaxed;

void append_double(std::string& out, double value) {
  if (!(value == value) || value > 1e300 || value < -1e300) value = 0;  // JSON has no NaN or infinity
  append_decimal(out, value);
}

// Three decimals are more than a millisecond figure or a percentage means.
double rounded(double value, double unit = 1000.0) { return static_cast<double>(static_cast<int64_t>(value * unit + 0.5)) / unit; }

}  // namespace

// --- histogram ---------------------------------------------------------------------------------

size_t LatencyHistogram::bucket_of(int64_t us) noexcept {
  return static_cast<size_t>(std::lower_bound(kLatencyBoundsUs.begin(), kLatencyBoundsUs.end(), us) -
                             kLatencyBoundsUs.begin());
}

void LatencyHistogram::record(int64_t us) noexcept {
  if (us < 0) us = 0;
  counts_[bucket_of(us)].fetch_add(1, relaxed);
  sum_us_.fetch_add(us, relaxed);
}

LatencyHistogram::Snapshot LatencyHistogram::snapshot() const noexcept {
  Snapshot s;
  for (size_t i = 0; i < counts_.size(); ++i) {
    s.counts[i] = counts_[i].load(relaxed);
    s.count += s.counts[i];
  }
  s.sum_us = sum_us_.load(relaxed);
  return s;
}

double LatencyHistogram::Snapshot::quantile_ms(double q) const noexcept {
  if (count == 0) return 0;
  // The rank of the q-th value (1-based), then the bucket that holds it.
  double rank = std::max(1.0, q * static_cast<double>(count));
  uint64_t below = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0 || static_cast<double>(below + counts[i]) < rank) {
      below += counts[i];
      continue;
    }
    double lower = i == 0 ? 0.0 : static_cast<double>(kLatencyBoundsUs[i - 1]);
    if (i == kLatencyBucketCount) return lower / 1000.0;  // overflow: no upper bound to interpolate to
    double upper = static_cast<double>(kLatencyBoundsUs[i]);
    double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
    return (lower + (upper - lower) * within) / 1000.0;
  }
  return static_cast<double>(kLatencyBoundsUs.back()) / 1000.0;
}

// --- local meter -------------------------------------------------------------------------------

LocalProviderMeter::LocalProviderMeter(std::string provider_id) : provider_id_(std::move(provider_id)) {}

std::atomic<uint64_t>& LocalProviderMeter::error_counter(std::string_view type) noexcept {
  if (type.empty()) type = "unknown";
  type = type.substr(0, kErrorTypeLength);
  auto find = [&](size_t published) -> ErrorSlot* {
    for (size_t i = 0; i < published; ++i)
      if (std::string_view(errors_[i].name, errors_[i].length) == type) return &errors_[i];
    return nullptr;
  };
  if (auto* slot = find(errors_published_.load(std::memory_order_acquire))) return slot->count;
  std::lock_guard lock(claim_mutex_);
  size_t published = errors_published_.load(relaxed);
  if (auto* slot = find(published)) return slot->count;
  if (published == errors_.size()) return other_errors_;
  ErrorSlot& slot = errors_[published];
  std::memcpy(slot.name, type.data(), type.size());
  slot.length = static_cast<uint8_t>(type.size());
  errors_published_.store(published + 1, std::memory_order_release);
  return slot.count;
}

void LocalProviderMeter::record(const ProviderSample& s, router::SteadyTime now) noexcept {
  total_.fetch_add(1, relaxed);
  last_minute_.add(now, s.failed);
  if (s.failed) {
    failed_.fetch_add(1, relaxed);
    error_counter(s.error_type).fetch_add(1, relaxed);
  }
  if (s.tokens > 0) tokens_.fetch_add(static_cast<uint64_t>(s.tokens), relaxed);
  if (s.cost_nano_usd > 0) cost_nano_usd_.fetch_add(s.cost_nano_usd, relaxed);
  latency_.record(s.latency_us);
  if (s.ttft_us) ttft_.record(*s.ttft_us);
  if (s.upstream_us) upstream_.record(*s.upstream_us);
}

ProviderMetricsSnapshot LocalProviderMeter::read(router::SteadyTime now) const {
  ProviderMetricsSnapshot m;
  m.provider_id = provider_id_;
  m.total = total_.load(relaxed);
  m.failed = failed_.load(relaxed);
  auto window = last_minute_.totals(now);
  m.window_requests = window.attempts;
  m.window_failures = window.failures;
  m.cost_nano_usd = cost_nano_usd_.load(relaxed);
  m.tokens = tokens_.load(relaxed);
  size_t published = errors_published_.load(std::memory_order_acquire);
  for (size_t i = 0; i < published; ++i)
    m.errors_by_type.emplace_back(std::string(errors_[i].name, errors_[i].length), errors_[i].count.load(relaxed));
  if (uint64_t other = other_errors_.load(relaxed)) m.errors_by_type.emplace_back("other", other);
  m.latency = latency_.snapshot();
  m.ttft = ttft_.snapshot();
  m.upstream = upstream_.snapshot();
  return m;
}

std::vector<std::shared_ptr<ProviderMeter>> LocalProviderMeterStore::bind(std::span<const Key> providers) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::shared_ptr<ProviderMeter>>> kept;
  std::vector<std::shared_ptr<ProviderMeter>> out;
  for (const auto& key : providers) {
    auto same = [&](const auto& entry) { return entry.first == key.identity; };
    std::shared_ptr<ProviderMeter> meter;
    if (auto it = std::find_if(kept.begin(), kept.end(), same); it != kept.end()) meter = it->second;
    else if (auto old = std::find_if(meters_.begin(), meters_.end(), same); old != meters_.end()) meter = old->second;
    else meter = std::make_shared<LocalProviderMeter>(key.provider_id);
    if (std::none_of(kept.begin(), kept.end(), same)) kept.emplace_back(key.identity, meter);
    out.push_back(std::move(meter));
  }
  meters_ = std::move(kept);
  return out;
}

// --- the seeds' ProviderMetrics ----------------------------------------------------------------

std::string provider_metrics_json(const ProviderMetricsSnapshot& m, const Availability& availability) {
  std::string out;
  out.reserve(512);
  uint64_t successful = m.total - std::min(m.failed, m.total);
  double cost_usd = static_cast<double>(m.cost_nano_usd) / 1e9;
  // A minute's window: the counts in it are the per-minute rates.
  out += "{\"providerId\":";
  append_json_string(out, m.provider_id);
  out += ",\"requests\":{\"total\":";
  append_decimal(out, m.total);
  out += ",\"successful\":";
  append_decimal(out, successful);
  out += ",\"failed\":";
  append_decimal(out, m.failed);
  out += ",\"rate\":";
  append_decimal(out, m.window_requests);
  out += "},\"latency\":{\"average\":";
  append_double(out, rounded(m.latency.average_ms()));
  out += ",\"p95\":";
  append_double(out, rounded(m.latency.quantile_ms(0.95)));
  out += ",\"p99\":";
  append_double(out, rounded(m.latency.quantile_ms(0.99)));
  out += "},\"costs\":{\"total\":";
  append_double(out, cost_usd);
  out += ",\"perRequest\":";
  append_double(out, m.total ? cost_usd / static_cast<double>(m.total) : 0.0);
  out += ",\"perToken\":";
  append_double(out, m.tokens ? cost_usd / static_cast<double>(m.tokens) : 0.0);
  out += "},\"errors\":{\"total\":";
  append_decimal(out, m.failed);
  out += ",\"byType\":{";
  for (size_t i = 0; i < m.errors_by_type.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, m.errors_by_type[i].first);
    out += ':';
    append_decimal(out, m.errors_by_type[i].second);
  }
  out += "},\"rate\":";
  append_decimal(out, m.window_failures);
  out += "},\"availability\":{\"uptime\":";
  if (availability.uptime_percent) append_double(out, rounded(*availability.uptime_percent, 100.0));
  else out += "null";
  out += ",\"lastCheck\":";
  if (availability.last_check) append_json_string(out, *availability.last_check);
  else out += "null";
  out += ",\"status\":";
  append_json_string(out, availability.status);
  out += "}}";
  return out;
}

}  // namespace llmux::observability
