// Provider types and their factories. Adding a provider: one directory plus one line here.
#include <algorithm>
#include <functional>
#include <map>

#include <boost/json.hpp>

#include "providers/anthropic/anthropic.hpp"
#include "providers/azure_openai/azure_openai.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/cohere/cohere.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/ollama/ollama.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"
#include "providers/vertex/vertex.hpp"
#include "providers/provider.hpp"
#include "http/tls_context.hpp"
#include "core/text.hpp"

namespace llmux::providers {

namespace {

using Factory = std::function<std::unique_ptr<Provider>(const ProviderConfig&, UpstreamLimits)>;

template <typename P>
std::unique_ptr<Provider> create(const ProviderConfig& config, UpstreamLimits limits) {
  return std::make_unique<P>(config, limits);
}

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"openai-compatible", &create<OpenAICompatibleProvider>},
      {"anthropic", &create<AnthropicProvider>},
      {"gemini", &create<GeminiProvider>},
      {"azure-openai", &create<AzureOpenAIProvider>},
      {"ollama", &create<OllamaProvider>},
      {"cohere", &create<CohereProvider>},
      {"aws-bedrock", &create<BedrockProvider>},
      {"vertex-ai", &create<VertexProvider>},
  };
  return table;
}

}  // namespace

Expected<std::unique_ptr<Provider>, std::string> make_provider(const ProviderConfig& config,
                                                               const ServerConfig& server) {
  auto it = factories().find(config.type);
  if (it == factories().end()) {
    std::string known;
    for (const auto& name : known_provider_types()) known += (known.empty() ? "" : ", ") + name;
    return unexpected("unknown provider type '" + config.type + "' (known: " + known + ")");
  }
  auto provider = it->second(config, UpstreamLimits::of(server));
  if (std::string problem = provider->startup_error(); !problem.empty()) return unexpected(std::move(problem));
  if (config.base_url.rfind("https://", 0) == 0) {
    auto tls = http::TlsClientContext::make(config.tls, config.id);
    if (!tls) return unexpected(std::move(tls).error());
    provider->tls_ = std::move(*tls);
  }
  return provider;
}

namespace {

// A quoted body (an HTML error page, say) becomes one line: the message goes into log lines and
// JSON error messages, where a raw line break would split or garble them.
void fold_line_breaks(std::string& text) {
  size_t out = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n' || c == '\t') {
      if (out > 0 && text[out - 1] != ' ') text[out++] = ' ';
      continue;
    }
    text[out++] = c;
  }
  text.resize(out);
}

http::UpstreamRequest::Protocol upstream_protocol(const ProviderConfig& config) {
  return effective_http_version(config) == HttpVersion::http2 ? http::UpstreamRequest::Protocol::http2
                                                              : http::UpstreamRequest::Protocol::http1_1;
}

}  // namespace

void Provider::begin_post(const EncodeInput& in, const std::string& url, const std::vector<std::string>& fixed_headers,
                          http::UpstreamRequest& out) const {
  out.method.assign("POST");
  out.url.assign(url);
  out.timeout = config_.timeout;
  out.connect_timeout = http::UpstreamRequest::kDefaultConnectTimeout;
  // A stream is forwarded as it arrives (and paused for slow clients); only a buffered body is capped.
  out.max_response_bytes = in.stream ? 0 : limits_.max_response_bytes;
  out.idle_connection_timeout = limits_.idle_connection_timeout;
  out.common_headers = &fixed_headers;
  out.tls = tls_.get();
  out.protocol = upstream_protocol(config_);
  out.headers.clear();
  out.headers.push_back(in.stream ? "Accept: text/event-stream" : "Accept: application/json");
  if (!in.request_id.empty()) {
    std::string& line = out.headers.add();
    line.assign("x-request-id: ");
    line.append(in.request_id);
  }
  out.body.clear();
}

http::UpstreamRequest Provider::begin_get(std::string url, const std::vector<std::string>& fixed_headers) const {
  http::UpstreamRequest request;
  request.method = "GET";
  request.url = std::move(url);
  request.timeout = config_.timeout;
  request.max_response_bytes = limits_.max_response_bytes;
  request.idle_connection_timeout = limits_.idle_connection_timeout;
  request.common_headers = &fixed_headers;
  request.tls = tls_.get();
  request.protocol = upstream_protocol(config_);
  request.headers.push_back("Accept: application/json");
  return request;
}

