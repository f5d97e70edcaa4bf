// Writing Prometheus' text exposition format (0.0.4): family headers, samples with escaped label
// values, histograms of the latency buckets. Off the request path (a scrape).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "observability/provider_metrics.hpp"

namespace llmux::observability {

// A label value with '\', '"' and line feeds escaped, as the format requires.
void append_label_value(std::string& out, std::string_view value);

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class PrometheusText {
 public:
  explicit PrometheusText(std::string& out) : out_(out) {}
  // "# HELP name help\n# TYPE name type\n"; `help` must hold no line feed or backslash.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, Labels labels, uint64_t value);
  void sample(std::string_view name, Labels labels, double value);
  // name_bucket{…,le="…"} for each bound of kLatencyBoundsUs (in seconds) and +Inf, name_sum, name_count.
  void histogram(std::string_view name, Labels labels, const LatencyHistogram::Snapshot& h);

 private:
  void begin(std::string_view name, Labels labels, std::string_view le = {});
  std::string& out_;
};

}  // namespace llmux::observability
