// Helpers for the `llmux` CLI tests: a sandbox with its own XDG directories, running the binary
// with stdin/stdout/stderr captured, a long-running process with both streams captured, and a
// real pseudo-terminal session. Every wait has a deadline and waits on a real event.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace llmux::test {

struct CliResult {
  int exit = -1;  // exit status, 128+signal, or -1 on deadline
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

// A temporary HOME with XDG_CONFIG_HOME and XDG_STATE_HOME under it; removed on destruction.
// The environment of every command run in it has no *_API_KEY, LLMUX_MASTER_KEY, NO_COLOR or
// LLMUX_GATEWAY_KEY from the outside, so tests do not depend on the machine.
class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::string& dir() const { return dir_; }
  std::string config_dir() const { return dir_ + "/config/llmux"; }
  std::string state_dir() const { return dir_ + "/state/llmux"; }
  std::string store_file() const { return config_dir() + "/providers.yaml"; }
  std::string vault_file() const { return state_dir() + "/vault.json"; }

  // Extra "K=V" entries for every command (e.g. LLMUX_MASTER_KEY=...).
  std::vector<std::string> extra_env;
  std::vector<std::string> env() const;

  // Runs `llmux ARGS…` and waits for it to exit.
  CliResult run(const std::vector<std::string>& args, const std::string& stdin_data = {},
                std::chrono::milliseconds deadline = std::chrono::seconds(20)) const;

 private:
  std::string dir_;
};

std::string read_text(const std::string& path);
void write_text(const std::string& path, const std::string& text);
int file_mode(const std::string& path);  // permission bits, -1 when missing

// A child with stdout and stderr captured into buffers, read as they arrive.
class Spawned {
 public:
  Spawned(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ~Spawned();
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  // Reads until `done(out, err)` holds or the deadline passes; returns whether it held.
  bool wait_until(const std::function<bool(const std::string&, const std::string&)>& done,
                  std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // Waits for exit (reading both streams); returns the status or -1 on deadline.
  int wait(std::chrono::milliseconds deadline = std::chrono::seconds(15));
  void signal(int sig);
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  bool pump(int timeout_ms);
  int pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
  bool exited_ = false;
  int status_ = -1;
};

// A child on a real pseudo-terminal (forkpty): stdin, stdout and stderr are the terminal.
class PtySession {
 public:
  PtySession(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ~PtySession();
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  // Reads until the transcript contains `text` (returns true) or the deadline passes.
  bool expect(const std::string& text, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  void send(const std::string& text);
  // Reads the rest of the output and waits for exit; the status, or -1 on deadline.
  int wait(std::chrono::milliseconds deadline = std::chrono::seconds(15));
  const std::string& transcript() const { return transcript_; }
  // Terminal local-mode flags right now (ECHO, ICANON, …).
  unsigned local_flags() const;

 private:
  int read_some(int timeout_ms);  // 1 data, 0 timeout, -1 closed
  int pid_ = -1;
  int master_ = -1;
  std::string transcript_;
  bool exited_ = false;
  int status_ = -1;
};

}  // namespace llmux::test
