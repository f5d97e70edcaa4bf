// The access log: one JSON line per finished /v1 request, to stderr or a file (logging.access_log).
// The request path formats the line (no bodies, no secrets: the row holds the gateway key's name,
// never the key) and queues it; spdlog's async logger writes it from its own thread, so a slow
// disk or terminal never stalls a request. Like the operator log, a full queue drops the oldest
// line instead of blocking: the usage ledger, not this log, is the record that loses nothing.
//
// Line: {"time","request_id","method","path","status","provider","deployment","model",
//        "latency_ms","ttft_ms","tokens":{"input","cached","cache_write","output","reasoning"},
//        "cost_usd","cost_estimated","key_id","attempts","error_type"}
//
// Thread-safety: AccessLog::write and open_access_log may be called from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "storage/ledger.hpp"

namespace spdlog {
class logger;
}

namespace llmux::observability {

class AccessLog {
 public:
  explicit AccessLog(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}
  // Formats the request's line (in a buffer of the calling thread's) and queues it.
  void write(const storage::UsageRow& row, std::string_view method, std::string_view path);

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

// The access log for `config`: null when off (or when its file cannot be opened, which is logged).
// Two snapshots with the same target share one log, so a reload neither reopens nor reorders it.
std::shared_ptr<AccessLog> open_access_log(const AccessLogConfig& config);

// The line without its newline, appended to `out`.
void append_access_line(std::string& out, const storage::UsageRow& row, std::string_view method, std::string_view path);

}  // namespace llmux::observability
