// Live model lists of discovered providers (a known service whose key variable is set or whose key
// is in the vault). Such a provider lists no models of its own, so without its live list a bare
// model id ("gpt-4o") would name nothing and GET /v1/models would show nothing for it. Fetched
// when the provider first appears and refreshed in the background; a failed fetch keeps the last
// good list.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "llmux/config.hpp"

namespace llmux::discovery {

class LiveModels {
 public:
  explicit LiveModels(std::chrono::milliseconds timeout) : timeout_(timeout) {}

  // Fetches the lists of the providers never fetched before (blocking, within the timeout).
  void fetch_new(const std::vector<ProviderConfig>& providers);
  struct Refreshed {
    bool changed = false;
    std::vector<std::string> failures;  // "openai: no answer from … within 3000 ms"
  };
  // Fetches every provider's list again.
  Refreshed refresh(const std::vector<ProviderConfig>& providers);
  // The provider's live list as its models (it has none configured); its default model stays
  // listed even when the listing leaves it out (the listing may be partial).
  void apply(ProviderConfig& provider) const;

 private:
  // A changed URL or key is another listing.
  static std::string key_of(const ProviderConfig& p);
  Refreshed store(const std::vector<ProviderConfig>& providers);

  std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> lists_;  // key_of -> model ids
  std::set<std::string> tried_;
};

}  // namespace llmux::discovery
