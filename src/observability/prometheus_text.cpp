#include "observability/prometheus_text.hpp"

#include <cmath>

#include "observability/number_text.hpp"

namespace llmux::observability {

namespace {

void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  append_decimal(out, value);
}

void append_number(std::string& out, uint64_t value) { append_decimal(out, value); }

}  // namespace

void append_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
  out_.append(type).append("\n");
}

void PrometheusText::begin(std::string_view name, Labels labels, std::string_view le) {
  out_ += name;
  if (labels.size() == 0 && le.empty()) {
    out_ += ' ';
    return;
  }
  char sep = '{';
  for (const auto& [label, value] : labels) {
    out_ += sep;
    out_ += label;
    out_ += "=\"";
    append_label_value(out_, value);
    out_ += '"';
    sep = ',';
  }
  if (!le.empty()) {
    out_ += sep;
    out_ += "le=\"";
    out_ += le;
    out_ += '"';
  }
  out_ += "} ";
}

void PrometheusText::sample(std::string_view name, Labels labels, uint64_t value) {
  begin(name, labels);
  append_number(out_, value);
  out_ += '\n';
}

void PrometheusText::sample(std::string_view name, Labels labels, double value) {
  begin(name, labels);
  append_number(out_, value);
  out_ += '\n';
}

void PrometheusText::histogram(std::string_view name, Labels labels, const LatencyHistogram::Snapshot& h) {
  std::string bucket(name), le;
  bucket += "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= kLatencyBucketCount; ++i) {
    cumulative += h.counts[i];
    le.clear();
    if (i < kLatencyBucketCount) append_number(le, static_cast<double>(kLatencyBoundsUs[i]) / 1e6);
    else le = "+Inf";
    begin(bucket, labels, le);
    append_number(out_, cumulative);
    out_ += '\n';
  }
  sample(std::string(name) + "_sum", labels, static_cast<double>(h.sum_us) / 1e6);
  // The buckets' sum, not h.count: a record racing with the scrape must not put +Inf above count.
  sample(std::string(name) + "_count", labels, cumulative);
}

}  // namespace llmux::observability
