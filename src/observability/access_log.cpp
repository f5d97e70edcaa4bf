#include "observability/access_log.hpp"

#include <ctime>
#include <map>
#include <mutex>

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/json_text.hpp"
#include "governance/prices.hpp"
#include "observability/log.hpp"
#include "observability/number_text.hpp"

namespace llmux::observability {

namespace {

// Microseconds as milliseconds with three decimals, exactly (no binary float).
void append_ms(std::string& out, int64_t us) {
  if (us < 0) us = 0;
  append_decimal(out, us / 1000);
  char frac[4] = {'.', static_cast<char>('0' + us / 100 % 10), static_cast<char>('0' + us / 10 % 10),
                  static_cast<char>('0' + us % 10)};
  out.append(frac, 4);
}

// "2026-12-01T14:03:07.123Z"
// The date and time of a second are formatted once per thread and second: strftime was a third of
// a line's cost at a few thousand lines a second.
void append_time(std::string& out, int64_t epoch_ms) {
  thread_local int64_t formatted_second = -1;
  thread_local char text[32];
  thread_local size_t n = 0;
  if (epoch_ms / 1000 != formatted_second) {
    formatted_second = epoch_ms / 1000;
    std::time_t seconds = static_cast<std::time_t>(formatted_second);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  }
  out.append(text, n);
  int ms = static_cast<int>(epoch_ms % 1000);
  char frac[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                  static_cast<char>('0' + ms % 10), 'Z'};
  out.append(frac, 5);
}

void append_field(std::string& out, std::string_view name, std::string_view value, bool null_when_empty = false) {
  out += ",\"";
  out += name;
  out += "\":";
  if (null_when_empty && value.empty()) out += "null";
  else append_json_string(out, value);
}

std::shared_ptr<spdlog::logger> make_logger(const AccessLogConfig& config) {
  start_log();  // the shared writer thread
  spdlog::sink_ptr sink;
  if (config.target == AccessLogConfig::Target::file) sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.path);
  else sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::async_logger>("access", sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_pattern("%v");
  logger->flush_on(spdlog::level::info);  // a line is whole on disk once written, for tailing tools
  return logger;
}

}  // namespace

void append_access_line(std::string& out, const storage::UsageRow& row, std::string_view method, std::string_view path) {
  out += "{\"time\":\"";
  append_time(out, row.time_ms);
  out += '"';
  append_field(out, "request_id", row.request_id);
  append_field(out, "method", method);
  append_field(out, "path", path);
  out += ",\"status\":";
  append_decimal(out, row.status);
  append_field(out, "provider", row.provider, true);
  append_field(out, "deployment", row.deployment, true);
  append_field(out, "model", row.model_requested, true);
  out += ",\"latency_ms\":";
  append_ms(out, row.latency_us);
  out += ",\"ttft_ms\":";
  if (row.ttft_us) append_ms(out, *row.ttft_us);
  else out += "null";
  out += ",\"tokens\":{\"input\":";
  append_decimal(out, row.input_tokens);
  out += ",\"cached\":";
  append_decimal(out, row.cached_tokens);
  out += ",\"cache_write\":";
  append_decimal(out, row.cache_write_tokens);
  out += ",\"output\":";
  append_decimal(out, row.output_tokens);
  out += ",\"reasoning\":";
  append_decimal(out, row.reasoning_tokens);
  out += "},\"cost_usd\":";
  governance::append_usd_nanos(out, row.cost_nano_usd);
  out += ",\"cost_estimated\":";
  out += row.estimated ? "true" : "false";
  append_field(out, "key_id", row.key_id, true);
  out += ",\"attempts\":";
  append_decimal(out, row.attempts);
  append_field(out, "error_type", row.error_type, true);
  out += '}';
}

void AccessLog::write(const storage::UsageRow& row, std::string_view method, std::string_view path) {
  thread_local std::string scratch;
  scratch.clear();
  append_access_line(scratch, row, method, path);
  logger_->info(std::string_view(scratch));
}

std::shared_ptr<AccessLog> open_access_log(const AccessLogConfig& config) {
  if (config.target == AccessLogConfig::Target::off) return nullptr;
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<AccessLog>> open;  // by target
  std::string key = config.target == AccessLogConfig::Target::file ? "file:" + config.path : "stderr";
  std::lock_guard lock(mutex);
  if (auto existing = open[key].lock()) return existing;
  try {
    auto log = std::make_shared<AccessLog>(make_logger(config));
    open[key] = log;
    return log;
  } catch (const spdlog::spdlog_ex& e) {
    log_warning("access log " + config.path + " cannot be opened (" + e.what() + "): access logging is off");
    return nullptr;
  }
}

}  // namespace llmux::observability
