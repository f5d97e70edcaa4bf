#include "discovery/live_models.hpp"

#include <algorithm>
#include <cstdio>

#include "discovery/defaults.hpp"

namespace llmux::discovery {

std::string LiveModels::key_of(const ProviderConfig& p) {
  return p.id + '\n' + p.base_url + '\n' + std::to_string(std::hash<std::string_view>{}(p.api_key.reveal()));
}

LiveModels::Refreshed LiveModels::store(const std::vector<ProviderConfig>& providers) {
  Refreshed out;
  if (providers.empty()) return out;
  auto fetched = fetch_model_lists(providers, timeout_);
  std::lock_guard lock(mutex_);
  for (const auto& p : providers) {
    std::string key = key_of(p);
    tried_.insert(key);
    auto it = fetched.find(p.id);
    if (it == fetched.end()) continue;
    if (!it->second.error.empty()) {  // keep the last good list
      out.failures.push_back(p.id + ": " + it->second.error);
      continue;
    }
    auto& list = lists_[key];
    if (list != it->second.ids) {
      list = std::move(it->second.ids);
      out.changed = true;
    }
  }
  return out;
}

void LiveModels::fetch_new(const std::vector<ProviderConfig>& providers) {
  std::vector<ProviderConfig> fresh;
  {
    std::lock_guard lock(mutex_);
    for (const auto& p : providers)
      if (!tried_.count(key_of(p))) fresh.push_back(p);
  }
  for (const auto& failure : store(fresh).failures)
    std::fprintf(stderr, "llmux: no live model list for %s; only PROVIDER/MODEL names reach it\n", failure.c_str());
}

LiveModels::Refreshed LiveModels::refresh(const std::vector<ProviderConfig>& providers) { return store(providers); }

void LiveModels::apply(ProviderConfig& provider) const {
  if (!provider.models.empty()) return;
  std::lock_guard lock(mutex_);
  auto it = lists_.find(key_of(provider));
  if (it == lists_.end()) return;
  std::set<std::string_view> seen;  // a listing that repeats an id must not make the config invalid
  auto add = [&](const std::string& id) {
    if (seen.insert(id).second) provider.models.push_back({.id = id, .upstream_id = id, .name = id});
  };
  for (const auto& id : it->second) add(id);
  if (!provider.default_model.empty()) add(provider.default_model);
}

}  // namespace llmux::discovery
