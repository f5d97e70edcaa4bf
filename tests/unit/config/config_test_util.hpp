// Shared helpers for the config tests.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "llmux/config.hpp"

namespace llmux::config_test {

inline std::vector<std::string> formatted(const ConfigErrors& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) out.push_back(format_config_error(e));
  return out;
}

inline std::string joined(const ConfigErrors& errors) {
  std::string out;
  for (const auto& line : formatted(errors)) out += line + "\n";
  return out;
}

// Errors of loading `text` as "cfg.yaml", formatted; empty when it loads.
inline std::vector<std::string> load_errors(const std::string& text) {
  auto result = load_config_text(text, "cfg.yaml");
  return result ? std::vector<std::string>{} : formatted(result.error());
}

inline GatewayConfig load_ok(const std::string& text, const std::string& file = "cfg.yaml") {
  auto result = load_config_text(text, file);
  EXPECT_TRUE(result) << (result ? "" : joined(result.error()));
  return result ? std::move(*result) : GatewayConfig{};
}

// Every field except `source`, so differently written configs can be compared.
inline std::string dump(const ProviderConfig& p) {
  std::ostringstream o;
  o << "id=" << p.id << " name=" << p.name << " type=" << p.type << " url=" << p.base_url
    << " key=" << p.api_key.reveal() << " auth=" << static_cast<int>(p.auth)
    << " auth_header=" << p.auth_header << " headers=";
  for (const auto& h : p.headers) o << h.name << ':' << h.value << ';';
  o << " models=";
  for (const auto& m : p.models) {
    o << '{' << m.id << ',' << m.upstream_id << ',' << m.name << ",[";
    for (const auto& a : m.aliases) o << a << ';';
    o << "]," << m.context_window.value_or(-1) << ',' << m.prices.input << ',' << m.prices.output << ','
      << m.prices.cached_input.value_or(-1) << ',' << m.prices.cache_write.value_or(-1) << ','
      << m.prices.reasoning.value_or(-1) << '}';
  }
  o << " default_model=" << p.default_model << " params=" << p.default_params_json
    << " enabled=" << p.enabled << " priority=" << p.priority << " timeout=" << p.timeout.count()
    << " retries=" << p.max_retries;
  return o.str();
}

}  // namespace llmux::config_test