http::UpstreamRequest Provider::probe_request(std::string_view path) const {
  http::UpstreamRequest request = list_models_request();
  if (!path.empty()) request.url = config_.base_url + std::string(path);
  return request;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Error transfer_error(const Provider& provider, std::string_view url, const http::TransferResult& result,
                     std::chrono::milliseconds timeout) {
  Error e;
  const std::string named = "provider '" + provider.id() + "'";
  switch (result.failure) {
    case http::TransferFailure::timeout:
      e = Error::make(ErrorKind::upstream_timeout,
                      named + " did not respond within " + format_duration(timeout) + " (" + std::string(url) + ")", {},
                      "upstream_timeout");
      break;
    case http::TransferFailure::bad_status:
      e = Error::make(ErrorKind::upstream_unreachable,
                      named + " answered with " + result.detail +
                          ", which llmux does not pass on (only 2xx, 4xx and 5xx; redirects are not followed) at " +
                          std::string(url),
                      {}, "upstream_bad_status");
      break;
    case http::TransferFailure::too_large:
      e = Error::make(ErrorKind::upstream_unreachable,
                      named + " sent a response too large to buffer at " + std::string(url) + ": " + result.detail +
                          " (server.max_response_size)",
                      {}, "upstream_response_too_large");
      break;
    case http::TransferFailure::not_allowed:
      // A policy refusal, not an outage: nothing to retry, and the message says what to change.
      e = Error::make(ErrorKind::upstream_unreachable, named + " at " + std::string(url) + ": " + result.detail, {},
                      "upstream_not_allowed");
      break;
    default:
      e = Error::make(ErrorKind::upstream_unreachable,
                      named + " is unreachable at " + std::string(url) + ": " + result.detail, {},
                      "upstream_unreachable");
      e.retryable = true;
  }
  e.provider = provider.id();
  return provider.scrubbed(std::move(e));
}

Error decode_json_error(const Provider& provider, int status, std::string_view body,
                        std::string_view retry_after) {
  Error e;
  e.kind = status == 429 ? ErrorKind::rate_limited : ErrorKind::upstream_error;
  e.http_status = status;
  e.provider = provider.id();
  e.upstream_status = status;
  e.retryable = status == 429 || status >= 500;
  if (!retry_after.empty()) e.retry_after = std::string(retry_after);
  std::string upstream_message;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    auto text = [](const boost::json::value* x) -> std::string {
      if (!x) return {};
      if (x->is_string()) return std::string(x->as_string());
      if (x->is_null()) return {};
      return boost::json::serialize(*x);
    };
    if (const auto* err = o.if_contains("error")) {
      if (err->is_object()) {
        const auto& eo = err->as_object();
        upstream_message = text(eo.if_contains("message"));
        e.type = text(eo.if_contains("type"));
        e.code = text(eo.if_contains("code"));
        e.param = text(eo.if_contains("param"));
      } else {
        upstream_message = text(err);
      }
    } else if (const auto* m = o.if_contains("message")) {
      upstream_message = text(m);
    } else if (const auto* d = o.if_contains("detail")) {
      upstream_message = text(d);
    }
  }
  // A body that is not JSON in a known shape is quoted, cut to kQuotedBytes only once scrubbed: a
  // cut through a secret would leave a piece of it that no scrubber recognises.
  constexpr size_t kQuotedBytes = 200;
  size_t quoted_limit = std::string::npos;
  if (upstream_message.empty()) {
    upstream_message = std::string(body.substr(0, kQuotedBytes + 4096));
    quoted_limit = kQuotedBytes;
    if (upstream_message.empty()) upstream_message = "HTTP " + std::to_string(status);
  }
  if (e.type.empty()) {
    switch (status) {
      case 400: e.type = "invalid_request_error"; break;
      case 401: e.type = "authentication_error"; break;
      case 403: e.type = "permission_error"; break;
      case 404: e.type = "not_found_error"; break;
      case 429: e.type = "rate_limit_error"; break;
      default: e.type = status >= 500 ? "upstream_error" : "invalid_request_error";
    }
  }
  std::string prefix = "provider '" + provider.id() + "' returned HTTP " + std::to_string(status) + ": ";
  e.message = prefix + upstream_message;
  e = provider.scrubbed(std::move(e));
  if (quoted_limit != std::string::npos) {
    if (e.message.size() > prefix.size() + quoted_limit) e.message.resize(prefix.size() + quoted_limit);
    fold_line_breaks(e.message);
  }
  return e;
}

