// Small edits of a JSON request body that the request reader does not do: reading the
// per-request `fallbacks` list and removing a top-level member (fallbacks must not go upstream:
// providers reject unknown keys or bill them as input).
//
// The exchange should call these only when RequestFields::top_level_keys holds "fallbacks", so a
// body without it pays nothing. remove_top_level_member works on the encoded upstream body in
// place, so RequestFields' byte spans into the client body stay valid.
//
// Thread-safety: pure functions (read_fallbacks uses a per-thread parser).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::json {

// The body's "fallbacks": an array of model names, each a non-empty string; absent or null gives
// none. Anything else is a 400 with param "fallbacks". `out` is replaced.
Expected<void, Error> read_fallbacks(std::string_view body, std::vector<std::string>& out);

// Removes member `key` (and the comma that separated it) from the top-level object in `body`,
// which must be valid JSON. Returns whether it was there. Nested members of that name are left
// alone. Other bytes are untouched; no allocation.
bool remove_top_level_member(std::string& body, std::string_view key);

// Where the value of top-level member `key` of the object in `body` is: [begin, end). nullopt
// when absent or `body` is not an object. No allocation; `body` need not be checked JSON.
struct ValueSpan {
  size_t begin = 0, end = 0;
};
std::optional<ValueSpan> find_top_level_value(std::string_view body, std::string_view key);

// One past the end of the JSON string literal opening at body[i] (a '"').
size_t skip_json_string(std::string_view body, size_t i);

}  // namespace llmux::json
