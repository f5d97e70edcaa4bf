// Operator log lines on stderr. The request path only formats and queues a line; spdlog's async
// logger writes it from its own thread, so a slow stderr never stalls a request. Callers pass
// text that is already safe to show (no secrets, upstream text scrubbed).
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <string_view>

namespace llmux::observability {

// Starts the writer thread now (at start-up) rather than on the first line, which may come when
// the process is short of resources (e.g. out of file descriptors).
void start_log();
void log_warning(std::string_view message);
void log_info(std::string_view message);
// Writes out everything queued (at exit, and in tests before reading stderr).
void flush_log();

}  // namespace llmux::observability
