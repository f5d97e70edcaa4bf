// The provider interface: turn a client request into an upstream HTTP request for one provider.
// Implementations are immutable after construction and safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/upstream.hpp"
#include "providers/chat_events.hpp"
#include "json/request_view.hpp"
#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::providers {

enum class Endpoint { chat_completions, completions, embeddings, models };

const char* endpoint_path(Endpoint endpoint) noexcept;  // "/chat/completions", …

struct EncodeInput {
  Endpoint endpoint;
  std::string_view body;               // the client's body, as received
  const json::RequestFields* fields;   // what read_request found in it
  std::string_view upstream_model;     // model id to send upstream
  std::string_view request_id;
  bool stream = false;
};

class Provider {
 public:
  explicit Provider(ProviderConfig config) : config_(std::move(config)) {}
  virtual ~Provider() = default;

  const ProviderConfig& config() const noexcept { return config_; }
  const std::string& id() const noexcept { return config_.id; }

  // The upstream request for a client request, written into `out` so a connection can reuse one
  // request's storage for all its requests. An endpoint the provider cannot serve gives
  // ErrorKind::unsupported.
  virtual Expected<void, Error> encode_into(const EncodeInput& input, http::UpstreamRequest& out) const = 0;
  Expected<http::UpstreamRequest, Error> encode(const EncodeInput& input) const {
    http::UpstreamRequest request;
    if (auto done = encode_into(input, request); !done) return unexpected(std::move(done).error());
    return request;
  }
  // GET request listing the provider's models.
  virtual http::UpstreamRequest list_models_request() const = 0;
  // Where an endpoint lives; safe for messages (credentials are never in URLs).
  virtual std::string endpoint_url(Endpoint endpoint) const = 0;
  // The client-facing error for an upstream error response; status and Retry-After pass through.
  virtual Error decode_error(int status, std::string_view body, std::string_view retry_after) const = 0;
  // A decoder for responses in a wire format other than OpenAI's; nullptr when responses pass
  // through as bytes.
  virtual std::unique_ptr<ResponseDecoder> make_response_decoder() const { return nullptr; }

 protected:
  // Method, URL, timeouts, the fixed headers and the per-request Accept and x-request-id headers of
  // a POST, assigned into `out`'s existing strings (no allocation once a connection's request has
  // grown). The body is left to the provider.
  void begin_post(const EncodeInput& input, const std::string& url, const std::vector<std::string>& fixed_headers,
                  http::UpstreamRequest& out) const;

  ProviderConfig config_;
};

// The client-facing error for a transfer that got no usable response: unreachable (502) or
// timed out (504). Names the provider and URL, never a credential.
Error transfer_error(const Provider& provider, std::string_view url, const http::TransferResult& result,
                     std::chrono::milliseconds timeout);

// The client-facing error for an upstream error response whose body is JSON in one of the shapes
// servers use: {"error":{"message","type",…}} (OpenAI, Anthropic), {"error":"…"} (Ollama),
// {"message":…}, {"detail":…}. Status and Retry-After pass through.
Error decode_json_error(const Provider& provider, int status, std::string_view body, std::string_view retry_after);

// The error for an endpoint a provider type does not serve (501).
Error unsupported_endpoint(const Provider& provider, Endpoint endpoint);

// "60s" or "1500ms".
std::string format_duration(std::chrono::milliseconds duration);

// Creates the provider for config.type; an unknown type is an error listing the known ones.
Expected<std::unique_ptr<Provider>, std::string> make_provider(const ProviderConfig& config);
std::vector<std::string> known_provider_types();

}  // namespace llmux::providers