namespace {

// Custom header names whose values are credentials by convention.
bool secret_looking_name(std::string_view name) {
  for (std::string_view word : {"authorization", "key", "token", "secret", "password", "passwd", "cookie",
                                "credential", "signature", "session"}) {
    for (size_t i = 0; i + word.size() <= name.size(); ++i)
      if (iequals(name.substr(i, word.size()), word)) return true;
  }
  return false;
}

}  // namespace

void SecretScrubber::add(std::string_view secret) {
  while (!secret.empty() && secret.front() == ' ') secret.remove_prefix(1);
  if (secret.size() < kMinSecretLength) return;
  if (std::find(secrets_.begin(), secrets_.end(), secret) != secrets_.end()) return;
  secrets_.emplace_back(secret);
  std::sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

SecretScrubber::SecretScrubber(const ProviderConfig& config) {
  add(config.aws.secret_access_key.reveal());
  add(config.aws.session_token.reveal());
  std::string_view key = config.api_key.reveal();
  add(key);
  // The credential header's value ("Bearer sk-…", "Basic base64…") and its last word.
  std::string credential = auth_header_line(config);
  if (size_t colon = credential.find(':'); colon != std::string::npos) {
    std::string_view value = std::string_view(credential).substr(colon + 1);
    add(value);
    if (size_t space = value.rfind(' '); space != std::string_view::npos) add(value.substr(space + 1));
  }
  for (const auto& line : credential_and_custom_headers(config)) {
    size_t colon = line.find(':');
    std::string_view name = std::string_view(line).substr(0, colon);
    bool from_key = !key.empty() && line.find(key) != std::string::npos;
    if (colon == std::string::npos || !(from_key || secret_looking_name(name))) continue;
    std::string_view value = std::string_view(line).substr(colon + 1);
    add(value);
    if (size_t space = value.rfind(' '); space != std::string_view::npos) add(value.substr(space + 1));
  }
}

void SecretScrubber::scrub(std::string& text) const {
  for (const auto& secret : secrets_) {
    for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + kMask.size()))
      text.replace(at, secret.size(), kMask);
  }
}

Error Provider::scrubbed(Error error) const {
  for (std::string* text : {&error.message, &error.type, &error.code, &error.param}) scrubber_.scrub(*text);
  if (error.retry_after) scrubber_.scrub(*error.retry_after);
  return error;
}

Expected<void, Error> ResponseDecoder::decode_embeddings(std::string_view, std::string_view, std::string&, json::Usage&) {
  return unexpected(Error::make(ErrorKind::unsupported, "this provider's embeddings answers are not translated", {},
                                "unsupported_endpoint"));
}

Error unsupported_endpoint(const Provider& provider, Endpoint endpoint) {
  Error e = Error::make(ErrorKind::unsupported,
                        "provider '" + provider.id() + "' (type " + provider.config().type + ") does not serve /v1" +
                            endpoint_path(endpoint),
                        {}, "unsupported_endpoint");
  e.provider = provider.id();
  return e;
}

Expected<void, Error> Provider::encode_native(NativeApi, const EncodeInput& input, http::UpstreamRequest&) const {
  return unexpected(unsupported_endpoint(*this, input.endpoint));
}

std::string api_root(std::string_view base_url, std::initializer_list<std::string_view> versions) {
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  for (std::string_view suffix : versions)
    if (base_url.ends_with(suffix)) {
      base_url.remove_suffix(suffix.size());
      break;
    }
  while (base_url.ends_with('/')) base_url.remove_suffix(1);
  return std::string(base_url);
}

std::vector<std::string> known_provider_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace llmux::providers
