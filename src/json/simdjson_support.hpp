// Small helpers around simdjson shared by the JSON readers.
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

namespace llmux::json {

// simdjson reads up to SIMDJSON_PADDING bytes past the end of its input. Text that does not own
// that padding is copied into a caller-kept buffer, which keeps its capacity across calls.
inline simdjson::padded_string_view padded_copy(std::string_view text, std::string& buffer) {
  if (buffer.size() < text.size() + simdjson::SIMDJSON_PADDING) buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), text.data(), text.size());
  return simdjson::padded_string_view(buffer.data(), text.size(), buffer.size());
}

struct Usage;  // json/request_view.hpp

// The token counts of a parsed "usage" object, as read_usage reads them, for a caller that has
// parsed the text already.
Usage usage_of(simdjson::dom::object usage);

// Reads an optional member: `out` keeps its value when the member is absent or of another type.
template <typename T, typename Result>
void read_optional(Result&& result, T& out) {
  if (std::forward<Result>(result).get(out)) {}
}

}  // namespace llmux::json
