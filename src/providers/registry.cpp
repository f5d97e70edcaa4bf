// Provider types and their factories. Adding a provider: one directory plus one line here.
#include <functional>
#include <map>

#include "providers/openai_compatible/openai_compatible.hpp"
#include "providers/provider.hpp"

namespace llmux::providers {

namespace {

using Factory = std::function<std::unique_ptr<Provider>(const ProviderConfig&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"openai-compatible", [](const ProviderConfig& c) { return std::make_unique<OpenAICompatibleProvider>(c); }},
  };
  return table;
}

}  // namespace

Expected<std::unique_ptr<Provider>, std::string> make_provider(const ProviderConfig& config) {
  auto it = factories().find(config.type);
  if (it == factories().end()) {
    std::string known;
    for (const auto& name : known_provider_types()) known += (known.empty() ? "" : ", ") + name;
    return unexpected("unknown provider type '" + config.type + "' (known: " + known + ")");
  }
  return it->second(config);
}

std::vector<std::string> known_provider_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace llmux::providers
