#include "config/governance_keys.hpp"

#include <charconv>
#include <cmath>

#include "config/config_internal.hpp"
#include "config/key_scopes.hpp"

namespace llmux::config_detail {

namespace {

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The entries of a mapping by snake_case key; unknown keys are issues.
struct Entry {
  std::string key;  // snake_case
  YAML::Node value;
  std::string path;
};

std::vector<Entry> entries(const YAML::Node& node, const std::string& path, std::initializer_list<std::string_view> known,
                           const char* what, GovernanceIssues& issues) {
  std::vector<Entry> out;
  if (!node.IsMap()) {
    if (!node.IsNull()) issues.push_back({node, path, std::string("expected ") + what});
    return out;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      issues.push_back({it->first, path, "keys must be plain names"});
      continue;
    }
    std::string key = to_snake(it->first.Scalar());
    std::string at = child_path(path, it->first.Scalar());
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      issues.push_back({it->first, at, "unknown key \"" + it->first.Scalar() + "\" (expected one of: " + list + ")"});
      continue;
    }
    out.push_back({std::move(key), it->second, std::move(at)});
  }
  return out;
}

std::optional<std::string> scalar(const Entry& e, GovernanceIssues& issues) {
  if (e.value.IsNull()) return std::nullopt;
  if (!e.value.IsScalar()) {
    issues.push_back({e.value, e.path, "expected a single value"});
    return std::nullopt;
  }
  auto expanded = expand_env(e.value.Scalar());
  if (!expanded) {
    issues.push_back({e.value, e.path, expanded.error()});
    return std::nullopt;
  }
  return std::move(*expanded);
}

void read_count(const Entry& e, uint32_t& out, GovernanceIssues& issues) {
  auto s = scalar(e, issues);
  if (!s) return;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  if (ec != std::errc() || end != s->data() + s->size() || v > UINT32_MAX) {
    issues.push_back({e.value, e.path, "expected a whole number from 0 to " + std::to_string(UINT32_MAX) + ", got \"" + *s + "\""});
    return;
  }
  out = static_cast<uint32_t>(v);
}

bool read_limit_entry(const Entry& e, governance::RateLimits& out, GovernanceIssues& issues) {
  if (e.key == "rpm") read_count(e, out.rpm, issues);
  else if (e.key == "rph") read_count(e, out.rph, issues);
  else if (e.key == "tpm") read_count(e, out.tpm, issues);
  else if (e.key == "concurrent") read_count(e, out.concurrent, issues);
  else return false;
  return true;
}

}  // namespace

Expected<int64_t, std::string> parse_usd_micro(std::string_view text) {
  double usd = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), usd);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(usd) || usd < 0 ||
      usd > 2.8e8)
    return unexpected("expected an amount in USD (e.g. 25 or 0.50), got \"" + std::string(text) + "\"");
  return static_cast<int64_t>(std::llround(usd * 1e6));
}

void read_rate_limits(const YAML::Node& node, const std::string& path, governance::RateLimits& out,
                      GovernanceIssues& issues) {
  for (const auto& e : entries(node, path, {"rpm", "rph", "tpm", "concurrent"},
                               "a mapping with rpm, rph, tpm and concurrent", issues))
    read_limit_entry(e, out, issues);
}

void read_budget(const YAML::Node& node, const std::string& path, governance::BudgetLimits& out,
                 GovernanceIssues& issues) {
  for (const auto& e : entries(node, path, {"daily", "monthly", "alert_threshold"},
                               "a mapping with daily, monthly (USD) and alertThreshold (0-1)", issues)) {
    auto s = scalar(e, issues);
    if (!s) continue;
    if (e.key == "alert_threshold") {
      double v = -1;
      auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
      if (ec != std::errc() || end != s->data() + s->size() || !(v >= 0 && v <= 1))
        issues.push_back({e.value, e.path, "expected a share of the cap from 0 to 1 (0.8 = 80%), got \"" + *s + "\""});
      else
        out.alert_threshold = v;
      continue;
    }
    auto micro = parse_usd_micro(*s);
    if (!micro) {
      issues.push_back({e.value, e.path, micro.error()});
      continue;
    }
    (e.key == "daily" ? out.daily_micro_usd : out.monthly_micro_usd) = *micro;
  }
}

std::string read_api_key(const YAML::Node& node, const std::string& path, ApiKeySettings& out,
                         GovernanceIssues& issues) {
  if (node.IsScalar()) {
    auto expanded = expand_env(node.Scalar());
    if (!expanded) issues.push_back({node, path, expanded.error()});
    return expanded ? std::move(*expanded) : std::string();
  }
  if (!node.IsMap()) {
    if (!node.IsNull()) issues.push_back({node, path, "expected a key, or a mapping with key, name, rpm, tpm, concurrent and budget"});
    return {};
  }
  std::string key;
  bool has_key = false;
  for (const auto& e : entries(node, path, {"key", "name", "rpm", "rph", "tpm", "concurrent", "rate_limit", "budget"},
                               "a mapping", issues)) {
    if (read_limit_entry(e, out.limits, issues)) continue;
    if (e.key == "rate_limit") read_rate_limits(e.value, e.path, out.limits, issues);
    else if (e.key == "budget") read_budget(e.value, e.path, out.budget, issues);
    else if (auto s = scalar(e, issues)) {
      if (e.key == "key") key = std::move(*s), has_key = true;
      else out.name = std::move(*s);
    }
  }
  if (!has_key) issues.push_back({node, path, "an api_keys entry written as a mapping needs key: (the key itself)"});
  return key;
}

void read_api_keys(const YAML::Node& node, const std::string& path, GatewayConfig& config, GovernanceIssues& issues) {
  auto add = [&](const YAML::Node& entry, const std::string& at) {
    ApiKeySettings settings;
    std::string key = read_api_key(entry, at, settings, issues);
    if (key.empty()) return;
    config.api_keys.emplace_back(std::move(key));
    config.api_key_settings.push_back(std::move(settings));
  };
  if (node.IsMap()) {
    issues.push_back({node, path, "expected a list of keys (strings, or mappings with key:), got a mapping"});
    return;
  }
  if (!node.IsSequence()) return add(node, path);
  for (size_t n = 0; n < node.size(); ++n) add(node[n], path + "[" + std::to_string(n) + "]");
}

}  // namespace llmux::config_detail
