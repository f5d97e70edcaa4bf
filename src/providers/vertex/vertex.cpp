#include "providers/vertex/vertex.hpp"

#include <algorithm>

#include <simdjson.h>

#include "json/simdjson_support.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/encode_support.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::providers {

namespace {

// Vertex's Claude ids carry a version after '@' (claude-sonnet-4@20250514); '@' is a plain path
// character, so it is let through with what is_plain_path_segment allows.
Expected<std::string_view, Error> vertex_model_segment(std::string_view model) {
  if (model.starts_with("models/")) model.remove_prefix(7);
  std::string_view name = model.substr(0, model.find('@'));
  std::string_view version = name.size() < model.size() ? model.substr(name.size() + 1) : std::string_view("v");
  if (!encode::is_plain_path_segment(name) || !encode::is_plain_path_segment(version))
    return encode::invalid("model '" + std::string(model) +
                               "' is not a Vertex AI model id (letters, digits, '-', '.', '_', and '@' before a version)",
                           "model", "invalid_value");
  return model;
}

// How long the provider's construction waits for its first token: start-up and one-shot tools
// then find a token at their first request. Never on a request thread.
std::chrono::milliseconds first_token_wait(std::chrono::milliseconds timeout) {
  return std::clamp(timeout, std::chrono::milliseconds(1000), std::chrono::milliseconds(10000));
}

class VertexDecoder final : public ResponseDecoder {
 public:
  VertexDecoder() : gemini_(make_gemini_decoder()), anthropic_(make_anthropic_decoder()) {}

  void reset() override {
    gemini_->reset();
    anthropic_->reset();
    active_ = nullptr;
  }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    if (!active_) active_ = event.event.empty() ? gemini_.get() : anthropic_.get();
    return active_->decode_event(event, sink);
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    return (anthropic_body(body) ? anthropic_ : gemini_)->decode_body(body, out);
  }

 private:
  bool anthropic_body(std::string_view body) {
    simdjson::dom::object top;
    if (parser_.parse(json::padded_copy(body, buffer_)).get_object().get(top)) return false;
    std::string_view type;
    if (top["type"].get_string().get(type)) return false;
    return type == "message" || type == "error";
  }

  std::unique_ptr<ResponseDecoder> gemini_, anthropic_;
  ResponseDecoder* active_ = nullptr;  // the stream's, once its first event told
  simdjson::dom::parser parser_;
  std::string buffer_;
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_vertex_decoder() { return std::make_unique<VertexDecoder>(); }

void VertexProvider::set_urls() {
  const ProviderVertexConfig& v = config_.vertex;
  const std::string location = config_.base_url + "/projects/" + v.project_id + "/locations/" + v.region;
  google_models_url_ = location + "/publishers/google/models/";
  anthropic_models_url_ = location + "/publishers/anthropic/models/";
  listing_url_ = api_root(config_.base_url, {"/v1", "/v1beta1"}) + "/v1beta1/publishers/google/models?pageSize=100";
  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
}

VertexProvider::VertexProvider(ProviderConfig config, std::unique_ptr<vertex::AccessTokenSource> tokens,
                               UpstreamLimits limits)
    : Provider(std::move(config), limits), tokens_(std::move(tokens)) {
  set_urls();
}

VertexProvider::VertexProvider(ProviderConfig config, UpstreamLimits limits) : Provider(std::move(config), limits) {
  set_urls();
  const ProviderVertexConfig& v = config_.vertex;
  if (v.service_account_key.empty()) {
    startup_error_ = "serviceAccountKey (a service-account JSON key file) is required for type vertex-ai";
    return;
  }
  auto key = vertex::read_service_account_key(v.service_account_key);
  if (!key) {
    startup_error_ = std::move(key).error();
    return;
  }
  const std::string token_uri = key->token_uri;
  tokens_ = std::make_unique<vertex::AccessTokenSource>(
      config_.id, token_uri,
      [key = std::move(*key), timeout = config_.timeout](const std::atomic<bool>& stop) {
        return vertex::fetch_access_token(key, timeout, stop);
      });
  (void)tokens_->wait_first(first_token_wait(config_.timeout));
}

VertexProvider::Publisher VertexProvider::publisher_of(std::string_view model) const noexcept {
  const std::string& configured = config_.vertex.publisher;
  if (configured == "anthropic") return Publisher::anthropic;
  if (configured == "google") return Publisher::google;
  return model.starts_with("claude") ? Publisher::anthropic : Publisher::google;
}

std::string VertexProvider::endpoint_url(Endpoint endpoint) const {
  return endpoint == Endpoint::models ? listing_url_ : google_models_url_ + "{model}:generateContent";
}

Expected<void, Error> VertexProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint != Endpoint::chat_completions) return unexpected(unsupported_endpoint(*this, in.endpoint));
  if (!tokens_) return unexpected(Error::make(ErrorKind::internal, startup_error_, {}, "vertex_credentials"));
  auto model = vertex_model_segment(in.upstream_model);
  if (!model) return unexpected(std::move(model).error());
  auto token = tokens_->current();
  if (!token) return unexpected(std::move(token).error());
  const bool anthropic = publisher_of(*model) == Publisher::anthropic;
  begin_post(in, anthropic ? anthropic_models_url_ : google_models_url_, fixed_headers_, out);
  out.headers.add().assign((*token)->header_line);
  out.url += *model;
  if (anthropic) {
    out.url += in.stream ? ":streamRawPredict" : ":rawPredict";
    return translate_vertex_chat_request(in.body, {kAnthropicVersion, in.anthropic_beta}, in.stream, default_params_,
                                         out.body, config_.drop_params);
  }
  out.url += in.stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
  return translate_gemini_request(in.body, *model, default_params_, out.body, config_.drop_params);
}

http::UpstreamRequest VertexProvider::list_models_request() const {
  http::UpstreamRequest request = begin_get(listing_url_, fixed_headers_);
  // Without a token the listing is sent anyway: Google's 401 is then the probe's answer.
  if (tokens_)
    if (auto token = tokens_->current()) request.headers.push_back((*token)->header_line);
  return request;
}

Error VertexProvider::without_token(Error error) const {
  if (!tokens_) return error;
  auto token = tokens_->current();
  if (!token) return error;
  std::string_view line = (*token)->header_line;
  std::string_view value = line.substr(line.rfind(' ') + 1);
  for (std::string* text : {&error.message, &error.type, &error.code, &error.param})
    for (size_t at = text->find(value); at != std::string::npos; at = text->find(value, at))
      text->replace(at, value.size(), SecretScrubber::kMask);
  return error;
}

Error VertexProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  // Vertex answers in Google's shape for both publishers (auth, quota, routing); Claude's own
  // errors come in Anthropic's {"type":"error","error":{…}}, which decode_json_error reads.
  Error google = decode_google_error(*this, status, body, retry_after);
  if (google.code.empty()) return without_token(decode_json_error(*this, status, body, retry_after));
  return without_token(std::move(google));
}

std::unique_ptr<ResponseDecoder> VertexProvider::make_response_decoder() const { return make_vertex_decoder(); }

}  // namespace llmux::providers
