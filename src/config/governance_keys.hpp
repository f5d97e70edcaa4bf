// The rate-limit and budget settings of the config: a provider's `rateLimit:` / `budget:` and the
// object form of an `api_keys` entry. Read here, apart from the loader; the loader reports the
// issues found at the nodes they name. README "Rate limits and budgets".
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "llmux/config.hpp"

namespace llmux::config_detail {

struct GovernanceIssue {
  YAML::Node node;   // where it is (for the line and column)
  std::string path;  // the key path as written
  std::string message;
};
using GovernanceIssues = std::vector<GovernanceIssue>;

// rateLimit: { rpm, rph, tpm, concurrent } (whole numbers, 0 = no limit).
void read_rate_limits(const YAML::Node& node, const std::string& path, governance::RateLimits& out,
                      GovernanceIssues& issues);
// budget: { daily, monthly, alertThreshold } (USD amounts; alertThreshold between 0 and 1).
void read_budget(const YAML::Node& node, const std::string& path, governance::BudgetLimits& out,
                 GovernanceIssues& issues);
// One api_keys entry: a key string, or { key, name, rpm, rph, tpm, concurrent, rateLimit, budget }.
// Returns the key (empty when missing or unreadable; an issue says why).
std::string read_api_key(const YAML::Node& node, const std::string& path, ApiKeySettings& out,
                         GovernanceIssues& issues);

// The api_keys list (or one key): fills config.api_keys and config.api_key_settings in step.
// Empty entries are skipped, so a list may name optional keys: - ${EXTRA_KEY:-}
void read_api_keys(const YAML::Node& node, const std::string& path, GatewayConfig& config, GovernanceIssues& issues);

// A USD amount ("0.10", "25", "1e-3") in micro-USD, rounded to the nearest.
Expected<int64_t, std::string> parse_usd_micro(std::string_view text);

}  // namespace llmux::config_detail
