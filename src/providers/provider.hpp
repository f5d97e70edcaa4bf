// The provider interface: turn a client request into an upstream HTTP request for one provider.
// Implementations are immutable after construction and safe to share between threads.
#pragma once

#include <initializer_list>
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

// `responses` is OpenAI's Responses API: only providers that serve it as themselves take it (the
// body passes through; serves_responses in llmux/config.hpp), the others answer 501.
enum class Endpoint { chat_completions, completions, embeddings, models, responses };

// A client-facing API other than OpenAI's that a provider may serve in its own wire format: the
// client's body and the provider's answer then pass through as bytes (inbound dialects).
enum class NativeApi { anthropic_messages, anthropic_count_tokens };

const char* endpoint_path(Endpoint endpoint) noexcept;  // "/chat/completions", …

struct EncodeInput {
  Endpoint endpoint;
  std::string_view body;               // the client's body, as received
  const json::RequestFields* fields;   // what read_request found in it
  std::string_view upstream_model;     // model id to send upstream
  std::string_view request_id;
  bool stream = false;
  // The client's anthropic-beta header, forwarded to Claude (a header to Anthropic, the body's
  // anthropic_beta on Vertex AI); "" when it sent none. No other client header is forwarded.
  std::string_view anthropic_beta;
};

// The server settings every upstream request of a provider carries.
struct UpstreamLimits {
  uint64_t max_response_bytes = ServerConfig::kDefaultMaxResponseBytes;  // server.max_response_size
  std::chrono::milliseconds idle_connection_timeout = ServerConfig::kDefaultUpstreamIdleTimeout;  // server.upstream_idle_timeout
  static UpstreamLimits of(const ServerConfig& server) {
    return {server.max_response_bytes, server.upstream_idle_timeout};
  }
};

// Removes a provider's secrets from text that came from its upstream: an API key, the credential
// header's whole value, values of custom headers that look secret. An upstream may echo a request's
// headers in its error text ("Incorrect API key provided: Bearer sk-…"). Built once per provider.
class SecretScrubber {
 public:
  static constexpr std::string_view kMask = "[redacted]";
  // Shorter values would mask ordinary words; a key that short is no secret anyway.
  static constexpr size_t kMinSecretLength = 6;

  explicit SecretScrubber(const ProviderConfig& config);
  void scrub(std::string& text) const;
  // One more secret (a credential the provider found outside its config).
  void add(std::string_view secret);

 private:
  std::vector<std::string> secrets_;  // longest first, so a value wins over a key inside it
};

class Provider {
 public:
  explicit Provider(ProviderConfig config, UpstreamLimits limits = {})
      : config_(std::move(config)), limits_(limits), scrubber_(config_) {}
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
  // The health probe's GET: the model listing, or `{base_url}{path}` for a router.health.path,
  // with the provider's credentials (a signature is made over what is sent).
  virtual http::UpstreamRequest probe_request(std::string_view path) const;
  // Where an endpoint lives; safe for messages (credentials are never in URLs).
  virtual std::string endpoint_url(Endpoint endpoint) const = 0;
  // The client-facing error for an upstream error response; status and Retry-After pass through.
  virtual Error decode_error(int status, std::string_view body, std::string_view retry_after) const = 0;
  // The same, with the response's x-amzn-ErrorType header ("" when it had none), where AWS
  // services name the exception. Only Bedrock reads it; the others answer as decode_error.
  virtual Error decode_error_with_type(int status, std::string_view body, std::string_view retry_after,
                                       std::string_view error_type) const {
    (void)error_type;
    return decode_error(status, body, retry_after);
  }
  // A decoder for responses in a wire format other than OpenAI's; nullptr when responses pass
  // through as bytes.
  virtual std::unique_ptr<ResponseDecoder> make_response_decoder() const { return nullptr; }
  // Whether the provider serves `api` natively, and its upstream request for it: the client's body
  // with only the model rewritten (and default params merged where the API takes them).
  virtual bool serves_native(NativeApi api) const {
    (void)api;
    return false;
  }
  virtual Expected<void, Error> encode_native(NativeApi api, const EncodeInput& input, http::UpstreamRequest& out) const;

  // Why the provider cannot work at all (a credentials file that cannot be read), which
  // make_provider reports as a configuration error; empty when it can.
  virtual std::string startup_error() const { return {}; }

  // Every error built from what an upstream sent (its error body, Retry-After, a transfer's
  // failure detail) passes through here on its way to a client or a log: this provider's secrets
  // are removed from all of its text.
  Error scrubbed(Error error) const;
  // The same for text that is not an Error (a translated stream's error event).
  void scrub(std::string& text) const { scrubber_.scrub(text); }

 protected:
  // Method, URL, timeouts, the fixed headers and the per-request Accept and x-request-id headers of
  // a POST, assigned into `out`'s existing strings (no allocation once a connection's request has
  // grown). The body is left to the provider.
  void begin_post(const EncodeInput& input, const std::string& url, const std::vector<std::string>& fixed_headers,
                  http::UpstreamRequest& out) const;

  // A GET of the provider's own (list_models_request): limits and timeouts set, no headers.
  http::UpstreamRequest begin_get(std::string url, const std::vector<std::string>& fixed_headers) const;

  ProviderConfig config_;
  UpstreamLimits limits_;
  SecretScrubber scrubber_;
  // Set by make_provider for an https base_url: every request of this provider carries it.
  std::shared_ptr<const http::TlsClientContext> tls_;
  friend Expected<std::unique_ptr<Provider>, std::string> make_provider(const ProviderConfig&, const ServerConfig&);
};

// The client-facing error for a transfer that got no usable response: unreachable, a refused
// status or a body over server.max_response_size (502), or timed out (504). Names the provider
// and URL, never a credential.
Error transfer_error(const Provider& provider, std::string_view url, const http::TransferResult& result,
                     std::chrono::milliseconds timeout);

// The client-facing error for an upstream error response whose body is JSON in one of the shapes
// servers use: {"error":{"message","type",…}} (OpenAI, Anthropic), {"error":"…"} (Ollama),
// {"message":…}, {"detail":…}. Status and Retry-After pass through.
Error decode_json_error(const Provider& provider, int status, std::string_view body, std::string_view retry_after);

// The error for an endpoint a provider type does not serve (501).
Error unsupported_endpoint(const Provider& provider, Endpoint endpoint);
// The 501 for /v1/responses on a provider that does not serve it, saying how one is marked
// (responses_support.cpp).
Error unsupported_responses(const Provider& provider);

// A base URL without trailing slashes and without one trailing version segment from `versions`
// ("https://api.cohere.com/v2/" with {"/v1", "/v2"} → "https://api.cohere.com"): the root an
// adapter's own paths go under.
std::string api_root(std::string_view base_url, std::initializer_list<std::string_view> versions);

// "60s" or "1500ms".
std::string format_duration(std::chrono::milliseconds duration);

// Creates the provider for config.type; an unknown type is an error listing the known ones.
// `server` gives the limits its upstream requests carry (max_response_size, upstream_idle_timeout).
Expected<std::unique_ptr<Provider>, std::string> make_provider(const ProviderConfig& config,
                                                               const ServerConfig& server = {});
std::vector<std::string> known_provider_types();

}  // namespace llmux::providers
