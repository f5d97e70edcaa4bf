#include "providers/bedrock/bedrock.hpp"

#include <ctime>
#include <optional>

#include <simdjson.h>

#include "core/json_text.hpp"
#include "core/text.hpp"
#include "json/simdjson_support.hpp"
#include "providers/encode_support.hpp"
#include "providers/settings_support.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::providers {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

using encode::append_value;
using encode::FieldPath;
using encode::invalid;
using encode::invalid_at;
using encode::kMessages;

// Claude's default answer room on Bedrock when thinking raises maxTokens (as Anthropic's adapter).
constexpr int64_t kClaudeDefaultMaxTokens = 4096;

// Writes the Converse body while reading OpenAI's. Consecutive messages of one role become one
// Converse message (Bedrock wants user and assistant turns to alternate; OpenAI's tool results are
// separate messages, Converse's are blocks of one user turn).
class ConverseTranslator {
 public:
  ConverseTranslator(object request, std::string& out, encode::DroppedParams dropped)
      : request_(request), out_(out), dropped_(dropped) {}

  Expected<void, Error> run(std::string_view model, const json::JsonMembers& defaults) {
    if (auto refused = refuse_unsupported(); !refused) return refused;
    auto thinking = plan_reasoning(model);
    if (!thinking) return unexpected(std::move(thinking).error());
    thinking_ = *thinking;
    array messages;
    if (request_["messages"].get_array().get(messages))
      return invalid("'messages' must be an array", "messages", "invalid_type");
    out_ += '{';
    if (auto done = write_messages(messages); !done) return done;
    if (auto done = write_system(messages); !done) return done;
    if (auto done = write_inference_config(); !done) return done;
    if (auto done = write_tools(); !done) return done;
    write_reasoning();
    if (auto done = write_request_metadata(); !done) return done;
    if (auto done = write_service_tier(); !done) return done;
    for (const auto& [key, value] : defaults) {
      if (key == "messages" || written_.contains(key)) continue;
      out_ += ',';
      append_json_string(out_, key);
      out_ += ':';
      out_ += value;
    }
    out_ += '}';
    return {};
  }

 private:
  Expected<void, Error> refuse_unsupported() {
    int64_t n;
    if (!request_["n"].get_int64().get(n) && n != 1) return invalid("'n' must be 1: Bedrock answers with one choice", "n");
    bool flag;
    if (!request_["logprobs"].get_bool().get(flag) && flag)
      return invalid("'logprobs' is not supported for Bedrock models", "logprobs");
    if (auto refused = encode::refuse_serial_tool_calls(request_, "Bedrock"); !refused) return refused;
    // metadata is Converse's requestMetadata (write_request_metadata), not a setting of OpenAI's service.
    for (std::string_view name : encode::kOpenAIServiceSettings) {
      if (name == "metadata") continue;
      if (auto refused = encode::refuse_unexpressed(request_, {name}, "Bedrock", dropped_); !refused) return refused;
    }
    if (auto refused = encode::refuse_unexpressed(request_, {"seed", "presence_penalty", "frequency_penalty"}, "Bedrock",
                                                  dropped_);
        !refused)
      return refused;
    object format;
    std::string_view type;
    if (!request_["response_format"].get_object().get(format) && !format["type"].get_string().get(type) &&
        type != "text")
      return invalid("response_format '" + std::string(type) +
                         "' is not supported for Bedrock models (describe the JSON in the prompt, or use a tool)",
                     "response_format");
    return {};
  }

