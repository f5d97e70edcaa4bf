// Test harness: starts real llmux and llmux-fake-provider processes on loopback (port 0) and talks
// to them over HTTP with libcurl. Each helper waits on a real event (a line on stdout, a process
// exit, bytes on a socket) with a deadline; nothing sleeps to synchronise.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace llmux::test {

class Process {
 public:
  Process() = default;
  // Starts `argv` with stdout piped (and stderr into the same pipe with `merge_stderr`); env
  // entries "K=V" are added to the current environment.
  Process(std::vector<std::string> argv, std::vector<std::string> extra_env = {}, bool merge_stderr = false);
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  ~Process();

  // Reads stdout until a line starting with `prefix` (returned whole) or the deadline.
  std::string wait_for_line(const std::string& prefix, std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // Everything read from stdout so far.
  const std::string& output() const { return output_; }
  void signal(int sig);
  // Waits for exit; returns the exit code, 128+signal if killed, or -1 on deadline.
  int wait(std::chrono::milliseconds deadline = std::chrono::seconds(15));
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int stdout_fd_ = -1;
  std::string output_;
  size_t consumed_ = 0;
  bool exited_ = false;
  int status_ = 0;
};

// "listening on http://HOST:PORT" (or https://) -> PORT
int port_from_listening_line(const std::string& line);

struct FakeProvider {
  Process process;
  int port = 0;
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
};
FakeProvider start_fake(std::vector<std::string> extra_args = {});

struct Gateway {
  Process process;
  int port = 0;
  std::string config_path;
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};
// Writes `config_yaml` to a temporary file and starts `llmux serve --config FILE --port 0`.
Gateway start_gateway(const std::string& config_yaml, std::vector<std::string> extra_env = {},
                      std::vector<std::string> extra_args = {});

struct HttpResponse {
  long status = 0;  // 0 = transport failure
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string error;  // curl's message on transport failure
  // For streams: each body piece with the time it arrived, relative to the request start.
  std::vector<std::pair<std::chrono::milliseconds, std::string>> pieces;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpResponse http_request(const std::string& method, const std::string& url, const std::string& body = {},
                          const std::vector<std::string>& headers = {"Content-Type: application/json"},
                          std::chrono::milliseconds timeout = std::chrono::seconds(20));
inline HttpResponse http_post(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers = {"Content-Type: application/json"}) {
  return http_request("POST", url, body, headers);
}
inline HttpResponse http_get(const std::string& url, const std::vector<std::string>& headers = {}) {
  return http_request("GET", url, {}, headers);
}

// The data payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body);

std::string temp_file(const std::string& contents, const std::string& suffix = ".yaml");

// A fresh directory /tmp/PREFIX-XXXXXX (a gateway's state_dir), removed with its contents on destruction.
struct TempDir {
  explicit TempDir(const std::string& prefix = "llmux-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path;
};

// nano-USD of a decimal USD text such as "0.0000084" (a cost header), read exactly; -1 when it is
// not one (empty, or finer than nano-USD).
int64_t nanos_of(const std::string& usd);

// A socket listening on 127.0.0.1 (port 0) that never accepts: connections to it are made by the
// kernel and then get no answer (a TLS handshake never completes). Returns the fd, -1 on failure.
int silent_listener(int& port);

}  // namespace llmux::test
