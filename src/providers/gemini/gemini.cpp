#include "providers/gemini/gemini.hpp"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>
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
using encode::is_plain_path_segment;
using encode::invalid_at;
using encode::kMessages;
using encode::kTools;

// Writes the request in Gemini's shape while reading OpenAI's. One instance per call.
class GeminiRequestTranslator {
 public:
  GeminiRequestTranslator(object request, std::string_view model, std::string& out, encode::DroppedParams dropped)
      : request_(request), model_(model), out_(out), dropped_(dropped) {}

  Expected<void, Error> run(const json::JsonMembers& defaults) {
    if (auto checked = reject_inexpressible(); !checked) return checked;
    array messages;
    if (request_["messages"].get_array().get(messages))
      return invalid("'messages' must be an array", "messages", "invalid_type");
    out_ += '{';
    if (auto done = write_contents(messages); !done) return done;
    if (auto done = write_system(messages); !done) return done;
    if (auto done = write_generation_config(); !done) return done;
    if (auto done = write_tools(); !done) return done;
    // Default params are written in Gemini's terms (safetySettings, cachedContent, …).
    for (const auto& [key, value] : defaults) {
      if (is_written(key)) continue;
      out_ += ',';
      append_json_string(out_, key);
      out_ += ':';
      out_ += value;
    }
    out_ += '}';
    return {};
  }

 private:
  Expected<void, Error> reject_inexpressible() {
    int64_t n;
    if (!request_["n"].get_int64().get(n) && n != 1)
      return invalid("'n' must be 1: llmux reads one Gemini candidate per request", "n");
    bool flag;
    if (!request_["logprobs"].get_bool().get(flag) && flag)
      return invalid("'logprobs' is not supported for Gemini models", "logprobs");
    if (auto refused = encode::refuse_serial_tool_calls(request_, "Gemini"); !refused) return refused;
    return encode::refuse_settings(request_, {"user", "safety_identifier", "service_tier"}, "Gemini", dropped_);
  }

  // System and developer messages, wherever they stand, become systemInstruction.
  Expected<void, Error> write_system(array messages) {
    bool any = false;
    size_t i = 0;
    for (element message : messages) {
      std::string_view role;
      FieldPath path = kMessages[i++];
      if (message["role"].get_string().get(role) || (role != "system" && role != "developer")) continue;
      element content;
      if (message["content"].get(content))
        return invalid_at(path / ".content", " is required", "missing_required_parameter");
      size_t mark = out_.size();
      out_ += any ? "," : ",\"systemInstruction\":{\"parts\":[";
      size_t parts_start = out_.size();
      if (auto done = write_text_parts(content, path / ".content"); !done) return done;
      if (out_.size() == parts_start) out_.resize(mark);  // an empty parts array
      else any = true;
    }
    if (any) {
      out_ += "]}";
      written("systemInstruction");
    }
    return {};
  }

  // Text content (a string, or an array of text parts) as comma-separated text parts.
  Expected<void, Error> write_text_parts(element content, const FieldPath& path) {
    return encode::for_each_text_part(content, path, [this](std::string_view text, bool first) {
      if (!first) out_ += ',';
      text_part(text);
    });
  }

  void text_part(std::string_view text) {
    out_ += "{\"text\":";
    append_json_string(out_, text);
    out_ += '}';
  }

  Expected<void, Error> write_contents(array messages) {
    out_ += "\"contents\":[";
    written("contents");
    bool first = true;
    bool results_open = false;  // consecutive tool messages share one user turn
    size_t i = 0;
    for (element message : messages) {
      FieldPath path = kMessages[i++];
      std::string_view role;
      if (message["role"].get_string().get(role)) return invalid_at(path / ".role", " is required", "missing_required_parameter");
      if (role == "system" || role == "developer") continue;
      if (role == "tool") {
        out_ += results_open ? "," : first ? "{\"role\":\"user\",\"parts\":[" : ",{\"role\":\"user\",\"parts\":[";
        results_open = true;
        first = false;
        if (auto done = write_function_response(message, path); !done) return done;
        continue;
      }
      if (results_open) {
        out_ += "]}";
        results_open = false;
      }
      size_t mark = out_.size();
      out_ += first ? "" : ",";
      if (role == "user") {
        out_ += "{\"role\":\"user\",\"parts\":[";
        if (auto done = write_user_parts(message["content"], path / ".content"); !done) return done;
      } else if (role == "assistant") {
        out_ += "{\"role\":\"model\",\"parts\":[";
        auto parts = write_model_parts(message, path);
        if (!parts) return unexpected(std::move(parts).error());
        if (*parts == 0) {
          out_.resize(mark);  // Gemini rejects a turn without parts
          continue;
        }
      } else {
        return invalid_at(path / ".role", " '" + std::string(role) + "' is not supported (use system, user, assistant or tool)",
                          "invalid_value");
      }
      out_ += "]}";
      first = false;
    }
    if (results_open) out_ += "]}";
    out_ += ']';
    if (first) return invalid("'messages' must contain a user or assistant message", "messages", "invalid_value");
    return {};
  }

