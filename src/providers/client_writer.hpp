// The writer of a translated stream in the client's wire format (an inbound dialect's output):
// canonical events in, the client's SSE bytes appended to a string the exchange drains. One
// implementation per client-facing API: OpenAI chat chunks, Anthropic message events, later the
// Responses API's events.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "providers/chat_events.hpp"

namespace llmux::providers {

class ClientStreamWriter : public StreamSink {
 public:
  // Starts a stream whose events are appended to `*out`. `include_usage`: the client asked for a
  // usage chunk (OpenAI's stream_options); a dialect that always reports usage ignores it.
  virtual void begin(std::string* out, int64_t created, bool include_usage) = 0;
  // The model named when the provider's start event names none.
  virtual void default_model(std::string_view model) = 0;
  // Ends the stream with an error event, unless it has already ended.
  virtual void fail(const Error& error) = 0;
  virtual bool failed() const noexcept = 0;
  virtual bool ended() const noexcept = 0;
  virtual const json::Usage& usage() const noexcept = 0;
  virtual size_t text_bytes() const noexcept = 0;  // text, reasoning and tool arguments written
  // Prices for a cost in the usage the stream reports; `request_body` starts an estimate.
  virtual void price_usage_with(const ModelPrices* prices, std::string_view request_body) noexcept {
    (void)prices;
    (void)request_body;
  }
};

}  // namespace llmux::providers
