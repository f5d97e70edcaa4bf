// Reads the few fields the gateway needs from an OpenAI-style request body without building a
// DOM the rest of the path depends on, and rewrites the body by splicing bytes (model id, default
// params) so everything else passes through untouched. Functions are pure; the per-thread parser
// they use internally makes them safe to call from any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_text.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::json {

enum class JsonType { absent, null, boolean, number, string, array, object };

struct RequestFields {
  JsonType model_type = JsonType::absent;
  std::string model;  // unescaped, when model_type == string
  size_t model_begin = 0, model_end = 0;  // byte span of the model value (quotes included)
  bool stream = false;
  bool include_usage = false;
  JsonType messages_type = JsonType::absent;
  size_t message_count = 0;
  JsonType prompt_type = JsonType::absent;
  JsonType input_type = JsonType::absent;
  size_t input_count = 0;  // elements when input is an array
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens
  const char* max_tokens_key = "max_tokens";
  // Top-level keys, to merge default params under the request's own. Views into the parser's
  // per-thread string buffer: valid until the next read_request on this thread.
  std::vector<std::string_view> top_level_keys;
};

// Parses and validates the whole body. Errors are 400 invalid_request_error values; a syntax
// error names its line and column.
Expected<RequestFields, Error> read_request(std::string_view body);
// The same into `out` (reset first), keeping its storage: the form for a connection's hot path.
Expected<void, Error> read_request(std::string_view body, RequestFields& out);

// Finds the 1-based line/column of the first JSON syntax error, or nullopt if the text parses.
std::optional<std::pair<int, int>> locate_syntax_error(std::string_view body);

// Members of a JSON object as (key, minified value) pairs; empty for anything but an object.
using JsonMembers = std::vector<std::pair<std::string, std::string>>;
JsonMembers object_members(std::string_view object_json);

// Builds the upstream body: the model value replaced by `model` (inserted when absent) and each
// default param the request does not set added.
std::string rewrite_request(std::string_view body, const RequestFields& fields,
                            std::string_view model, const JsonMembers& default_params);
// The same appended to `out`.
void rewrite_request_into(std::string& out, std::string_view body, const RequestFields& fields,
                          std::string_view model, const JsonMembers& default_params);
// Convenience form taking the defaults as JSON object text (parsed on every call).
std::string rewrite_request(std::string_view body, const RequestFields& fields,
                            std::string_view model, std::string_view default_params_json);

using llmux::append_json_string;

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  // Parts of the counts above, as OpenAI details them (0: not reported). Written by the adapters'
  // decoders (prompt_tokens_details.cached_tokens, completion_tokens_details.reasoning_tokens).
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
};

// Token counts are the upstream's numbers, any int64: their sums saturate at the int64 range
// instead of overflowing (undefined behaviour). An absurd count stays absurd but well defined; it
// is no reason to throw away the answer it came with.
inline int64_t add_tokens(int64_t a, int64_t b) noexcept {
  int64_t sum;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// Usage from a response body or a stream chunk ({"usage":{...}}); nullopt when absent or null.
// Cheap pre-check for stream events: true when the text has a "usage" member whose value is an
// object (OpenAI sends "usage":null on every chunk but the last when usage is requested).
bool has_usage_object(std::string_view json_text);

std::optional<Usage> read_usage(std::string_view body);

}  // namespace llmux::json
