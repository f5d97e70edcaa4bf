// The shape of a passed-through OpenAI stream's chunks. One upstream stream's content chunks are
// byte for byte alike but for their text (id, created, model, the delta's keys, the null finish
// reason repeat), so once one chunk has been parsed and found to carry text and nothing else
// (no usage, no finish, no tool call), the next chunk that is the same bytes around another valid
// JSON string is known valid and known to carry only that text: one pass over its bytes instead
// of a parse and the scans after it (issue 12).
//
// Why that is sound: replacing the body of one string value of a valid JSON document by another
// valid string body leaves a valid document of the same structure; only that string differs. The
// bytes around the text hold no "usage" object, no finish reason and no tool call, and the text
// cannot add one: it holds no unescaped quote, so no key.
//
// Thread-safety: a value, one per stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmux::server {

// Whether `body` is the inside of a JSON string as simdjson accepts it: no unescaped quote or
// control character, valid escapes, valid UTF-8. Conservative: a \u escape of a surrogate half
// counts as invalid (the caller then parses the chunk instead).
bool is_json_string_body(std::string_view body) noexcept;

class ChunkShape {
 public:
  // Learns the bytes around `text`, a view into `chunk` (as chunk_text gives it). The caller has
  // checked that `chunk` is valid JSON carrying nothing but that text.
  void learn(std::string_view chunk, std::string_view text);
  void forget() noexcept { text_at_ = kUnknown; }
  // The text of `chunk` (JSON-escaped, a view into it) when `chunk` is the learned chunk with
  // another valid string as its text; nullopt otherwise (the caller parses it).
  std::optional<std::string_view> text_of(std::string_view chunk) const noexcept;

 private:
  static constexpr uint32_t kUnknown = UINT32_MAX;  // nothing learned
  std::string around_;          // the learned chunk without its text
  uint32_t text_at_ = kUnknown;  // where the text was, and is in a chunk of this shape
};

}  // namespace llmux::server
