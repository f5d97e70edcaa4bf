// Numbers appended as text in their shortest exact form (std::to_chars), for the JSON and the
// Prometheus text this directory writes.
#pragma once

#include <charconv>
#include <string>
#include <type_traits>

namespace llmux::observability {

template <typename Number>
  requires std::is_arithmetic_v<Number>
void append_decimal(std::string& out, Number value) {
  char digits[32];
  out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, value).ptr - digits));
}

}  // namespace llmux::observability