  Expected<void, Error> write_user_parts(simdjson::simdjson_result<element> content, const FieldPath& path) {
    std::string_view text;
    if (!content.get_string().get(text)) {
      text_part(text);
      return {};
    }
    array parts;
    if (content.get_array().get(parts)) return invalid_at(path, " must be a string or an array of parts", "invalid_type");
    size_t j = 0;
    for (element part : parts) {
      FieldPath part_path = path[j];
      if (j++) out_ += ',';
      std::string_view type;
      json::read_optional(part["type"].get_string(), type);
      if (type == "text") {
        if (part["text"].get_string().get(text)) return invalid_at(part_path / ".text", " must be a string", "invalid_type");
        text_part(text);
      } else if (type == "image_url") {
        auto url = encode::image_url_of(part, part_path);
        if (!url) return unexpected(std::move(url).error());
        write_image(*url);
      } else {
        return invalid_at(part_path / ".type", " '" + std::string(type) + "' is not supported by Gemini models (text and image_url are)");
      }
    }
    return {};
  }

  // data:image/png;base64,… becomes inlineData; any other URL (a Files API or gs:// URI) fileData.
  void write_image(std::string_view url) {
    std::string_view media_type, data;
    if (encode::split_base64_data_url(url, media_type, data)) {
      out_ += "{\"inlineData\":{\"mimeType\":";
      append_json_string(out_, media_type);
      out_ += ",\"data\":";
      append_json_string(out_, data);
    } else {
      out_ += "{\"fileData\":{\"fileUri\":";
      append_json_string(out_, url);
    }
    out_ += "}}";
  }

  // Text, then one functionCall part per tool call. Returns how many parts were written.
  Expected<int, Error> write_model_parts(element message, const FieldPath& path) {
    int parts = 0;
    element content;
    std::string_view text;
    if (!message["content"].get(content) && !content.is_null()) {
      if (!content.get_string().get(text)) {
        if (!text.empty()) {
          text_part(text);
          ++parts;
        }
      } else {
        size_t mark = out_.size();
        if (auto done = write_text_parts(content, path / ".content"); !done) return unexpected(std::move(done).error());
        if (out_.size() > mark) ++parts;
      }
    }
    array calls;
    if (message["tool_calls"].get_array().get(calls)) return parts;
    size_t k = 0;
    for (element call : calls) {
      FieldPath calls_path = path / ".tool_calls";
      FieldPath call_path = calls_path[k++];
      auto fields = encode::read_tool_call(call, call_path);
      if (!fields) return unexpected(std::move(fields).error());
      auto [id, name, arguments] = *fields;
      if (parts++) out_ += ',';
      out_ += "{\"functionCall\":{\"name\":";
      append_json_string(out_, name);
      out_ += ",\"args\":";
      if (auto done = encode::append_arguments_object(out_, arguments, call_path / ".function.arguments"); !done)
        return unexpected(std::move(done).error());
      std::string_view signature;
      bool generated = parse_generated_id(id, signature);
      if (!generated) {
        out_ += ",\"id\":";
        append_json_string(out_, id);
      }
      out_ += '}';
      if (!signature.empty()) {
        out_ += ",\"thoughtSignature\":";
        append_json_string(out_, signature);
      }
      out_ += '}';
      calls_.push_back({id, name});
    }
    return parts;
  }

