// Writes canonical chat responses (chat_events.hpp) in Anthropic's Messages API wire format, for
// clients of the gateway's own POST /v1/messages: a message body, or the message event stream
// (message_start, ping, content_block_start/delta/stop, message_delta, message_stop), and errors
// in Anthropic's shape. The counterpart of openai_output.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/error.hpp"
#include "providers/chat_events.hpp"
#include "providers/client_writer.hpp"

namespace llmux::providers {

// Anthropic's error type for a gateway error: the type an upstream error already carries when it
// is one of Anthropic's, else the one Anthropic uses for its HTTP status.
std::string_view anthropic_error_type(const Error& error) noexcept;
// {"type":"error","error":{"type":…,"message":…}}
std::string to_anthropic_error_json(const Error& error);
// `event: error` with that body.
void append_anthropic_error_event(const Error& error, std::string& out);

// Anthropic's stop_reason for a finish reason ("end_turn", "max_tokens", "tool_use", "refusal").
std::string_view anthropic_stop_reason(FinishReason reason) noexcept;

// Appends the Messages API body for `response` to `out`.
void write_anthropic_message(const ChatResponse& response, std::string& out);

// A ClientStreamWriter for Anthropic message streams. Content blocks are numbered in the order
// they open; one is open at a time, as Anthropic streams them. Keeps its storage across streams.
class AnthropicEventWriter final : public ClientStreamWriter {
 public:
  void begin(std::string* out, int64_t created, bool include_usage) override;
  void default_model(std::string_view model) override;
  void on_event(const StreamEvent& event) override;
  void fail(const Error& error) override;
  bool done() const noexcept { return done_; }
  bool failed() const noexcept override { return failed_; }
  bool ended() const noexcept override { return done_ || failed_; }
  const json::Usage& usage() const noexcept override { return usage_; }
  size_t text_bytes() const noexcept override { return text_bytes_; }

 private:
  enum class Block { none, text, thinking, redacted_thinking, tool };
  void start_message(std::string_view id, std::string_view model);
  void open_block(Block kind, const StreamEvent& event);
  void close_block();
  void delta(int index, std::string_view type, std::string_view field, EscapedText text);
  void event_head(std::string_view name);
  void finish_message();

  std::string* out_ = nullptr;
  std::string default_model_;  // escaped
  bool started_ = false;
  bool done_ = false;
  bool failed_ = false;
  Block open_ = Block::none;
  int open_index_ = -1;
  int next_index_ = 0;
  std::vector<int> tool_blocks_;  // tool_index -> content block index
  FinishReason finish_ = FinishReason::none;
  json::Usage usage_;
  size_t text_bytes_ = 0;
};

}  // namespace llmux::providers
