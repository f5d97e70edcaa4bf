#include "observability/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace llmux::observability {

namespace {

// Overflow drops the oldest queued line rather than blocking a request thread: these lines are
// for people, and the ledger (not this log) is what must never lose a row.
std::shared_ptr<spdlog::logger> make_logger() {
  spdlog::init_thread_pool(8192, 1);
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::async_logger>("llmux", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ llmux %l: %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}

}  // namespace

void start_log() { (void)logger(); }
void log_warning(std::string_view message) { logger().warn("{}", message); }
void log_info(std::string_view message) { logger().info("{}", message); }
void flush_log() { logger().flush(); }

}  // namespace llmux::observability
