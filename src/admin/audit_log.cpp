#include "admin/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include <boost/json.hpp>

namespace llmux::admin {

namespace {

std::string iso8601_ms(int64_t unix_ms) {
  std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return text;
}

}  // namespace

std::string audit_log_path(const std::string& state_dir) { return state_dir + "/audit.log"; }

AuditLog::AuditLog(std::string path) : path_(std::move(path)) {}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::string AuditLog::line(const AuditEntry& entry, int64_t unix_ms) {
  boost::json::array fields;
  for (const auto& f : entry.fields) fields.emplace_back(f);
  boost::json::object o{{"time", iso8601_ms(unix_ms)},
                        {"admin", entry.admin},
                        {"action", entry.action},
                        {"provider", entry.provider},
                        {"fields", std::move(fields)}};
  return boost::json::serialize(o);
}

Expected<void, std::string> AuditLog::append(const AuditEntry& entry) {
  if (path_.empty()) return {};
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string text = line(entry, now_ms);
  text += '\n';
  std::lock_guard lock(mutex_);
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return unexpected(path_ + ": cannot open the audit log: " + std::strerror(errno));
    ::fchmod(fd_, 0600);  // a file created before by someone else's umask
  }
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd_, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return unexpected(path_ + ": cannot write the audit log: " + std::strerror(errno));
    written += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace llmux::admin
