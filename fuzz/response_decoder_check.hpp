// The property check shared by the fuzz targets of the response decoders (providers/*): every input
// is read both as a whole body and as a stream (SSE or NDJSON, fed in fuzzer-derived pieces, the way the
// server translates a stream), written in OpenAI's wire format. Properties: what the client gets
// is valid JSON whenever the decoder accepted its input (a completion body; every stream event but
// the final [DONE]), tool-call arguments are JSON objects (in a stream: joined, once it has ended
// with [DONE]), and nothing follows the end of a stream.
#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "json/json_check.hpp"
#include "http/sse.hpp"
#include "providers/chat_events.hpp"
#include "providers/openai_output.hpp"

namespace llmux::fuzz {

namespace decoder_check {

using namespace llmux::providers;

constexpr int64_t kCreated = 1700000000;

inline simdjson::dom::parser& json_parser() {
  static simdjson::dom::parser parser;
  return parser;
}

// RFC 8259 JSON whose value is an object. simdjson is not the judge here: it refuses integers past
// 64 bits, which JSON allows and which a provider's tool arguments may hold.
inline bool is_json_object(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{' && !llmux::json::check_json(text);
}

inline void check_completion_body(const ChatResponse& response) {
  std::string body;
  write_chat_completion(response, kCreated, body);
  simdjson::dom::element root;
  LLMUX_FUZZ_CHECK(!json_parser().parse(simdjson::padded_string(body)).get(root));
  simdjson::dom::array tool_calls;
  if (root.at_pointer("/choices/0/message/tool_calls").get_array().get(tool_calls)) return;
  for (simdjson::dom::element call : tool_calls) {
    std::string_view arguments;
    LLMUX_FUZZ_CHECK(!call.at_pointer("/function/arguments").get_string().get(arguments));
    LLMUX_FUZZ_CHECK(is_json_object(arguments));
  }
}

// Appends each tool call's piece of arguments in a chunk to `arguments` (by tool call index).
inline void collect_arguments(std::string_view chunk, std::vector<std::string>& arguments) {
  std::string copy(chunk);
  simdjson::dom::element root;
  simdjson::dom::array calls;
  if (json_parser().parse(simdjson::padded_string(copy)).get(root) ||
      root.at_pointer("/choices/0/delta/tool_calls").get_array().get(calls))
    return;
  for (simdjson::dom::element call : calls) {
    int64_t index = 0;
    std::string_view piece;
    LLMUX_FUZZ_CHECK(!call["index"].get_int64().get(index) && index >= 0 && index < 4096);
    if (arguments.size() <= static_cast<size_t>(index)) arguments.resize(static_cast<size_t>(index) + 1);
    if (!call.at_pointer("/function/arguments").get_string().get(piece)) arguments[static_cast<size_t>(index)] += piece;
  }
}

// The events a client receives, each "data: …\n\n"; [DONE] only last, the rest JSON objects.
// When the stream ends with [DONE], each tool call's arguments joined are a JSON object.
inline void check_client_stream(std::string_view out, bool ended) {
  bool saw_end = false, saw_done = false;
  std::vector<std::string> arguments;
  while (!out.empty()) {
    LLMUX_FUZZ_CHECK(!saw_end);
    LLMUX_FUZZ_CHECK(out.substr(0, 6) == "data: ");
    size_t end = out.find("\n\n");
    LLMUX_FUZZ_CHECK(end != std::string_view::npos);
    std::string_view data = out.substr(6, end - 6);
    out.remove_prefix(end + 2);
    if (data == "[DONE]") {
      saw_end = saw_done = true;
      continue;
    }
    LLMUX_FUZZ_CHECK(is_json_object(data));
    if (data.substr(0, 9) == "{\"error\":") saw_end = true;
    else collect_arguments(data, arguments);
  }
  LLMUX_FUZZ_CHECK(saw_end == ended);
  if (saw_done)
    for (const std::string& joined : arguments) LLMUX_FUZZ_CHECK(is_json_object(joined));
}


}  // namespace decoder_check

// Runs one input through `decoder` and checks the properties above.
inline void check_response_decoder(providers::ResponseDecoder& decoder, std::string_view input, size_t size) {
  using namespace decoder_check;
  // As a whole message body. A second decode of the same body must not see the first's state.
  ChatResponse response;
  if (decoder.decode_body(input, response)) {
    check_completion_body(response);
    ChatResponse again;
    LLMUX_FUZZ_CHECK(decoder.decode_body(input, again).has_value());
    check_completion_body(again);
  }

  // As a message stream, through the server's loop (Connection::translate_stream).
  decoder.reset();
  OpenAIChunkWriter writer;
  std::string out;
  writer.begin(&out, kCreated, /*include_usage=*/size % 2 == 0);
  http::SseParser sse;
  sse.reset(decoder.ndjson_stream());
  for (std::string_view piece : llmux::fuzz::split_pieces(input)) {
    sse.feed(piece, [&](const http::SseEvent& event) {
      if (writer.ended()) return false;
      if (auto decoded = decoder.decode_event(event, writer); !decoded)
        writer.fail(std::move(decoded).error());
      return true;
    });
  }
  check_client_stream(out, writer.ended());
}

}  // namespace llmux::fuzz
