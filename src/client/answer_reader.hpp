// How the library reads an answer: an OpenAI body or chunk (pass-through providers), or the
// canonical events and response a provider's decoder makes of its own wire format. Both end in
// the same ChatResponse and the same typed StreamEvents.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "llmux/client.hpp"
#include "providers/chat_events.hpp"

namespace llmux::client_detail {

// JSON string contents (no quotes) with their escapes resolved, appended to `out`.
void append_unescaped(std::string_view escaped, std::string& out);

TokenUsage token_usage(const json::Usage& usage);

// Builds the response from a stream's events, handing each to the caller as it comes.
class AnswerAssembler {
 public:
  AnswerAssembler(ChatResponse& out, const std::function<void(const StreamEvent&)>& on_event)
      : out_(out), on_event_(on_event) {}
  void text(std::string_view piece);
  void reasoning(std::string_view piece);
  void tool_call(int index, std::string_view id, std::string_view name);
  void tool_arguments(int index, std::string_view piece);
  void finish(std::string_view reason);
  void usage(const TokenUsage& usage);

 private:
  ToolCall& call_at(int index);
  ChatResponse& out_;
  const std::function<void(const StreamEvent&)>& on_event_;
};

// A decoder's canonical stream events into the assembler, unescaped.
class CanonicalStreamReader final : public providers::StreamSink {
 public:
  CanonicalStreamReader(ChatResponse& out, AnswerAssembler& assembler) : out_(out), assembler_(assembler) {}
  void on_event(const providers::StreamEvent& event) override;
  bool done() const noexcept { return done_; }
  // The provider's mid-stream error (its type and message), if one came.
  const std::optional<std::pair<std::string, std::string>>& error() const noexcept { return error_; }

 private:
  ChatResponse& out_;
  AnswerAssembler& assembler_;
  std::string scratch_;
  bool done_ = false;
  std::optional<std::pair<std::string, std::string>> error_;
};

// One OpenAI stream chunk into the assembler. Returns false when the chunk is an error object.
bool read_openai_chunk(std::string_view data, ChatResponse& out, AnswerAssembler& assembler);

// A whole OpenAI chat completion; false when it is not one.
bool read_openai_completion(std::string_view body, ChatResponse& out);
// A decoder's whole response.
void read_canonical_completion(const providers::ChatResponse& in, ChatResponse& out);

}  // namespace llmux::client_detail
