// The request field reader (json/request_view): a client's request body. Properties: a body
// read_request accepts is valid JSON to the syntax-error locator too; the body rewritten for the
// upstream is valid JSON that reads back with the upstream model and the defaults merged under
// the client's own values; a syntax error is located inside the text; the cheap usage pre-check
// finds the usage the reader finds.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "json/request_view.hpp"

namespace {

using namespace llmux::json;

constexpr std::string_view kUpstreamModel = "fuzz-upstream/m\"odel";  // needs escaping
constexpr std::string_view kDefaults = R"({"temperature":0.25,"max_tokens":64,"user":"fuzz"})";

bool has_duplicates(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

void check_syntax_location(std::string_view body) {
  auto where = locate_syntax_error(body);
  if (!where) return;
  auto [line, column] = *where;
  size_t lines = 1 + static_cast<size_t>(std::count(body.begin(), body.end(), '\n'));
  LLMUX_FUZZ_CHECK(line >= 1 && static_cast<size_t>(line) <= lines);
  LLMUX_FUZZ_CHECK(column >= 1 && static_cast<size_t>(column) <= body.size() + 1);
}

void check_rewrite(std::string_view body, const RequestFields& fields) {
  // Views into the reader's per-thread buffer: copied before the next read_request.
  std::vector<std::string> keys(fields.top_level_keys.begin(), fields.top_level_keys.end());
  // A repeated top-level key is issue 10 item 8 (to be refused with a 400); which of the copies
  // the rewrite replaces is not a property yet.
  if (has_duplicates(keys)) return;

  static const JsonMembers defaults = object_members(kDefaults);
  std::string upstream = rewrite_request(body, fields, kUpstreamModel, defaults);
  LLMUX_FUZZ_CHECK(!locate_syntax_error(upstream));

  RequestFields reread;
  LLMUX_FUZZ_CHECK(read_request(upstream, reread).has_value());
  LLMUX_FUZZ_CHECK(reread.model_type == JsonType::string && reread.model == kUpstreamModel);
  bool client_sets_max_tokens = std::find(keys.begin(), keys.end(), "max_tokens") != keys.end();
  if (!client_sets_max_tokens && !fields.max_tokens) LLMUX_FUZZ_CHECK(reread.max_tokens == 64);
  if (fields.max_tokens && fields.max_tokens_key == std::string_view("max_tokens"))
    LLMUX_FUZZ_CHECK(reread.max_tokens == fields.max_tokens);
  LLMUX_FUZZ_CHECK(reread.stream == fields.stream && reread.include_usage == fields.include_usage);
  LLMUX_FUZZ_CHECK(reread.message_count == fields.message_count && reread.messages_type == fields.messages_type);
  for (const auto& key : keys)
    LLMUX_FUZZ_CHECK(std::find(reread.top_level_keys.begin(), reread.top_level_keys.end(), key) !=
                     reread.top_level_keys.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = llmux::fuzz::as_text(data, size);

  RequestFields fields;
  auto read = read_request(body, fields);
  check_syntax_location(body);
  if (read) {
    LLMUX_FUZZ_CHECK(!locate_syntax_error(body));
    LLMUX_FUZZ_CHECK(fields.model_begin <= fields.model_end && fields.model_end <= body.size());
    check_rewrite(body, fields);
  } else {
    const auto& error = read.error();
    LLMUX_FUZZ_CHECK(!error.message.empty());
  }

  // A stream chunk carrying usage: the pre-check must not miss what the reader finds (the stream
  // path reads usage only where the pre-check says there is some), keys written plainly.
  auto usage = read_usage(body);
  if (usage && body.find("\"usage\"") != std::string_view::npos && body.find('\\') == std::string_view::npos)
    LLMUX_FUZZ_CHECK(has_usage_object(body));
  (void)object_members(body);
  return 0;
}
