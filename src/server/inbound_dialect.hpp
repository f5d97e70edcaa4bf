// The client's wire format of a completion exchange ("inbound dialect"), chosen by the path: how
// the request becomes the canonical (OpenAI chat) request the adapters encode, which providers
// serve it natively (their answers then pass through as bytes), and how answers, streams and
// errors are written back. OpenAI's chat completions is the identity dialect; /v1/messages is
// Anthropic's; /v1/responses can join as a third without touching the exchange's stages.
// Implementations are stateless singletons.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/sse.hpp"
#include "llmux/error.hpp"
#include "providers/chat_events.hpp"
#include "providers/client_writer.hpp"
#include "providers/provider.hpp"

namespace llmux::server {

class InboundDialect {
 public:
  virtual ~InboundDialect() = default;

  // The API a provider may serve natively (the body and answer pass through); none: OpenAI's,
  // which every adapter already takes as its input.
  virtual std::optional<providers::NativeApi> native_api() const { return std::nullopt; }
  // The client's body as an OpenAI chat completions body (appended to `out`), for providers that
  // do not serve the dialect natively. The text bytes of the prompt come back (an estimate's base).
  virtual Expected<size_t, Error> to_chat_request(std::string_view body, std::string& out) const = 0;
  // The body of an error answer, and a stream's error event.
  virtual std::string error_json(const Error& error) const = 0;
  virtual void append_stream_error(const Error& error, std::string& out) const = 0;
  // A whole canonical answer in the client's format.
  virtual void write_body(const providers::ChatResponse& response, int64_t created, std::string& out) const = 0;

  // A natively served stream passed through: whether an event is the upstream's error, carries
  // content (the attempt has answered), or ends the stream. OpenAI's are handled by the exchange.
  virtual bool native_error_event(const http::SseEvent& event) const = 0;
  virtual bool native_content_event(const http::SseEvent& event) const = 0;
};

const InboundDialect& openai_chat_dialect();
const InboundDialect& anthropic_messages_dialect();
const InboundDialect& anthropic_count_tokens_dialect();

}  // namespace llmux::server
