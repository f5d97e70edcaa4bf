// The one-pass check of passed-through content chunks (server::ChunkShape). The input's first
// line is a chunk, learned when simdjson accepts it and it has text; the rest of the input is
// tried as a chunk of its own and as the learned chunk's text. Property: whatever text_of
// accepts, simdjson accepts too, and its text is the one chunk_text reads.
#include <string>

#include <simdjson.h>

#include "fuzz_support.hpp"
#include "server/chunk_shape.hpp"
#include "server/stream_repair.hpp"

namespace {

bool simdjson_accepts(std::string_view text) {
  static simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element ignored;
  return !parser.parse(padded).get(ignored);
}

void check(const llmux::server::ChunkShape& shape, std::string_view chunk) {
  auto text = shape.text_of(chunk);
  if (!text) return;
  LLMUX_FUZZ_CHECK(simdjson_accepts(chunk));
  LLMUX_FUZZ_CHECK(*text == llmux::server::chunk_text(chunk));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = llmux::fuzz::as_text(data, size);
  size_t nl = input.find('\n');
  if (nl == std::string_view::npos) return 0;
  std::string_view first = input.substr(0, nl), rest = input.substr(nl + 1);
  std::string_view text = llmux::server::chunk_text(first);
  if (text.empty() || !simdjson_accepts(first)) return 0;
  llmux::server::ChunkShape shape;
  shape.learn(first, text);
  check(shape, rest);
  size_t at = static_cast<size_t>(text.data() - first.data());
  std::string with_rest(first.substr(0, at));
  with_rest += rest;
  with_rest += first.substr(at + text.size());
  check(shape, with_rest);
  return 0;
}