  // "gemini_{n}" or "gemini_{n}_{signature}": an id this adapter made (gemini.hpp).
  static bool parse_generated_id(std::string_view id, std::string_view& signature) {
    if (!id.starts_with(GeminiProvider::kGeneratedIdPrefix)) return false;
    std::string_view rest = id.substr(GeminiProvider::kGeneratedIdPrefix.size());
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0) return false;
    if (digits == rest.size()) return true;
    if (rest[digits] != '_') return false;
    signature = rest.substr(digits + 1);
    return true;
  }

  Expected<void, Error> write_function_response(element message, const FieldPath& path) {
    std::string_view id;
    if (message["tool_call_id"].get_string().get(id))
      return invalid_at(path / ".tool_call_id", " is required", "missing_required_parameter");
    std::string_view name;
    for (const auto& call : calls_)
      if (call.id == id) name = call.name;
    if (name.empty())
      return invalid_at(path / ".tool_call_id", " '" + std::string(id) + "' names no tool call of an earlier assistant message "
                        "(Gemini needs the function's name)", "invalid_value");
    out_ += "{\"functionResponse\":{\"name\":";
    append_json_string(out_, name);
    std::string_view signature;
    if (!parse_generated_id(id, signature)) {
      out_ += ",\"id\":";
      append_json_string(out_, id);
    }
    out_ += ",\"response\":";
    element content;
    if (message["content"].get(content)) return invalid_at(path / ".content", " is required", "missing_required_parameter");
    std::string_view text;
    if (!content.get_string().get(text)) {
      // A result that is a JSON object is the response itself; other text is its "result".
      thread_local simdjson::dom::parser parser;
      thread_local std::string buffer;
      object parsed;
      if (!parser.parse(json::padded_copy(text, buffer)).get_object().get(parsed)) {
        out_ += simdjson::to_string(parsed);
      } else {
        out_ += "{\"result\":";
        append_json_string(out_, text);
        out_ += '}';
      }
    } else {
      std::string joined;
      auto joined_parts = encode::for_each_text_part(content, path / ".content",
                                                     [&joined](std::string_view piece, bool) { joined += piece; });
      if (!joined_parts) return joined_parts;
      out_ += "{\"result\":";
      append_json_string(out_, joined);
      out_ += '}';
    }
    out_ += "}}";
    return {};
  }

  Expected<void, Error> write_generation_config() {
    size_t mark = out_.size();
    out_ += ",\"generationConfig\":{";
    size_t members_start = out_.size();
    auto member = [&](std::string_view name) {
      if (out_.size() > members_start) out_ += ',';
      out_ += '"';
      out_ += name;
      out_ += "\":";
    };
    static constexpr std::pair<const char*, std::string_view> kCopied[] = {
        {"temperature", "temperature"}, {"top_p", "topP"}, {"top_k", "topK"}, {"seed", "seed"},
        {"presence_penalty", "presencePenalty"}, {"frequency_penalty", "frequencyPenalty"}};
    for (const auto& [openai, gemini] : kCopied) {
      element value;
      if (request_[openai].get(value) || value.is_null()) continue;
      if (!value.is_number()) return invalid("'" + std::string(openai) + "' must be a number", openai, "invalid_type");
      member(gemini);
      append_value(out_, value);
    }
    if (auto max_tokens = encode::read_max_tokens(request_)) {
      member("maxOutputTokens");
      out_ += std::to_string(*max_tokens);
    }
    if (auto done = encode::write_stop_array(request_, out_, [&] { member("stopSequences"); }); !done) return done;
    if (auto done = write_response_format(member); !done) return done;
    if (auto done = write_thinking_config(member); !done) return done;
    if (out_.size() == members_start) {
      out_.resize(mark);
      return {};
    }
    out_ += '}';
    written("generationConfig");
    return {};
  }

  template <typename Member>
  Expected<void, Error> write_response_format(Member& member) {
    object format;
    if (request_["response_format"].get_object().get(format)) return {};
    std::string_view type;
    if (format["type"].get_string().get(type) || type == "text") return {};
    if (type != "json_object" && type != "json_schema")
      return invalid("response_format '" + std::string(type) + "' is not supported (text, json_object, json_schema are)",
                     "response_format", "invalid_value");
    member("responseMimeType");
    out_ += "\"application/json\"";
    if (type == "json_schema") {
      element schema;
      if (format["json_schema"]["schema"].get(schema) || !schema.is_object())
        return invalid("'response_format.json_schema.schema' must be an object", "response_format.json_schema.schema",
                       "invalid_type");
      member("responseJsonSchema");
      append_value(out_, schema);
    }
    return {};
  }

  // reasoning_effort → thinkingConfig, with includeThoughts so thought parts come back as
  // reasoning_content. Gemini 3 models take a thinkingLevel (OpenAI's levels but "none": they
  // cannot stop thinking); earlier ones a thinkingBudget (encode::thinking_budget; 0 for "none",
  // which turns thinking off where the model allows it, and asks for no thoughts back).
  template <typename Member>
  Expected<void, Error> write_thinking_config(Member& member) {
    auto effort = encode::read_reasoning_effort(request_);
    if (!effort) return unexpected(std::move(effort).error());
    if (!*effort) return {};
    const bool levels = model_.starts_with("gemini-3");
    if (levels && **effort == encode::ReasoningEffort::none)
      return invalid("'reasoning_effort' none is not supported for Gemini 3 models: they always think (minimal is the least)",
                     "reasoning_effort", "invalid_value");
    member("thinkingConfig");
    if (levels) {
      out_ += "{\"thinkingLevel\":\"";
      out_ += encode::reasoning_effort_name(**effort);
      out_ += "\",\"includeThoughts\":true}";
    } else if (**effort == encode::ReasoningEffort::none) {
      out_ += "{\"thinkingBudget\":0}";
    } else {
      out_ += "{\"thinkingBudget\":";
      out_ += std::to_string(encode::thinking_budget(**effort));
      out_ += ",\"includeThoughts\":true}";
    }
    return {};
  }

  Expected<void, Error> write_tools() {
    array tools;
    if (request_["tools"].get_array().get(tools) || tools.size() == 0) return {};
    out_ += ",\"tools\":[{\"functionDeclarations\":[";
    auto listed = encode::for_each_function_tool(tools, [this](const encode::FunctionTool& function, bool first) {
      out_ += first ? "{" : ",{";
      encode::append_name_and_description(out_, function);
      // parametersJsonSchema takes JSON Schema as OpenAI clients write it ("parameters" takes
      // only Google's OpenAPI subset, which refuses additionalProperties and the like).
      if (function.has_parameters) {
        out_ += ",\"parametersJsonSchema\":";
        append_value(out_, function.parameters);
      }
      out_ += '}';
    });
    if (!listed) return listed;
    out_ += "]}]";
    written("tools");
    return write_tool_config();
  }

  Expected<void, Error> write_tool_config() {
    element given;
    if (request_["tool_choice"].get(given) || given.is_null()) return {};
    auto choice = encode::read_tool_choice(request_);
    if (!choice) return unexpected(std::move(choice).error());
    std::string_view mode = choice->mode, name = choice->name;
    std::string_view gemini_mode = mode == "none" ? "NONE" : mode == "auto" ? "AUTO" : "ANY";
    out_ += ",\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"";
    out_ += gemini_mode;
    out_ += '"';
    if (!name.empty()) {
      out_ += ",\"allowedFunctionNames\":[";
      append_json_string(out_, name);
      out_ += ']';
    }
    out_ += "}}";
    written("toolConfig");
    return {};
  }

  void written(std::string_view key) { written_[written_count_++] = key; }
  bool is_written(std::string_view key) const {
    for (size_t i = 0; i < written_count_; ++i)
      if (written_[i] == key) return true;
    return false;
  }

  struct Call {
    std::string_view id, name;
  };

  object request_;
  std::string_view model_;  // the model id, without "models/"
  std::string& out_;
  encode::DroppedParams dropped_;
  std::vector<Call> calls_;  // the assistant messages' tool calls so far, for their results' names
  std::string_view written_[8];
  size_t written_count_ = 0;
};

