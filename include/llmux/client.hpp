// llmux as a library: register providers from config structs and talk to them directly, without
// the server. Uses the same provider adapters, model resolution and pooled upstream client as
// `llmux serve`, driven by one internal event-loop thread.
//
// Thread safety: every method may be called from any thread; calls run concurrently on the
// internal loop. Stream callbacks run on that loop's thread and must not call back into the Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux {

// One part of a message's content: text, or an image by URL (https: or a data: URL with base64).
struct ContentPart {
  enum class Type { text, image_url };
  Type type = Type::text;
  std::string text;    // Type::text
  std::string url;     // Type::image_url
  std::string detail;  // Type::image_url: "auto", "low" or "high"; empty: not sent

  static ContentPart of_text(std::string text) { return {Type::text, std::move(text), {}, {}}; }
  static ContentPart image(std::string url, std::string detail = {}) {
    return {Type::image_url, {}, std::move(url), std::move(detail)};
  }
};

// A call the model made to one of the request's tools.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, as JSON text
};

struct ChatMessage {
  std::string role;     // system | user | assistant | tool
  std::string content;  // the text; a message with `parts` sends those instead
  std::vector<ContentPart> parts;
  std::vector<ToolCall> tool_calls;  // assistant: the calls it made (answered by tool messages)
  std::string tool_call_id;          // tool: the call this message is the result of
};

// A function the model may call.
struct ToolDefinition {
  std::string name;
  std::string description;
  std::string parameters = R"({"type":"object","properties":{}})";  // a JSON Schema, as JSON text
};

struct ChatRequest {
  std::string model;     // "provider/model", a model id or alias; empty = default provider's default
  std::string provider;  // optional: pin the provider (like the x-llmux-provider header)
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
  std::vector<ToolDefinition> tools;
  std::string tool_choice;  // "auto", "none", "required", or one tool's name; empty: not sent
};

// Token counts in OpenAI's sense: cached tokens are part of the prompt's, reasoning tokens part of
// the completion's.
struct TokenUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_tokens = 0;
  int64_t reasoning_tokens = 0;
};

struct ChatResponse {
  std::string id;
  std::string provider;  // the provider that answered
  std::string model;
  std::string content;
  std::string reasoning;  // the model's visible reasoning, when its provider sends it
  std::vector<ToolCall> tool_calls;
  std::string finish_reason;  // stop | length | tool_calls | content_filter
  TokenUsage usage;
  double latency_ms = 0;  // from the request's start to its last byte
};

// One typed piece of a streamed answer, in the order the provider sent it. The views are valid
// only during the callback.
struct StreamEvent {
  enum class Type {
    text,            // text: a piece of the answer
    reasoning,       // text: a piece of the model's visible reasoning
    tool_call,       // tool_index, tool_call_id, tool_name: a call begins
    tool_arguments,  // tool_index, text: a piece of the call's JSON arguments
    usage,           // usage: the token counts
    finish,          // text: why generation stopped (as finish_reason)
  };
  Type type = Type::text;
  std::string_view text;
  int tool_index = 0;  // 0-based among the answer's tool calls
  std::string_view tool_call_id;
  std::string_view tool_name;
  TokenUsage usage;
};

struct ModelInfo {
  std::string id;
  std::string provider;
  bool configured = false;  // listed in the provider's config
  bool live = false;        // returned by the provider's GET /models
  std::optional<int64_t> context_window;
};

struct HealthStatus {
  std::string provider;
  bool healthy = false;
  int http_status = 0;
  std::chrono::milliseconds latency{0};
  std::string message;
};

// The OpenAI chat-completions body for a request (stream adds stream_options.include_usage). A
// tool's parameters must be JSON text (Client::chat checks them; here invalid text is sent as {}).
std::string chat_request_body(const ChatRequest& request, bool stream);

class Client {
 public:
  Client();
  ~Client();  // calls close()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Registers (or replaces) a provider. The config is validated like a config file's.
  Expected<void, Error> add_provider(ProviderConfig config);
  Expected<void, Error> remove_provider(std::string_view id);
  // The provider that serves requests naming no provider and no known model.
  Expected<void, Error> set_default_provider(std::string_view id);
  std::vector<std::string> provider_ids() const;

  Expected<ChatResponse, Error> chat(const ChatRequest& request);
  // Calls on_event with each typed event as it arrives; returns the assembled response (text,
  // reasoning, tool calls with their whole arguments, usage). An error the provider sends
  // mid-stream is the result's error.
  Expected<ChatResponse, Error> chat_stream(const ChatRequest& request,
                                            const std::function<void(const StreamEvent&)>& on_event);
  // The text pieces only: a convenience over the typed form.
  Expected<ChatResponse, Error> chat_stream(const ChatRequest& request,
                                            const std::function<void(std::string_view)>& on_delta);

  // Configured and live models of one provider, or of all when `provider` is empty.
  Expected<std::vector<ModelInfo>, Error> list_models(std::string_view provider = {});
  // GET /models on the provider, timed.
  HealthStatus check_health(std::string_view provider);

  // Cancels nothing in flight but waits for it, then stops the loop. Idempotent.
  void close();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmux
