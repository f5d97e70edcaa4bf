// Terminal manners for the CLI: colour only on a terminal (and never with NO_COLOR), a spinner on
// stderr while waiting on the network (terminal only), aligned tables, JSON output, the no-echo
// key prompt, and exit statuses.
#pragma once

#include <boost/json.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "llmux/error.hpp"
#include "store/files.hpp"

namespace llmux::cli {

// Exit statuses (also in `llmux --help`).
enum Exit : int {
  kOk = 0,
  kFailed = 1,     // the operation failed: provider error, failed check, invalid config
  kUsage = 2,      // bad command line or argument values
  kNotFound = 3,   // a named provider, prompt, model or key does not exist
  kVault = 4,      // the vault cannot be opened: wrong master key, tampered file, key file mode
  kInterrupted = 130,
};

bool stdout_color();
bool stderr_color();
bool stderr_tty();

// ANSI SGR wrapping when `on`: code "1" bold, "31" red, "32" green, "33" yellow, "2" dim.
std::string paint(const std::string& text, const char* code, bool on);

void print_error(const std::string& message);
void print_warning(const std::string& message);
void print_note(const std::string& message);
// Prints every message of the failure; returns its exit status.
int report(const store::Failure& failure);
int exit_for(store::FailKind kind);

// Rows of cells printed with aligned columns; the first row is the header.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // `color(row, column)` may return an SGR code for a cell (only used on a colour terminal).
  void print(FILE* out, const std::function<const char*(size_t, size_t)>& color = {}) const;
  size_t size() const { return rows_.size() - 1; }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// Pretty-printed JSON on stdout, with a trailing newline.
void print_json(const boost::json::value& value);
std::string pretty_json(const boost::json::value& value);

// A spinner on stderr while a network call runs; nothing at all when stderr is not a terminal.
class Spinner {
 public:
  explicit Spinner(std::string label);
  ~Spinner();  // clears the line
  Spinner(const Spinner&) = delete;
  Spinner& operator=(const Spinner&) = delete;
  void stop();

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Reads a secret: from the terminal without echo (prompt on stderr) when stdin is a terminal,
// otherwise the first line of stdin. Trailing CR/LF and blanks are dropped.
store::Result<std::string> read_secret(const std::string& prompt);

// "1.2s" / "340 ms"
std::string format_ms(std::chrono::milliseconds ms);

}  // namespace llmux::cli