ProviderConfig with_gemini_auth(ProviderConfig config) {
  // The key goes in Google's header unless the configuration names another way.
  if (config.auth == AuthStyle::bearer) {
    config.auth = AuthStyle::header;
    config.auth_header = std::string(GeminiProvider::kKeyHeader);
  }
  return config;
}

// "34.4s" (google.rpc.RetryInfo.retryDelay) as whole seconds for Retry-After, rounded up.
std::string retry_delay_seconds(std::string_view delay) {
  if (!delay.ends_with('s')) return {};
  delay.remove_suffix(1);
  double seconds = 0;
  auto [end, ec] = std::from_chars(delay.data(), delay.data() + delay.size(), seconds);
  if (ec != std::errc() || end != delay.data() + delay.size() || !(seconds >= 0) || seconds > 86400) return {};
  return std::to_string(static_cast<int64_t>(std::ceil(seconds)));
}

}  // namespace

Expected<void, Error> translate_gemini_request(std::string_view openai_body, std::string_view model,
                                               const json::JsonMembers& default_params, std::string& out,
                                               std::span<const std::string> dropped) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  object request;
  if (parser.parse(json::padded_copy(openai_body, buffer)).get_object().get(request))
    return invalid("the request body must be a JSON object", {}, "invalid_json");
  if (model.starts_with("models/")) model.remove_prefix(7);
  return GeminiRequestTranslator(request, model, out, encode::DroppedParams(dropped)).run(default_params);
}

