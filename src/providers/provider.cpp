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

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Error transfer_error(const Provider& provider, std::string_view url, const http::TransferResult& result,
                     std::chrono::milliseconds timeout) {
  Error e;
  if (result.failure == http::TransferFailure::timeout) {
    e = Error::make(ErrorKind::upstream_timeout,
                    "provider '" + provider.id() + "' did not respond within " + format_duration(timeout) +
                        " (" + std::string(url) + ")",
                    {}, "upstream_timeout");
  } else {
    e = Error::make(ErrorKind::upstream_unreachable,
                    "provider '" + provider.id() + "' is unreachable at " + std::string(url) + ": " + result.detail,
                    {}, "upstream_unreachable");
    e.retryable = true;
  }
  e.provider = provider.id();
  return e;
}

std::vector<std::string> known_provider_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace llmux::providers
