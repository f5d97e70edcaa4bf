#include <chrono>

#include <boost/json.hpp>

#include "server/endpoints/endpoints.hpp"
#include "server/worker.hpp"
#include "storage/usage_query.hpp"

namespace llmux::server {

UsageTotals& Server::Impl::usage_for(const std::string& provider) {
  std::lock_guard lock(usage_mutex);
  return usage[provider];
}

// The ledger's report for the query's filters, with the per-provider totals since start under
// "providers" as before. The ledger is flushed first, so every request that ended before this
// one is counted. (An admin read: it runs on the worker's thread, not on the request path.)
Expected<std::string, Error> Server::Impl::usage_json(std::string_view target) {
  size_t mark = target.find('?');
  std::string_view query = mark == std::string_view::npos ? std::string_view() : target.substr(mark + 1);
  std::string out;
  if (ledger) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    auto filters = storage::parse_usage_query(storage::query_value(query, "since"), storage::query_value(query, "until"),
                                              storage::query_value(query, "by"), now_ms);
    if (!filters) return unexpected(Error::make(ErrorKind::invalid_request, filters.error(), "query", "invalid_filter"));
    ledger->flush();
    auto report = ledger->report(*filters);
    if (!report) return unexpected(Error::make(ErrorKind::internal, report.error(), {}, "ledger_unreadable"));
    out = storage::usage_report_json(*filters, *report);
    out.pop_back();  // the report's closing brace: "providers" joins its members
    out += ',';
  }
  boost::json::object providers;
  {
    std::lock_guard lock(usage_mutex);
    for (auto& [id, u] : usage) {
      boost::json::object o;
      o["requests"] = u.requests.load(std::memory_order_relaxed);
      o["prompt_tokens"] = u.prompt_tokens.load(std::memory_order_relaxed);
      o["completion_tokens"] = u.completion_tokens.load(std::memory_order_relaxed);
      providers[id] = std::move(o);
    }
  }
  if (out.empty()) out = "{";
  out += "\"providers\":";
  out += boost::json::serialize(providers);
  out += '}';
  return out;
}

}  // namespace llmux::server
