// Writes canonical chat responses (chat_events.hpp) in OpenAI's wire format: a chat.completion
// body, or chat.completion.chunk SSE events ending in "data: [DONE]".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "llmux/config.hpp"
#include "providers/chat_events.hpp"
#include "providers/client_writer.hpp"

namespace llmux::providers {

// Appends the chat.completion body for `response` to `out`.
void write_chat_completion(const ChatResponse& response, int64_t created, std::string& out);

// A StreamSink that appends OpenAI SSE events to a string the caller drains between calls. Keeps
// its storage across streams. Not thread-safe; one per connection.
class OpenAIChunkWriter final : public ClientStreamWriter {
 public:
  // Starts a stream whose events are appended to `*out`. `include_usage` is the client's
  // stream_options.include_usage: a last chunk with the usage and no choices.
  void begin(std::string* out, int64_t created, bool include_usage) override;

  // The model named in the chunks when the provider's start event names none (Cohere's).
  void default_model(std::string_view model) override;

  void on_event(const StreamEvent& event) override;
  // Ends the stream with an error event (no [DONE]), unless it has already ended.
  void fail(const Error& error) override;

  bool done() const noexcept { return done_; }      // [DONE] written
  bool failed() const noexcept override { return failed_; }  // an error event written
  bool ended() const noexcept override { return done_ || failed_; }
  const json::Usage& usage() const noexcept override { return usage_; }
  // With prices, the usage chunk (when the client asked for one) carries the answer's cost_usd;
  // `request_body` is what an estimate starts from when the provider reports no usage.
  void price_usage_with(const ModelPrices* prices, std::string_view request_body) noexcept override {
    prices_ = prices;
    request_body_ = request_body;
  }
  size_t text_bytes() const noexcept override { return text_bytes_; }  // text, reasoning and tool arguments written

 private:
  void open_chunk();                          // `data: {"id":…,"choices":[`
  void open_delta();                          // open_chunk + `{"index":0,"delta":{`
  void close_delta(FinishReason finish = FinishReason::none);

  std::string* out_ = nullptr;
  std::string id_;     // escaped, from the start event
  std::string model_;  // escaped, from the start event
  std::string default_model_;  // escaped
  int64_t created_ = 0;
  bool include_usage_ = false;
  bool done_ = false;
  bool failed_ = false;
  json::Usage usage_;
  const ModelPrices* prices_ = nullptr;
  std::string_view request_body_;
  size_t text_bytes_ = 0;
};

}  // namespace llmux::providers
