#include "server/inbound_dialect.hpp"

#include "providers/anthropic/anthropic_inbound.hpp"
#include "providers/anthropic/anthropic_output.hpp"
#include "providers/openai_output.hpp"

namespace llmux::server {

namespace {

class OpenAIChatDialect final : public InboundDialect {
 public:
  Expected<size_t, Error> to_chat_request(std::string_view body, std::string& out) const override {
    out.append(body);
    return body.size();
  }
  std::string error_json(const Error& error) const override { return to_openai_json(error); }
  void append_stream_error(const Error& error, std::string& out) const override {
    out += "data: ";
    out += to_openai_json(error);
    out += "\n\n";
  }
  void write_body(const providers::ChatResponse& response, int64_t created, std::string& out) const override {
    providers::write_chat_completion(response, created, out);
  }
  bool native_error_event(const http::SseEvent&) const override { return false; }
  bool native_content_event(const http::SseEvent&) const override { return false; }
};

// Anthropic names every event; the type is in the data as well, for a stream that leaves it out.
bool event_is(const http::SseEvent& e, std::string_view type) {
  if (!e.event.empty()) return e.event == type;
  std::string quoted = "\"type\":\"" + std::string(type) + "\"";
  return e.data.find(quoted) != std::string_view::npos;
}

class AnthropicMessagesDialect : public InboundDialect {
 public:
  explicit AnthropicMessagesDialect(providers::NativeApi api, bool count_only) : api_(api), count_only_(count_only) {}
  std::optional<providers::NativeApi> native_api() const override { return api_; }
  Expected<size_t, Error> to_chat_request(std::string_view body, std::string& out) const override {
    auto converted = providers::messages_to_chat_request(body, out, count_only_);
    if (!converted) return unexpected(std::move(converted).error());
    return converted->text_bytes;
  }
  std::string error_json(const Error& error) const override { return providers::to_anthropic_error_json(error); }
  void append_stream_error(const Error& error, std::string& out) const override {
    providers::append_anthropic_error_event(error, out);
  }
  void write_body(const providers::ChatResponse& response, int64_t, std::string& out) const override {
    providers::write_anthropic_message(response, out);
  }
  bool native_error_event(const http::SseEvent& e) const override { return event_is(e, "error"); }
  // Text, thinking and tool input come in deltas; a tool call's start and the message's end also
  // count (an answer may be a bare tool call, or empty).
  bool native_content_event(const http::SseEvent& e) const override {
    return event_is(e, "content_block_delta") || event_is(e, "message_delta") || event_is(e, "message_stop") ||
           (event_is(e, "content_block_start") && e.data.find("\"tool_use\"") != std::string_view::npos);
  }

 private:
  providers::NativeApi api_;
  bool count_only_;
};

}  // namespace

const InboundDialect& openai_chat_dialect() {
  static const OpenAIChatDialect dialect;
  return dialect;
}

const InboundDialect& anthropic_messages_dialect() {
  static const AnthropicMessagesDialect dialect(providers::NativeApi::anthropic_messages, false);
  return dialect;
}

const InboundDialect& anthropic_count_tokens_dialect() {
  static const AnthropicMessagesDialect dialect(providers::NativeApi::anthropic_count_tokens, true);
  return dialect;
}

}  // namespace llmux::server
