// Small file helpers for the CLI's stores: whole-file reads, atomic replacement, directory locks
// and the XDG paths every store lives under.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/expected.hpp"

namespace llmux::store {

// What went wrong, sorted by how the CLI reports it (each kind has its own exit status).
enum class FailKind {
  invalid,    // the input, or the file a change would produce, is invalid (exit 2 from the CLI)
  broken,     // a file on disk (config, provider store, prompts, settings) is invalid (exit 1)
  not_found,  // a named provider, prompt or key does not exist (exit 3)
  conflict,   // the name is taken (exit 2)
  io,         // reading or writing a file failed (exit 1)
  vault,      // the vault cannot be opened: wrong master key, tampering, bad key file (exit 4)
};

struct Failure {
  FailKind kind = FailKind::io;
  std::vector<std::string> messages;  // one line each; never contain a secret

  static Failure of(FailKind kind, std::string message) { return {kind, {std::move(message)}}; }
};

template <typename T>
using Result = Expected<T, Failure>;

// Where everything lives. config_dir: $XDG_CONFIG_HOME/llmux; state_dir: $XDG_STATE_HOME/llmux.
struct Paths {
  std::string config_dir;
  std::string state_dir;

  std::string providers() const { return config_dir + "/providers.yaml"; }
  std::string prompts() const { return config_dir + "/prompts.yaml"; }
  std::string settings() const { return config_dir + "/settings.yaml"; }
  std::string vault() const { return state_dir + "/vault.json"; }
  std::string master_key() const { return state_dir + "/master.key"; }
  // config.yaml (or .yml/.json) under config_dir when present, else empty.
  std::string default_config_file() const;

  static Paths from_environment();
};

// The file's bytes, nullopt when it does not exist.
Result<std::optional<std::string>> read_file(const std::string& path);

// Writes to a temporary file in the same directory (created with `mode`), fsyncs it, renames it
// over `path` and fsyncs the directory: readers see the old or the new content, never a mix.
Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// Creates the directory and its parents; the last component gets `mode`.
Result<void> ensure_dir(const std::string& dir, mode_t mode);

// An exclusive advisory lock (flock) on a directory, held for a read-modify-write of a store in
// it, so two concurrent `llmux provider add` never lose each other's change.
class DirLock {
 public:
  explicit DirLock(const std::string& dir);
  ~DirLock();
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

std::string dir_of(const std::string& path);

}  // namespace llmux::store