  // requestMetadata, the string pairs Bedrock's invocation logs keep: "user" from user (or
  // safety_identifier), then the members of OpenAI's metadata, whose values are strings too.
  Expected<void, Error> write_request_metadata() {
    auto user = encode::read_end_user(request_, "Bedrock", dropped_);
    if (!user) return unexpected(std::move(user).error());
    object metadata;
    bool has_metadata = !dropped_.contains("metadata") && !request_["metadata"].get_object().get(metadata) &&
                        metadata.size() > 0;
    if (user->empty() && !has_metadata) return {};
    out_ += ",\"requestMetadata\":{";
    bool first = true;
    if (!user->empty()) {
      out_ += "\"user\":";
      append_json_string(out_, *user);
      first = false;
    }
    if (has_metadata) {
      for (auto member : metadata) {
        std::string_view value;
        if (member.value.get_string().get(value))
          return invalid("'metadata." + std::string(member.key) + "' must be a string (Bedrock's requestMetadata holds strings)",
                         "metadata." + std::string(member.key), "invalid_type");
        if (member.key == "user" && !user->empty())
          return invalid("'metadata.user' and 'user' both set Bedrock's requestMetadata.user", "metadata.user",
                         "invalid_value");
        out_ += first ? "" : ",";
        first = false;
        append_json_string(out_, member.key);
        out_ += ':';
        append_json_string(out_, value);
      }
    }
    out_ += '}';
    written("requestMetadata");
    return {};
  }

  // OpenAI's service_tier → Converse's serviceTier: default, flex and priority are Bedrock's
  // tiers of those names; auto leaves the choice to Bedrock (nothing is sent); scale has none.
  Expected<void, Error> write_service_tier() {
    element value;
    if (dropped_.contains("service_tier") || request_["service_tier"].get(value) || value.is_null()) return {};
    std::string_view tier;
    if (value.get_string().get(tier) || (tier != "auto" && tier != "default" && tier != "flex" && tier != "priority"))
      return invalid("'service_tier' must be auto, default, flex or priority for Bedrock models (its serviceTier)",
                     "service_tier", "invalid_value");
    if (tier == "auto") return {};
    out_ += ",\"serviceTier\":{\"type\":\"";
    out_ += tier;
    out_ += "\"}";
    written("serviceTier");
    return {};
  }

  // Opens a Converse message for `role` unless the last one has it; a block follows.
  void open_turn(std::string_view role) {
    if (role == turn_role_) {
      out_ += ',';
      return;
    }
    if (!turn_role_.empty()) out_ += "]},";
    out_ += "{\"role\":\"";
    out_ += role;
    out_ += "\",\"content\":[";
    turn_role_ = role;
  }

  Expected<void, Error> write_messages(array messages) {
    out_ += "\"messages\":[";
    size_t i = 0;
    for (element message : messages) {
      FieldPath path = kMessages[i++];
      std::string_view role;
      if (message["role"].get_string().get(role)) return invalid_at(path / ".role", " is required", "missing_required_parameter");
      if (role == "system" || role == "developer") continue;  // into `system`
      element content;
      bool has_content = !message["content"].get(content) && !content.is_null();
      if (role == "user") {
        if (!has_content) return invalid_at(path / ".content", " is required", "missing_required_parameter");
        if (auto done = write_user_content(content, path / ".content"); !done) return done;
      } else if (role == "assistant") {
        if (auto done = write_assistant(message, content, has_content, path); !done) return done;
      } else if (role == "tool") {
        if (auto done = write_tool_result(message, content, has_content, path); !done) return done;
      } else {
        return invalid_at(path / ".role", " '" + std::string(role) + "' is not supported (use system, user, assistant or tool)",
                          "invalid_value");
      }
    }
    if (turn_role_.empty()) return invalid("'messages' must hold a user message", "messages", "invalid_value");
    out_ += "]}]";
    return {};
  }

  void text_block(std::string_view text) {
    out_ += "{\"text\":";
    append_json_string(out_, text);
    out_ += '}';
  }

