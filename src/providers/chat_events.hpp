// The canonical shape of a chat response between a provider's decoder and the client's encoder:
// a whole response, or a stream as a sequence of typed events. A provider whose wire format is not
// the client's decodes into these; the client's wire format is written from them.
//
// Text fields hold JSON string *contents as they appear between the quotes*, still escaped
// ("EscapedText"), so text moves from the provider's JSON document into the client's without being
// unescaped and escaped again. Every view points into the decoder's input and is valid only until
// the decoder is next called.
#pragma once

#include <string_view>
#include <vector>

#include "http/sse.hpp"
#include "json/request_view.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::providers {

// Escaped JSON string contents (no quotes).
using EscapedText = std::string_view;

enum class FinishReason { none, stop, length, tool_calls, content_filter };

// OpenAI's name for a finish reason ("stop", "length", "tool_calls", "content_filter").
std::string_view finish_reason_name(FinishReason reason) noexcept;

struct StreamEvent {
  enum class Kind {
    start,           // id, model: the response has begun
    text,            // text: a piece of the answer
    reasoning,       // text: a piece of the model's visible reasoning
    reasoning_signature,  // text: the signature that closes the reasoning so far (sent back to the
                          // provider with it; Anthropic's signature_delta, Bedrock's, Gemini's
                          // thoughtSignature); only OpenAI-incompatible clients can carry it
    redacted_reasoning,   // text: a block of reasoning the provider sends encrypted (Anthropic's
                          // redacted_thinking data, Bedrock's redactedContent), whole
    tool_call,       // tool_index, id, name: a tool call begins
    tool_arguments,  // tool_index, text: a piece of the call's JSON arguments
    finish,          // finish: why generation stopped
    usage,           // usage: token counts (the last one sent wins)
    done,            // the stream is complete
    error,           // error_type, text: the provider failed mid-stream; nothing follows
  };
  Kind kind = Kind::text;
  std::string_view id;
  std::string_view model;
  EscapedText name;
  EscapedText text;
  std::string_view error_type;
  int tool_index = 0;  // 0-based position among this response's tool calls
  FinishReason finish = FinishReason::none;
  json::Usage usage;
};

// Receives decoded stream events. Not thread-safe; one per stream.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void on_event(const StreamEvent& event) = 0;
};

struct ToolCall {
  std::string_view id;
  EscapedText name;
  std::string_view arguments_json;  // the arguments as JSON text (not a string literal), minified
};

// A whole (non-stream) chat response.
struct ChatResponse {
  std::string_view id;
  std::string_view model;
  std::vector<EscapedText> text;       // pieces of the answer, in order; concatenated when written
  std::vector<EscapedText> reasoning;  // pieces of visible reasoning
  EscapedText reasoning_signature;     // the signature of that reasoning, when the provider gave one
  std::vector<EscapedText> redacted_reasoning;  // encrypted reasoning blocks, in order
  std::vector<ToolCall> tool_calls;
  FinishReason finish = FinishReason::stop;
  json::Usage usage;

  void clear() {
    id = model = reasoning_signature = {};
    text.clear();
    reasoning.clear();
    redacted_reasoning.clear();
    tool_calls.clear();
    finish = FinishReason::stop;
    usage = {};
  }
};

// How a stream's bytes are cut into the events decode_event is handed:
//   sse             Server-Sent Events
//   ndjson          one JSON object per line (Ollama): each line is an event's data
//   aws_eventstream binary AWS event-stream messages (Bedrock): the event is the message's
//                   :event-type and its data the payload; exceptions and errors are named as
//                   providers/bedrock/eventstream.hpp's as_sse_event says
enum class StreamFraming { sse, ndjson, aws_eventstream };

// Turns one provider's response wire format into canonical form. Holds parse buffers that the views
// it hands out point into, and keeps them across responses (no allocation once warm). Not
// thread-safe; a connection owns one per provider type it talks to.
class ResponseDecoder {
 public:
  virtual ~ResponseDecoder() = default;

  // Forgets the state of a previous stream.
  virtual void reset() = 0;
  // One upstream SSE event into zero or more canonical events. An error means the event could not
  // be read; the stream cannot continue.
  virtual Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) = 0;
  // A whole successful response body. `out` is cleared first.
  virtual Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) = 0;
  // How this provider's streams are framed (see StreamFraming).
  virtual StreamFraming stream_framing() const { return StreamFraming::sse; }
  bool ndjson_stream() const { return stream_framing() == StreamFraming::ndjson; }
  // A whole successful embeddings response, written in OpenAI's shape to `out` (appended) with
  // its token counts in `usage`. A provider whose embeddings pass through has no need of it.
  virtual Expected<void, Error> decode_embeddings(std::string_view body, std::string_view model, std::string& out,
                                                  json::Usage& usage);
};

}  // namespace llmux::providers
