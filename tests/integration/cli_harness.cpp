#include "cli_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace llmux::test {

using Clock = std::chrono::steady_clock;

namespace {

int left_ms(Clock::time_point until) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

int decode_status(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

bool dropped(const std::string& entry) {
  std::string name = entry.substr(0, entry.find('='));
  static const char* exact[] = {"XDG_CONFIG_HOME", "XDG_STATE_HOME", "HOME", "LLMUX_MASTER_KEY",
                                "LLMUX_GATEWAY_KEY", "NO_COLOR"};
  for (const char* e : exact)
    if (name == e) return true;
  return name.size() > 8 && name.compare(name.size() - 8, 8, "_API_KEY") == 0;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads what is available on fd into `into`; false on EOF or error.
bool drain(int fd, std::string& into) {
  char buf[8192];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

Sandbox::Sandbox() {
  char path[] = "/tmp/llmux-cli-XXXXXX";
  if (!::mkdtemp(path)) throw std::runtime_error("mkdtemp failed");
  dir_ = path;
}

Sandbox::~Sandbox() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> Sandbox::env() const {
  std::vector<std::string> out;
  for (char** e = environ; *e; ++e)
    if (!dropped(*e)) out.emplace_back(*e);
  out.push_back("HOME=" + dir_);
  out.push_back("XDG_CONFIG_HOME=" + dir_ + "/config");
  out.push_back("XDG_STATE_HOME=" + dir_ + "/state");
  out.insert(out.end(), extra_env.begin(), extra_env.end());
  return out;
}

CliResult Sandbox::run(const std::vector<std::string>& args, const std::string& stdin_data,
                       std::chrono::milliseconds deadline) const {
  std::vector<std::string> argv = {LLMUX_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  auto envs = env();
  auto args_p = pointers(argv);
  auto env_p = pointers(envs);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args_p.data(), env_p.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) throw std::runtime_error(std::string("cannot start llmux: ") + std::strerror(rc));
  // Small inputs fit the pipe buffer; write, then close so the child sees EOF.
  signal(SIGPIPE, SIG_IGN);
  if (!stdin_data.empty()) (void)!::write(in[1], stdin_data.data(), stdin_data.size());
  ::close(in[1]);

  CliResult result;
  auto until = Clock::now() + deadline;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    pollfd fds[2] = {{out_open ? out[0] : -1, POLLIN, 0}, {err_open ? err[0] : -1, POLLIN, 0}};
    int ready = ::poll(fds, 2, left_ms(until));
    if (ready <= 0) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) out_open = drain(out[0], result.out);
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) err_open = drain(err[0], result.err);
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit = (out_open || err_open) ? -1 : decode_status(status);
  return result;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

int file_mode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

Spawned::Spawned(const std::vector<std::string>& argv_in, const std::vector<std::string>& env_in) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  std::vector<std::string> argv = argv_in, envs = env_in;
  auto args_p = pointers(argv);
  auto env_p = pointers(envs);
  int rc = posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args_p.data(), env_p.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    throw std::runtime_error("cannot start " + argv[0]);
  }
  out_fd_ = out[0];
  err_fd_ = err[0];
}

Spawned::~Spawned() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

bool Spawned::pump(int timeout_ms) {
  if (out_fd_ < 0 && err_fd_ < 0) return false;
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (::poll(fds, 2, timeout_ms) <= 0) return false;
  if (out_fd_ >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !drain(out_fd_, out_)) {
    ::close(out_fd_);
    out_fd_ = -1;
  }
  if (err_fd_ >= 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !drain(err_fd_, err_)) {
    ::close(err_fd_);
    err_fd_ = -1;
  }
  return true;
}

bool Spawned::wait_until(const std::function<bool(const std::string&, const std::string&)>& done,
                         std::chrono::milliseconds deadline) {
  auto until = Clock::now() + deadline;
  while (!done(out_, err_)) {
    if (Clock::now() >= until) return false;
    if (!pump(left_ms(until)) && out_fd_ < 0 && err_fd_ < 0) return done(out_, err_);
  }
  return true;
}

int Spawned::wait(std::chrono::milliseconds deadline) {
  if (exited_) return status_;
  auto until = Clock::now() + deadline;
  while (out_fd_ >= 0 || err_fd_ >= 0) {
    if (Clock::now() >= until) return -1;
    pump(left_ms(until));
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  status_ = decode_status(status);
  return status_;
}

void Spawned::signal(int sig) {
  if (pid_ > 0 && !exited_) ::kill(pid_, sig);
}

PtySession::PtySession(const std::vector<std::string>& argv_in, const std::vector<std::string>& env_in) {
  std::vector<std::string> argv = argv_in, envs = env_in;
  auto args_p = pointers(argv);
  auto env_p = pointers(envs);
  winsize size{24, 100, 0, 0};
  pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
  if (pid_ < 0) throw std::runtime_error("forkpty failed");
  if (pid_ == 0) {
    ::execve(args_p[0], args_p.data(), env_p.data());
    ::_exit(127);
  }
  ::fcntl(master_, F_SETFD, FD_CLOEXEC);
}

PtySession::~PtySession() {
  if (pid_ > 0 && !exited_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (master_ >= 0) ::close(master_);
}

int PtySession::read_some(int timeout_ms) {
  if (master_ < 0) return -1;
  pollfd p{master_, POLLIN, 0};
  int ready = ::poll(&p, 1, timeout_ms);
  if (ready == 0) return 0;
  if (ready < 0) return errno == EINTR ? 0 : -1;
  char buf[4096];
  ssize_t n = ::read(master_, buf, sizeof buf);
  if (n < 0 && errno == EINTR) return 0;
  if (n <= 0) return -1;  // EIO once every descriptor of the child side is closed
  transcript_.append(buf, static_cast<size_t>(n));
  return 1;
}

bool PtySession::expect(const std::string& text, std::chrono::milliseconds deadline) {
  auto until = Clock::now() + deadline;
  while (transcript_.find(text) == std::string::npos) {
    if (Clock::now() >= until || read_some(left_ms(until)) < 0) return transcript_.find(text) != std::string::npos;
  }
  return true;
}

void PtySession::send(const std::string& text) { (void)!::write(master_, text.data(), text.size()); }

unsigned PtySession::local_flags() const {
  termios t{};
  if (::tcgetattr(master_, &t) != 0) return 0;
  return static_cast<unsigned>(t.c_lflag);
}

int PtySession::wait(std::chrono::milliseconds deadline) {
  if (exited_) return status_;
  auto until = Clock::now() + deadline;
  while (true) {
    int r = read_some(left_ms(until));
    if (r < 0) break;  // the child closed the terminal: it is exiting
    if (r == 0 && Clock::now() >= until) return -1;
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exited_ = true;
  status_ = decode_status(status);
  return status_;
}

}  // namespace llmux::test