  Expected<void, Error> write_user_content(element content, const FieldPath& path) {
    std::string_view text;
    if (!content.get_string().get(text)) {
      open_turn("user");
      text_block(text);
      return {};
    }
    array parts;
    if (content.get_array().get(parts)) return invalid_at(path, " must be a string or an array of parts", "invalid_type");
    size_t j = 0;
    for (element part : parts) {
      FieldPath part_path = path[j++];
      std::string_view type;
      json::read_optional(part["type"].get_string(), type);
      if (type == "text" && !part["text"].get_string().get(text)) {
        open_turn("user");
        text_block(text);
      } else if (type == "image_url") {
        auto url = encode::image_url_of(part, part_path);
        if (!url) return unexpected(std::move(url).error());
        std::string_view media_type, data;
        if (!encode::split_base64_data_url(*url, media_type, data))
          return invalid_at(part_path / ".image_url.url", " must be a base64 data: URL for Bedrock models (they fetch no URLs)",
                            "invalid_value");
        std::string_view format = media_type.starts_with("image/") ? media_type.substr(6) : std::string_view();
        if (format == "jpg") format = "jpeg";
        if (format != "png" && format != "jpeg" && format != "gif" && format != "webp")
          return invalid_at(part_path / ".image_url.url", " has media type '" + std::string(media_type) +
                                                               "'; Bedrock takes image/png, jpeg, gif and webp",
                            "invalid_value");
        open_turn("user");
        out_ += "{\"image\":{\"format\":\"";
        out_ += format;
        out_ += "\",\"source\":{\"bytes\":\"";
        out_ += data;  // base64: nothing in it needs escaping
        out_ += "\"}}}";
      } else {
        return invalid_at(part_path / ".type", " '" + std::string(type) + "' is not supported by Bedrock models here (text and image_url are)");
      }
    }
    if (j == 0) return invalid_at(path, " must not be empty", "invalid_value");
    return {};
  }

  // The thinking_blocks given back become reasoningContent blocks (first), then text and toolUse.
  Expected<void, Error> write_assistant(element message, element content, bool has_content, const FieldPath& path) {
    bool wrote = false;
    auto thinking = encode::for_each_thinking_block(message, path, [&](const encode::ThinkingBlock& b) {
      open_turn("assistant");
      if (b.redacted) {
        out_ += "{\"reasoningContent\":{\"redactedContent\":";
        append_json_string(out_, b.data);
        out_ += "}}";
      } else {
        out_ += "{\"reasoningContent\":{\"reasoningText\":{\"text\":";
        append_json_string(out_, b.thinking);
        out_ += ",\"signature\":";
        append_json_string(out_, b.signature);
        out_ += "}}}";
      }
      wrote = true;
    });
    if (!thinking) return thinking;
    if (has_content) {
      auto texts = encode::for_each_text_part(content, path / ".content", [&](std::string_view text, bool) {
        if (text.empty()) return;  // Converse refuses blank text blocks
        open_turn("assistant");
        text_block(text);
        wrote = true;
      });
      if (!texts) return texts;
    }
    array calls;
    if (!message["tool_calls"].get_array().get(calls)) {
      size_t k = 0;
      FieldPath calls_path = path / ".tool_calls";
      for (element call : calls) {
        auto fields = encode::read_tool_call(call, calls_path[k]);
        if (!fields) return unexpected(std::move(fields).error());
        open_turn("assistant");
        out_ += "{\"toolUse\":{\"toolUseId\":";
        append_json_string(out_, fields->id);
        out_ += ",\"name\":";
        append_json_string(out_, fields->name);
        out_ += ",\"input\":";
        if (auto done = encode::append_arguments_object(out_, fields->arguments, calls_path[k] / ".function.arguments");
            !done)
          return done;
        out_ += "}}";
        wrote = true;
        ++k;
      }
    }
    if (!wrote) return invalid_at(path / ".content", " is required (an assistant message needs text or tool calls)",
                                  "missing_required_parameter");
    return {};
  }

  Expected<void, Error> write_tool_result(element message, element content, bool has_content, const FieldPath& path) {
    std::string_view id;
    if (message["tool_call_id"].get_string().get(id))
      return invalid_at(path / ".tool_call_id", " is required", "missing_required_parameter");
    if (!has_content) return invalid_at(path / ".content", " is required", "missing_required_parameter");
    open_turn("user");
    out_ += "{\"toolResult\":{\"toolUseId\":";
    append_json_string(out_, id);
    out_ += ",\"content\":[";
    bool first = true;
    auto texts = encode::for_each_text_part(content, path / ".content", [&](std::string_view text, bool) {
      if (!first) out_ += ',';
      first = false;
      text_block(text);
    });
    if (!texts) return texts;
    out_ += "]}}";
    return {};
  }

