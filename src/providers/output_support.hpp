// Small writers shared by the client-facing output formats (openai_output, anthropic_output).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmux::providers::output {

inline void append_number(std::string& out, int64_t n) {
  char digits[24];
  out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, n).ptr - digits));
}

// Escaped text (chat_events.hpp's EscapedText) between quotes.
inline void append_quoted(std::string& out, std::string_view escaped) {
  out += '"';
  out += escaped;
  out += '"';
}

}  // namespace llmux::providers::output