Expected<std::string_view, Error> gemini_model_segment(std::string_view model) {
  if (model.starts_with("models/")) model.remove_prefix(7);
  if (!is_plain_path_segment(model))
    return invalid("model '" + std::string(model) + "' is not a Gemini model id (letters, digits, '-', '.', '_')", "model",
                   "invalid_value");
  return model;
}

std::string_view gemini_error_type(std::string_view status, int http_status) {
  if (status == "INVALID_ARGUMENT" || status == "FAILED_PRECONDITION" || status == "OUT_OF_RANGE")
    return "invalid_request_error";
  if (status == "UNAUTHENTICATED") return "authentication_error";
  if (status == "PERMISSION_DENIED") return "permission_error";
  if (status == "NOT_FOUND") return "not_found_error";
  if (status == "RESOURCE_EXHAUSTED") return "rate_limit_error";
  if (http_status >= 400 && http_status < 500) return "invalid_request_error";
  return "upstream_error";  // INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED and unknown statuses
}

GeminiProvider::GeminiProvider(ProviderConfig config, UpstreamLimits limits)
    : Provider(with_gemini_auth(std::move(config)), limits) {
  models_url_ = config_.base_url + "/models";
  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
}

std::string GeminiProvider::endpoint_url(Endpoint endpoint) const {
  return endpoint == Endpoint::models ? models_url_ : models_url_ + "/{model}:generateContent";
}

Expected<void, Error> GeminiProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint != Endpoint::chat_completions) return unexpected(unsupported_endpoint(*this, in.endpoint));
  auto model = gemini_model_segment(in.upstream_model);
  if (!model) return unexpected(std::move(model).error());
  begin_post(in, models_url_, fixed_headers_, out);
  out.url += '/';
  out.url += *model;
  out.url += in.stream ? ":streamGenerateContent?alt=sse" : ":generateContent";
  return translate_gemini_request(in.body, *model, default_params_, out.body, config_.drop_params);
}

http::UpstreamRequest GeminiProvider::list_models_request() const {
  // One page: the API returns 50 by default, 1000 at most.
  return begin_get(models_url_ + "?pageSize=1000", fixed_headers_);
}

Error GeminiProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  return decode_google_error(*this, status, body, retry_after);
}

Error decode_google_error(const Provider& provider, int status, std::string_view body, std::string_view retry_after) {
  // {"error":{"code":404,"message":…,"status":"NOT_FOUND","details":[…]}}
  Error e = decode_json_error(provider, status, body, retry_after);
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  const boost::json::object* error = nullptr;
  if (!ec && v.is_object())
    if (const auto* x = v.as_object().if_contains("error"); x && x->is_object()) error = &x->as_object();
  if (!error) return e;
  std::string_view google_status;
  if (const auto* s = error->if_contains("status"); s && s->is_string()) google_status = s->as_string();
  e.type = std::string(gemini_error_type(google_status, status));
  e.code = std::string(google_status);
  if (e.retry_after || status != 429) return provider.scrubbed(std::move(e));
  if (const auto* details = error->if_contains("details"); details && details->is_array()) {
    for (const auto& d : details->as_array()) {
      const auto* delay = d.is_object() ? d.as_object().if_contains("retryDelay") : nullptr;
      if (!delay || !delay->is_string()) continue;
      if (std::string seconds = retry_delay_seconds(delay->as_string()); !seconds.empty()) e.retry_after = seconds;
    }
  }
  return provider.scrubbed(std::move(e));
}

std::unique_ptr<ResponseDecoder> GeminiProvider::make_response_decoder() const { return make_gemini_decoder(); }

}  // namespace llmux::providers