  Expected<void, Error> write_system(array messages) {
    size_t i = 0;
    bool any = false;
    for (element message : messages) {
      FieldPath path = kMessages[i++];
      std::string_view role;
      if (message["role"].get_string().get(role) || (role != "system" && role != "developer")) continue;
      element content;
      if (message["content"].get(content)) return invalid_at(path / ".content", " is required", "missing_required_parameter");
      auto texts = encode::for_each_text_part(content, path / ".content", [&](std::string_view text, bool) {
        out_ += any ? "," : ",\"system\":[";
        any = true;
        text_block(text);
      });
      if (!texts) return texts;
    }
    if (any) {
      out_ += ']';
      written("system");
    }
    return {};
  }

  Expected<void, Error> write_inference_config() {
    size_t start = out_.size();
    out_ += ",\"inferenceConfig\":{";
    size_t open = out_.size();
    auto member = [&](std::string_view name) {
      if (out_.size() > open) out_ += ',';
      out_ += '"';
      out_ += name;
      out_ += "\":";
    };
    if (thinking_) {
      member("maxTokens");  // above the thinking budget, which it includes
      out_ += std::to_string(thinking_->max_tokens);
    } else if (auto max_tokens = encode::read_max_tokens(request_)) {
      member("maxTokens");
      out_ += std::to_string(*max_tokens);
    }
    for (auto [openai, bedrock] : {std::pair{"temperature", "temperature"}, std::pair{"top_p", "topP"}}) {
      element value;
      if (request_[openai].get(value) || value.is_null()) continue;
      if (!value.is_number()) return invalid("'" + std::string(openai) + "' must be a number", openai, "invalid_type");
      member(bedrock);
      append_value(out_, value);
    }
    auto stop = encode::write_stop_array(request_, out_, [&] { member("stopSequences"); });
    if (!stop) return stop;
    if (out_.size() == open) {
      out_.resize(start);
      return {};
    }
    out_ += '}';
    written("inferenceConfig");
    return {};
  }

  Expected<void, Error> write_tools() {
    auto choice = encode::read_tool_choice(request_);
    if (!choice) return unexpected(std::move(choice).error());
    array tools;
    // tool_choice "none": Converse has no such mode; the tools are left out, so none can be called.
    if (request_["tools"].get_array().get(tools) || tools.size() == 0 || choice->mode == "none") return {};
    out_ += ",\"toolConfig\":{\"tools\":[";
    auto listed = encode::for_each_function_tool(tools, [this](const encode::FunctionTool& function, bool first) {
      out_ += first ? "{\"toolSpec\":{" : ",{\"toolSpec\":{";
      encode::append_name_and_description(out_, function);
      out_ += ",\"inputSchema\":{\"json\":";
      if (function.has_parameters) append_value(out_, function.parameters);
      else out_ += "{\"type\":\"object\",\"properties\":{}}";
      out_ += "}}}";
    });
    if (!listed) return listed;
    out_ += ']';
    if (choice->mode == "required") {
      out_ += ",\"toolChoice\":{\"any\":{}}";
    } else if (choice->mode == "function") {
      out_ += ",\"toolChoice\":{\"tool\":{\"name\":";
      append_json_string(out_, choice->name);
      out_ += "}}";
    } else {
      out_ += ",\"toolChoice\":{\"auto\":{}}";
    }
    out_ += '}';
    written("toolConfig");
    return {};
  }

  // reasoning_effort → Anthropic's thinking block (checked against Claude's rules for it); other
  // model families on Bedrock take reasoning settings of their own, which the request cannot name.
  // "none" asks for nothing: no thinking block is sent.
  Expected<std::optional<encode::ClaudeThinking>, Error> plan_reasoning(std::string_view model) {
    auto effort = encode::read_reasoning_effort(request_);
    if (!effort) return unexpected(std::move(effort).error());
    if (!*effort || **effort == encode::ReasoningEffort::none) return std::optional<encode::ClaudeThinking>();
    if (model.find("anthropic.") == std::string_view::npos)
      return invalid("'reasoning_effort' is supported for Anthropic models on Bedrock only (set the model's own "
                     "reasoning fields in default_params.additionalModelRequestFields)",
                     "reasoning_effort");
    auto plan = encode::plan_claude_thinking(request_, **effort, kClaudeDefaultMaxTokens);
    if (!plan) return unexpected(std::move(plan).error());
    return std::optional<encode::ClaudeThinking>(*plan);
  }

