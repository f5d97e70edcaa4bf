#include "cli/output.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>

namespace llmux::cli {

namespace {

bool color_allowed(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  const char* term = std::getenv("TERM");
  if (term && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(fd) == 1;
}

// Display width: ANSI sequences count zero, UTF-8 continuation bytes count zero.
size_t visible_width(const std::string& s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\033') {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++width;
  }
  return width;
}

void pretty(const boost::json::value& v, std::string& out, int depth) {
  std::string pad(static_cast<size_t>(depth + 1) * 2, ' ');
  std::string close_pad(static_cast<size_t>(depth) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t i = 0;
    for (const auto& [key, value] : o) {
      out += pad + boost::json::serialize(boost::json::value(key)) + ": ";
      pretty(value, out, depth + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    out += close_pad + "}";
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      out += pad;
      pretty(a[i], out, depth + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    out += close_pad + "]";
  } else {
    out += boost::json::serialize(v);
  }
}

termios g_saved_termios;
volatile sig_atomic_t g_termios_saved = 0;

void restore_terminal_and_reraise(int sig) {
  if (g_termios_saved) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &g_saved_termios);
  const char nl = '\n';
  (void)!::write(STDERR_FILENO, &nl, 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

}  // namespace

bool stdout_color() { return color_allowed(STDOUT_FILENO); }
bool stderr_color() { return color_allowed(STDERR_FILENO); }
bool stderr_tty() { return ::isatty(STDERR_FILENO) == 1; }

std::string paint(const std::string& text, const char* code, bool on) {
  if (!on || !code || !*code) return text;
  return std::string("\033[") + code + "m" + text + "\033[0m";
}

void print_error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s %s\n", paint("error:", "1;31", stderr_color()).c_str(), message.c_str());
}

void print_warning(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s %s\n", paint("warning:", "1;33", stderr_color()).c_str(), message.c_str());
}

void print_note(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "%s %s\n", paint("hint:", "1;36", stderr_color()).c_str(), message.c_str());
}

int exit_for(store::FailKind kind) {
  switch (kind) {
    case store::FailKind::invalid:
    case store::FailKind::conflict: return kUsage;
    case store::FailKind::not_found: return kNotFound;
    case store::FailKind::vault: return kVault;
    case store::FailKind::broken:
    case store::FailKind::io: return kFailed;
  }
  return kFailed;
}

int report(const store::Failure& failure) {
  for (const auto& m : failure.messages) print_error(m);
  return exit_for(failure.kind);
}

void Table::print(FILE* out, const std::function<const char*(size_t, size_t)>& color) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], visible_width(row[c]));
  }
  bool on = out == stdout ? stdout_color() : stderr_color();
  for (size_t r = 0; r < rows_.size(); ++r) {
    std::string line;
    for (size_t c = 0; c < rows_[r].size(); ++c) {
      const std::string& cell = rows_[r][c];
      const char* code = r == 0 ? "1" : (color ? color(r - 1, c) : nullptr);
      line += paint(cell, code, on);
      if (c + 1 < rows_[r].size()) line += std::string(widths[c] - visible_width(cell) + 2, ' ');
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
}

std::string pretty_json(const boost::json::value& value) {
  std::string out;
  pretty(value, out, 0);
  return out;
}

void print_json(const boost::json::value& value) { std::printf("%s\n", pretty_json(value).c_str()); }

Spinner::Spinner(std::string label) {
  if (!stderr_tty()) return;
  static const char* frames[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
  // The first frame at once, so even a quick check shows what it is doing.
  std::fprintf(stderr, "\r%s %s", frames[0], label.c_str());
  std::fflush(stderr);
  thread_ = std::thread([this, label = std::move(label)] {
    size_t i = 1;
    while (true) {
      for (int t = 0; t < 8 && !done_.load(); ++t) ::usleep(10000);
      if (done_.load()) break;
      std::fprintf(stderr, "\r%s %s", frames[i++ % 10], label.c_str());
      std::fflush(stderr);
    }
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  });
}

Spinner::~Spinner() { stop(); }

void Spinner::stop() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

store::Result<std::string> read_secret(const std::string& prompt) {
  std::string line;
  if (::isatty(STDIN_FILENO) == 1) {
    termios old{};
    bool have_termios = ::tcgetattr(STDIN_FILENO, &old) == 0;
    struct sigaction act {}, old_int{}, old_term{}, old_hup{}, old_quit{};
    if (have_termios) {
      g_saved_termios = old;
      g_termios_saved = 1;
      act.sa_handler = restore_terminal_and_reraise;
      sigemptyset(&act.sa_mask);
      ::sigaction(SIGINT, &act, &old_int);
      ::sigaction(SIGTERM, &act, &old_term);
      ::sigaction(SIGHUP, &act, &old_hup);
      ::sigaction(SIGQUIT, &act, &old_quit);
      termios quiet = old;
      quiet.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHOE | ECHOK | ECHONL));
      quiet.c_lflag |= ICANON;
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    // Echo is off before the prompt appears, so nothing typed after it is ever echoed.
    std::fprintf(stderr, "%s", prompt.c_str());
    std::fflush(stderr);
    char c = 0;
    bool got_line = false;
    while (line.size() < 16384) {
      ssize_t n = ::read(STDIN_FILENO, &c, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (c == '\n' || c == '\r') {
        got_line = true;
        break;
      }
      line += c;
    }
    if (have_termios) {
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
      g_termios_saved = 0;
      ::sigaction(SIGINT, &old_int, nullptr);
      ::sigaction(SIGTERM, &old_term, nullptr);
      ::sigaction(SIGHUP, &old_hup, nullptr);
      ::sigaction(SIGQUIT, &old_quit, nullptr);
    }
    std::fprintf(stderr, "\n");
    (void)got_line;
  } else {
    char buf[4096];
    while (true) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      line.append(buf, static_cast<size_t>(n));
      if (line.find('\n') != std::string::npos || line.size() > (1 << 20)) break;
    }
    line = line.substr(0, line.find('\n'));
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  size_t start = line.find_first_not_of(" \t");
  line = start == std::string::npos ? std::string() : line.substr(start);
  if (line.empty())
    return unexpected(store::Failure::of(store::FailKind::invalid, "no key given (type it at the prompt or pipe it on stdin)"));
  for (char ch : line)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      return unexpected(store::Failure::of(store::FailKind::invalid, "the key contains a control character"));
  return line;
}

std::string format_ms(std::chrono::milliseconds ms) {
  char buf[32];
  if (ms.count() >= 10000) std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms.count()) / 1000.0);
  else std::snprintf(buf, sizeof buf, "%lld ms", static_cast<long long>(ms.count()));
  return buf;
}

}  // namespace llmux::cli
