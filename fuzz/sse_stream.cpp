// SSE framing (http::SseParser) of an upstream event stream. Properties: the events are those of
// a plain line-by-line reading of the WHATWG rules, they do not depend on how the stream was split
// (whole, in fuzzer-derived pieces, byte by byte), a reset parser reads a stream like a new one,
// and a stop request stops at once.
#include <string>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "http/sse.hpp"

namespace {

using llmux::http::SseEvent;
using llmux::http::SseParser;

struct Events {
  std::vector<std::pair<std::string, std::string>> list;
  size_t buffered = 0;  // held for the incomplete tail when the stream ended
  bool operator==(const Events& other) const { return list == other.list && buffered == other.buffered; }
};

template <typename Pieces>
Events read(SseParser& parser, const Pieces& pieces) {
  Events events;
  for (std::string_view piece : pieces) {
    bool going = parser.feed(piece, [&](const SseEvent& e) {
      events.list.emplace_back(std::string(e.event), std::string(e.data));
      return true;
    });
    LLMUX_FUZZ_CHECK(going);
  }
  events.buffered = parser.buffered();
  return events;
}

// The framing rules applied to the complete text, one line at a time: lines end at "\r\n", "\r"
// or "\n"; a blank line dispatches the event if it has a data line (an empty "data:" counts, as
// in SseParser); ':' starts a comment; one space after the field's colon is dropped; an
// unterminated last line and an undispatched last event are not events.
std::vector<std::pair<std::string, std::string>> reference_events(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> events;
  std::string event, data;
  bool has_data = false;
  size_t pos = 0;
  while (true) {
    size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) break;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
    if (line.empty()) {
      if (has_data) events.emplace_back(event, data);
      event.clear();
      data.clear();
      has_data = false;
      continue;
    }
    if (line.front() == ':') continue;
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (has_data) data += '\n';
      data.append(value);
      has_data = true;
    } else if (field == "event") {
      event.assign(value);
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = llmux::fuzz::as_text(data, size);

  SseParser parser;
  std::string_view whole_input[] = {input};
  Events whole = read(parser, whole_input);
  LLMUX_FUZZ_CHECK(whole.list == reference_events(input));

  SseParser split_parser;
  Events split = read(split_parser, llmux::fuzz::split_pieces(input));
  LLMUX_FUZZ_CHECK(whole == split);

  // Byte by byte only for short streams: the fuzzer-derived pieces are often single bytes already,
  // and a call per byte of a long stream would cost most of the time.
  if (input.size() <= 2048) {
    std::vector<std::string_view> bytes;
    for (size_t i = 0; i < input.size(); ++i) bytes.push_back(input.substr(i, 1));
    SseParser byte_parser;
    LLMUX_FUZZ_CHECK(read(byte_parser, bytes) == whole);
  }

  // The parser that read the whole stream (its tail still buffered) starts over after reset().
  parser.reset();
  LLMUX_FUZZ_CHECK(parser.buffered() == 0);
  LLMUX_FUZZ_CHECK(read(parser, whole_input) == whole);

  // Asking to stop after the first event: feed returns false and no second event is delivered.
  if (whole.list.size() >= 2) {
    SseParser stopping;
    size_t calls = 0;
    LLMUX_FUZZ_CHECK(!stopping.feed(input, [&](const SseEvent&) { return ++calls > 1; }));
    LLMUX_FUZZ_CHECK(calls == 1);
  }
  return 0;
}