  void write_reasoning() {
    if (!thinking_) return;
    out_ += ",\"additionalModelRequestFields\":{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":";
    out_ += std::to_string(thinking_->budget_tokens);
    out_ += "}}";
    written("additionalModelRequestFields");
  }

  void written(std::string_view key) { written_.add(key); }

  object request_;
  std::string& out_;
  encode::DroppedParams dropped_;
  std::string_view turn_role_;
  encode::WrittenKeys written_;
  std::optional<encode::ClaudeThinking> thinking_;  // set when reasoning_effort turns Claude's thinking on
};

// scheme://authority of a URL, and the path after it.
std::string_view authority_of(std::string_view url, std::string_view& path) {
  size_t sep = url.find("://");
  std::string_view rest = sep == std::string_view::npos ? url : url.substr(sep + 3);
  size_t slash = rest.find('/');
  path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  std::string_view authority = rest.substr(0, slash);
  bool https = url.starts_with("https://");
  if ((https && authority.ends_with(":443")) || (!https && authority.ends_with(":80")))
    authority.remove_suffix(https ? 4 : 3);
  return authority;
}

}  // namespace

std::string bedrock_model_segment(std::string_view model) {
  std::string out;
  bedrock::append_uri_encoded(out, model, false);
  return out;
}

Expected<void, Error> translate_bedrock_request(std::string_view openai_body, std::string_view model,
                                                const json::JsonMembers& default_params, std::string& out,
                                                std::span<const std::string> dropped) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  object request;
  if (parser.parse(json::padded_copy(openai_body, buffer)).get_object().get(request))
    return invalid("the request body must be a JSON object", {}, "invalid_json");
  return ConverseTranslator(request, out, encode::DroppedParams(dropped)).run(model, default_params);
}

std::string_view bedrock_error_type(std::string_view exception, int status) {
  struct Known {
    std::string_view tail;  // the name without its first letter, whose case varies
    std::string_view type;
  };
  static constexpr Known kKnown[] = {
      {"hrottlingException", "rate_limit_error"},        {"ervicequotaexceededexception", "rate_limit_error"},
      {"alidationException", "invalid_request_error"},   {"ccessDeniedException", "permission_error"},
      {"esourceNotFoundException", "not_found_error"},   {"nrecognizedClientException", "authentication_error"},
      {"odelNotReadyException", "upstream_error"},       {"odelTimeoutException", "upstream_timeout"},
      {"odelErrorException", "upstream_error"},          {"odelStreamErrorException", "upstream_error"},
      {"nternalServerException", "upstream_error"},      {"erviceUnavailableException", "upstream_error"},
  };
  if (exception.size() > 1) {
    std::string_view tail = exception.substr(1);
    for (const auto& k : kKnown)
      if (iequals(tail, k.tail)) return k.type;
  }
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 || status == 0 ? "upstream_error" : "invalid_request_error";
  }
}

BedrockProvider::BedrockProvider(ProviderConfig config, UpstreamLimits limits) : Provider(std::move(config), limits) {
  root_ = api_root(config_.base_url, {"/v1"});
  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
  const std::string region = config_.aws.region.empty() ? std::string("us-east-1") : config_.aws.region;
  // The control plane lists models; a base_url of its own (a proxy, the fake provider) serves both.
  bool regional = root_ == "https://bedrock-runtime." + region + ".amazonaws.com";
  listing_url_ = regional ? "https://bedrock." + region + ".amazonaws.com/foundation-models" : root_ + "/foundation-models";
  if (!config_.api_key.empty()) return;  // a Bedrock API key: a bearer token, nothing to sign
  if (auto credentials = find_aws_credentials(config_.aws, credential_source_)) {
    // Credentials from the environment or a file are secrets of this provider like the config's.
    scrubber_.add(credentials->secret_access_key.reveal());
    scrubber_.add(credentials->session_token.reveal());
    // Runtime and control plane both sign as service "bedrock".
    signer_ = std::make_unique<bedrock::SigV4Signer>(std::move(*credentials), region, "bedrock");
  }
}

