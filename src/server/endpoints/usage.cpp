#include <boost/json.hpp>

#include "server/endpoints/endpoints.hpp"
#include "server/worker.hpp"

namespace llmux::server {

UsageTotals& Server::Impl::usage_for(const std::string& provider) {
  std::lock_guard lock(usage_mutex);
  return usage[provider];
}

std::string Server::Impl::usage_json() {
  boost::json::object providers;
  std::lock_guard lock(usage_mutex);
  for (auto& [id, u] : usage) {
    boost::json::object o;
    o["requests"] = u.requests.load(std::memory_order_relaxed);
    o["prompt_tokens"] = u.prompt_tokens.load(std::memory_order_relaxed);
    o["completion_tokens"] = u.completion_tokens.load(std::memory_order_relaxed);
    providers[id] = std::move(o);
  }
  boost::json::object out;
  out["providers"] = std::move(providers);
  return boost::json::serialize(out);
}

}  // namespace llmux::server
