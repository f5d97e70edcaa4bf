// The admin audit log: one JSON line per change made through the admin API, appended to
// <state_dir>/audit.log (created 0600):
//   {"time":"2026-12-01T17:20:03.120Z","admin":"admin-key …a1b2","action":"provider.register",
//    "provider":"groq","fields":["baseUrl","apiKey"]}
// `fields` names what changed, never a value: an apiKey or header value is never written here.
//
// Thread-safety: append() may be called from any thread (the admin threads); one write(2) per
// line on an O_APPEND descriptor, under a mutex, so lines never interleave. It runs on the admin
// threads, never on a worker's event loop.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "llmux/expected.hpp"

namespace llmux::admin {

struct AuditEntry {
  std::string admin;     // AdminRequest::admin_id
  std::string action;    // "provider.register", "provider.update", "provider.delete", "key.create", ...
  std::string provider;  // the provider (or key id) it concerns; "" for none
  std::vector<std::string> fields;  // names of the changed fields
};

class AuditLog {
 public:
  // `path`: the file; empty: entries are dropped (no state directory).
  explicit AuditLog(std::string path);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Appends the entry with the current time. The error says why it could not be written.
  Expected<void, std::string> append(const AuditEntry& entry);
  const std::string& path() const noexcept { return path_; }

  // The JSON line of an entry at `unix_ms` (without the newline); for tests.
  static std::string line(const AuditEntry& entry, int64_t unix_ms);

 private:
  std::string path_;
  std::mutex mutex_;
  int fd_ = -1;  // opened on the first append
};

// <state_dir>/audit.log
std::string audit_log_path(const std::string& state_dir);

}  // namespace llmux::admin