std::string BedrockProvider::model_url(std::string_view model, bool stream) const {
  std::string url = root_;
  url += "/model/";
  bedrock::append_uri_encoded(url, model, false);
  url += stream ? "/converse-stream" : "/converse";
  return url;
}

std::string BedrockProvider::endpoint_url(Endpoint endpoint) const {
  if (endpoint == Endpoint::models) return listing_url_;
  return root_ + "/model/{modelId}/converse";
}

void BedrockProvider::sign(const bedrock::SigV4Signer& signer, http::UpstreamRequest& out) const {
  std::string_view path;
  std::string_view url = out.url;
  std::string_view host = authority_of(url, path);
  std::string_view query;
  if (size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  thread_local bedrock::SignedHeaders headers;
  signer.sign({out.method, host, path, query, out.body, nullptr, std::time(nullptr)}, headers);
  out.headers.push_back(headers.amz_date);
  if (!headers.security_token.empty()) out.headers.push_back(headers.security_token);
  out.headers.push_back(headers.authorization);
}

Expected<void, Error> BedrockProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint != Endpoint::chat_completions) return unexpected(unsupported_endpoint(*this, in.endpoint));
  if (!signer_ && config_.api_key.empty()) {
    Error e = Error::make(ErrorKind::upstream_error,
                          "provider '" + id() + "' has no AWS credentials: set accessKeyId and secretAccessKey, "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a ~/.aws/credentials profile",
                          {}, "missing_credentials");
    e.http_status = 502;
    e.provider = id();
    return unexpected(std::move(e));
  }
  begin_post(in, model_url(in.upstream_model, in.stream), fixed_headers_, out);
  // Bedrock streams in its binary framing, not SSE.
  out.headers.clear();
  out.headers.push_back(in.stream ? "Accept: application/vnd.amazon.eventstream" : "Accept: application/json");
  if (!in.request_id.empty()) {
    std::string& line = out.headers.add();
    line.assign("x-request-id: ");
    line.append(in.request_id);
  }
  if (auto done = translate_bedrock_request(in.body, in.upstream_model, default_params_, out.body, config_.drop_params); !done) return done;
  if (signer_) sign(*signer_, out);
  return {};
}

http::UpstreamRequest BedrockProvider::list_models_request() const { return probe_request({}); }

// The URL is final before it is signed: a path set after signing would be refused (the signature
// covers the path and query).
http::UpstreamRequest BedrockProvider::probe_request(std::string_view path) const {
  http::UpstreamRequest request =
      begin_get(path.empty() ? listing_url_ : config_.base_url + std::string(path), fixed_headers_);
  if (signer_) sign(*signer_, request);
  return request;
}

Error BedrockProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  return decode_error_with_type(status, body, retry_after, {});
}

// {"message":"…"}: Bedrock's error body. The exception is named by the x-amzn-ErrorType header
// ("ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/": the name is the
// text before ':'), else by the body's "__type" (some AWS front ends: "…#ThrottlingException"),
// else only the status tells.
Error BedrockProvider::decode_error_with_type(int status, std::string_view body, std::string_view retry_after,
                                              std::string_view error_type) const {
  Error e = decode_json_error(*this, status, body, retry_after);
  std::string_view type = trim_whitespace(error_type.substr(0, error_type.find(':')));
  if (type.empty()) {
    thread_local simdjson::dom::parser parser;
    thread_local std::string buffer;
    simdjson::dom::object o;
    if (!parser.parse(json::padded_copy(body, buffer)).get_object().get(o)) json::read_optional(o["__type"].get_string(), type);
  }
  if (size_t hash = type.rfind('#'); hash != std::string_view::npos) type.remove_prefix(hash + 1);
  if (!type.empty()) e.code = std::string(type);
  e.type = std::string(bedrock_error_type(type, status));
  return scrubbed(std::move(e));
}

std::unique_ptr<ResponseDecoder> BedrockProvider::make_response_decoder() const { return make_bedrock_decoder(); }

}  // namespace llmux::providers
