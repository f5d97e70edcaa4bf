#include "harness.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

extern char** environ;

namespace llmux::test {

using Clock = std::chrono::steady_clock;

Process::Process(std::vector<std::string> argv, std::vector<std::string> extra_env, bool merge_stderr) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  if (merge_stderr) posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  // extra_env overrides inherited variables of the same name (getenv returns the first match).
  std::vector<std::string> env_storage;
  auto overridden = [&](std::string_view entry) {
    std::string_view name = entry.substr(0, entry.find('='));
    for (const auto& e : extra_env)
      if (std::string_view(e).substr(0, e.find('=')) == name) return true;
    return false;
  };
  for (char** e = environ; *e; ++e)
    if (!overridden(*e)) env_storage.emplace_back(*e);
  for (auto& e : extra_env) env_storage.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_storage) env.push_back(e.data());
  env.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  stdout_fd_ = fds[0];
}

Process::Process(Process&& o) noexcept { *this = std::move(o); }

Process& Process::operator=(Process&& o) noexcept {
  std::swap(pid_, o.pid_);
  std::swap(stdout_fd_, o.stdout_fd_);
  std::swap(output_, o.output_);
  std::swap(consumed_, o.consumed_);
  std::swap(exited_, o.exited_);
  std::swap(status_, o.status_);
  return *this;
}

Process::~Process() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::string Process::wait_for_line(const std::string& prefix, std::chrono::milliseconds deadline) {
  auto until = Clock::now() + deadline;
  while (true) {
    size_t start = consumed_;
    while (true) {
      size_t nl = output_.find('\n', start);
      if (nl == std::string::npos) break;
      std::string line = output_.substr(start, nl - start);
      start = nl + 1;
      consumed_ = start;
      if (line.rfind(prefix, 0) == 0) return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0 || stdout_fd_ < 0) return {};
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return {};
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return {};
    output_.append(buf, static_cast<size_t>(n));
  }
}

void Process::signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

int Process::wait(std::chrono::milliseconds deadline) {
  if (exited_) return status_;
  auto until = Clock::now() + deadline;
  // Drain stdout while waiting so the child never blocks on a full pipe; EOF means it exited.
  while (stdout_fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return -1;
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) {
      ::close(stdout_fd_);
      stdout_fd_ = -1;
      break;
    }
    output_.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return status_;
}

int port_from_listening_line(const std::string& line) {
  size_t colon = line.rfind(':');
  bool listening = line.rfind("listening on http://", 0) == 0 || line.rfind("listening on https://", 0) == 0;
  if (!listening || colon == std::string::npos) return 0;
  return std::atoi(line.c_str() + colon + 1);
}

FakeProvider start_fake(std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {LLMUX_FAKE_BINARY, "--port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  FakeProvider fake{Process(argv), 0};
  fake.port = port_from_listening_line(fake.process.wait_for_line("listening on "));
  if (fake.port == 0) throw std::runtime_error("fake provider did not start: " + fake.process.output());
  return fake;
}

int silent_listener(int& port) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 16) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(listener);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return listener;
}

std::string temp_file(const std::string& contents, const std::string& suffix) {
  std::string path = "/tmp/llmux-test-XXXXXX" + suffix;
  int fd = ::mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("mkstemps failed");
  if (::write(fd, contents.data(), contents.size()) != static_cast<ssize_t>(contents.size()))
    throw std::runtime_error("write failed");
  ::close(fd);
  return path;
}

TempDir::TempDir(const std::string& prefix) {
  std::string dir = "/tmp/" + prefix + "-XXXXXX";
  if (!::mkdtemp(dir.data())) throw std::runtime_error("mkdtemp failed");
  path = dir;
}

TempDir::~TempDir() { std::filesystem::remove_all(path); }

int64_t nanos_of(const std::string& usd) {
  size_t dot = usd.find('.');
  std::string whole = usd.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : usd.substr(dot + 1);
  if (whole.empty() || fraction.size() > 9) return -1;
  fraction.resize(9, '0');
  return std::stoll(whole) * 1'000'000'000 + std::stoll(fraction);
}

Gateway start_gateway(const std::string& config_yaml, std::vector<std::string> extra_env,
                      std::vector<std::string> extra_args) {
  Gateway g;
  g.config_path = temp_file(config_yaml);
  std::vector<std::string> argv = {LLMUX_BINARY, "serve", "--config", g.config_path, "--port", "0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  // Each gateway gets its own XDG directories: the provider store, vault and master key of the
  // person running the tests, or of another test running in parallel, must not leak in.
  char dir[] = "/tmp/llmux-test-home-XXXXXX";
  if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  extra_env.push_back(std::string("XDG_STATE_HOME=") + dir + "/state");
  extra_env.push_back(std::string("XDG_CONFIG_HOME=") + dir + "/config");
  g.process = Process(argv, extra_env);
  g.port = port_from_listening_line(g.process.wait_for_line("listening on "));
  if (g.port == 0) throw std::runtime_error("llmux did not start: " + g.process.output());
  return g;
}

namespace {

struct Capture {
  HttpResponse* response;
  Clock::time_point start;
};

size_t on_body(char* data, size_t size, size_t count, void* userp) {
  auto* c = static_cast<Capture*>(userp);
  size_t n = size * count;
  c->response->body.append(data, n);
  c->response->pieces.emplace_back(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - c->start), std::string(data, n));
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* userp) {
  auto* r = static_cast<HttpResponse*>(userp);
  std::string line(data, size * count);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    r->headers[name] = value;
  }
  return size * count;
}

}  // namespace

HttpResponse http_request(const std::string& method, const std::string& url, const std::string& body,
                          const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResponse response;
  Capture capture{&response, Clock::now()};
  CURL* easy = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  list = curl_slist_append(list, "Expect:");
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &capture);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
  if (method == "POST") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty()) {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
  }
  CURLcode rc = curl_easy_perform(easy);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
  } else {
    response.error = error[0] ? error : curl_easy_strerror(rc);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &response.status);
    if (response.status == 0) response.status = 0;
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(easy);
  return response;
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    std::string line = body.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("data:", 0) == 0) {
      std::string data = line.substr(5);
      if (!data.empty() && data[0] == ' ') data.erase(0, 1);
      out.push_back(data);
    }
    pos = nl + 1;
  }
  return out;
}

}  // namespace llmux::test
