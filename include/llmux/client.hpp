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

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct ChatRequest {
  std::string model;     // "provider/model", a model id or alias; empty = default provider's default
  std::string provider;  // optional: pin the provider (like the x-llmux-provider header)
  std::vector<ChatMessage> messages;
  std::optional<double> temperature;
  std::optional<int64_t> max_tokens;
};

struct TokenUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
};

struct ChatResponse {
  std::string id;
  std::string provider;
  std::string model;
  std::string content;
  std::string finish_reason;
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

// The OpenAI chat-completions body for a request (stream adds stream_options.include_usage).
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
  // Calls on_delta with each piece of text as it arrives; returns the assembled response.
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
