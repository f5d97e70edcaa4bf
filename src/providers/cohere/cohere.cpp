#include "providers/cohere/cohere.hpp"

#include <simdjson.h>

#include "core/json_text.hpp"
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

Expected<object, Error> parse_request(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  object request;
  if (parser.parse(json::padded_copy(body, buffer)).get_object().get(request))
    return invalid("the request body must be a JSON object", {}, "invalid_json");
  return request;
}

// Writes the request in Cohere's shape while reading OpenAI's. Cohere v2 messages are OpenAI's in
// all but a few names, so they are checked and copied member by member (only what Cohere reads).
class CohereChatTranslator {
 public:
  CohereChatTranslator(object request, std::string& out, encode::DroppedParams dropped)
      : request_(request), out_(out), dropped_(dropped) {}

  Expected<void, Error> run(std::string_view model, bool stream, const json::JsonMembers& defaults) {
    int64_t n;
    if (!request_["n"].get_int64().get(n) && n != 1) return invalid("'n' must be 1: Cohere answers with one choice", "n");
    bool flag;
    if (!request_["logprobs"].get_bool().get(flag) && flag)
      return invalid("'logprobs' is not supported for Cohere models through llmux", "logprobs");
    if (auto refused = encode::refuse_serial_tool_calls(request_, "Cohere"); !refused) return refused;
    if (auto refused = encode::refuse_settings(request_, {"user", "safety_identifier", "service_tier"}, "Cohere", dropped_);
        !refused)
      return refused;
    array messages;
    if (request_["messages"].get_array().get(messages))
      return invalid("'messages' must be an array", "messages", "invalid_type");
    out_ += "{\"model\":";
    append_json_string(out_, model);
    out_ += ",\"stream\":";
    out_ += stream ? "true" : "false";
    if (auto done = write_messages(messages); !done) return done;
    if (auto done = write_tools(); !done) return done;
    if (auto done = write_sampling(); !done) return done;
    if (auto done = write_response_format(); !done) return done;
    auto effort = encode::read_reasoning_effort(request_);
    if (!effort) return unexpected(std::move(effort).error());
    if (*effort) {
      out_ += **effort == encode::ReasoningEffort::none ? ",\"thinking\":{\"type\":\"disabled\"}"
                                                        : ",\"thinking\":{\"type\":\"enabled\"}";
      written("thinking");
    }
    for (const auto& [key, value] : defaults) {
      if (key == "model" || key == "messages" || key == "stream" || is_written(key)) continue;
      out_ += ',';
      append_json_string(out_, key);
      out_ += ':';
      out_ += value;
    }
    out_ += '}';
    return {};
  }

 private:
  Expected<void, Error> write_messages(array messages) {
    out_ += ",\"messages\":[";
    size_t i = 0;
    for (element message : messages) {
      FieldPath path = kMessages[i];
      if (i++) out_ += ',';
      std::string_view role;
      if (message["role"].get_string().get(role)) return invalid_at(path / ".role", " is required", "missing_required_parameter");
      if (role == "developer") role = "system";
      if (role != "system" && role != "user" && role != "assistant" && role != "tool")
        return invalid_at(path / ".role", " '" + std::string(role) + "' is not supported (use system, user, assistant or tool)",
                          "invalid_value");
      out_ += "{\"role\":\"";
      out_ += role;
      out_ += '"';
      element content;
      bool has_content = !message["content"].get(content) && !content.is_null();
      if (has_content) {
        if (auto done = check_content(content, path / ".content", role == "user"); !done) return done;
        out_ += ",\"content\":";
        append_value(out_, content);
      }
      if (role == "assistant") {
        array calls;
        if (!message["tool_calls"].get_array().get(calls) && calls.size() > 0) {
          out_ += ",\"tool_calls\":[";
          size_t k = 0;
          FieldPath calls_path = path / ".tool_calls";
          for (element call : calls) {
            auto fields = encode::read_tool_call(call, calls_path[k]);
            if (!fields) return unexpected(std::move(fields).error());
            if (k++) out_ += ',';
            out_ += "{\"id\":";
            append_json_string(out_, fields->id);
            out_ += ",\"type\":\"function\",\"function\":{\"name\":";
            append_json_string(out_, fields->name);
            out_ += ",\"arguments\":";
            append_json_string(out_, fields->arguments.empty() ? std::string_view("{}") : fields->arguments);
            out_ += "}}";
          }
          out_ += ']';
        } else if (!has_content) {
          out_ += ",\"content\":\"\"";
        }
      } else if (!has_content) {
        return invalid_at(path / ".content", " is required", "missing_required_parameter");
      }
      if (role == "tool") {
        std::string_view id;
        if (message["tool_call_id"].get_string().get(id))
          return invalid_at(path / ".tool_call_id", " is required", "missing_required_parameter");
        out_ += ",\"tool_call_id\":";
        append_json_string(out_, id);
      }
      out_ += '}';
    }
    if (i == 0) return invalid("'messages' must not be empty", "messages", "invalid_value");
    out_ += ']';
    return {};
  }

  // A string, or parts Cohere reads: text, and image_url in a user message.
  Expected<void, Error> check_content(element content, const FieldPath& path, bool user) {
    if (content.is_string()) return {};
    array parts;
    if (content.get_array().get(parts)) return invalid_at(path, " must be a string or an array of parts", "invalid_type");
    size_t j = 0;
    for (element part : parts) {
      FieldPath part_path = path[j++];
      std::string_view type;
      json::read_optional(part["type"].get_string(), type);
      if (type == "text" && part["text"].is_string()) continue;
      if (type == "image_url" && user) {
        if (auto url = encode::image_url_of(part, part_path); !url) return unexpected(std::move(url).error());
        continue;
      }
      return invalid_at(part_path / ".type", " '" + std::string(type) + "' is not supported by Cohere models here (text" +
                                                 (user ? " and image_url are)" : " is)"));
    }
    return {};
  }

  Expected<void, Error> write_tools() {
    auto choice = encode::read_tool_choice(request_);
    if (!choice) return unexpected(std::move(choice).error());
    if (choice->mode == "function")
      return invalid("'tool_choice' naming a function cannot be expressed for Cohere models (none, auto and required can)",
                     "tool_choice");
    array tools;
    if (request_["tools"].get_array().get(tools) || tools.size() == 0) return {};
    out_ += ",\"tools\":[";
    auto listed = encode::for_each_function_tool(tools, [this](const encode::FunctionTool& function, bool first) {
      out_ += first ? "{\"type\":\"function\",\"function\":{" : ",{\"type\":\"function\",\"function\":{";
      encode::append_name_and_description(out_, function);
      if (function.has_parameters) {
        out_ += ",\"parameters\":";
        append_value(out_, function.parameters);
      }
      out_ += "}}";
    });
    if (!listed) return listed;
    out_ += ']';
    written("tools");
    if (choice->mode == "required" || choice->mode == "none") {
      out_ += choice->mode == "required" ? ",\"tool_choice\":\"REQUIRED\"" : ",\"tool_choice\":\"NONE\"";
      written("tool_choice");
    }
    return {};
  }

  Expected<void, Error> write_sampling() {
    static constexpr std::pair<const char*, std::string_view> kCopied[] = {
        {"temperature", "temperature"}, {"top_p", "p"}, {"seed", "seed"},
        {"presence_penalty", "presence_penalty"}, {"frequency_penalty", "frequency_penalty"}};
    for (const auto& [openai, cohere] : kCopied) {
      element value;
      if (request_[openai].get(value) || value.is_null()) continue;
      if (!value.is_number()) return invalid("'" + std::string(openai) + "' must be a number", openai, "invalid_type");
      out_ += ",\"";
      out_ += cohere;
      out_ += "\":";
      append_value(out_, value);
      written(cohere);
    }
    if (auto max_tokens = encode::read_max_tokens(request_)) {
      out_ += ",\"max_tokens\":";
      out_ += std::to_string(*max_tokens);
      written("max_tokens");
    }
    return encode::write_stop_array(request_, out_, [this] {
      out_ += ",\"stop_sequences\":";
      written("stop_sequences");
    });
  }

  // json_object → {"type":"json_object"}; json_schema → the same with the schema.
  Expected<void, Error> write_response_format() {
    object format;
    if (request_["response_format"].get_object().get(format)) return {};
    std::string_view type;
    if (format["type"].get_string().get(type) || type == "text") return {};
    if (type != "json_object" && type != "json_schema")
      return invalid("response_format '" + std::string(type) + "' is not supported (text, json_object, json_schema are)",
                     "response_format", "invalid_value");
    out_ += ",\"response_format\":{\"type\":\"json_object\"";
    if (type == "json_schema") {
      element schema;
      if (format["json_schema"]["schema"].get(schema) || !schema.is_object())
        return invalid("'response_format.json_schema.schema' must be an object", "response_format.json_schema.schema",
                       "invalid_type");
      out_ += ",\"json_schema\":";
      append_value(out_, schema);
    }
    out_ += '}';
    written("response_format");
    return {};
  }

  void written(std::string_view key) {
    if (written_count_ < std::size(written_)) written_[written_count_++] = key;
  }
  bool is_written(std::string_view key) const {
    for (size_t i = 0; i < written_count_; ++i)
      if (written_[i] == key) return true;
    return false;
  }

  object request_;
  std::string& out_;
  encode::DroppedParams dropped_;
  std::string_view written_[16];
  size_t written_count_ = 0;
};

}  // namespace

std::string cohere_root(std::string_view base_url) { return api_root(base_url, {"/v1", "/v2"}); }

Expected<void, Error> translate_cohere_chat_request(std::string_view openai_body, std::string_view model, bool stream,
                                                    const json::JsonMembers& default_params, std::string& out,
                                                    std::span<const std::string> dropped) {
  auto request = parse_request(openai_body);
  if (!request) return unexpected(std::move(request).error());
  return CohereChatTranslator(*request, out, encode::DroppedParams(dropped)).run(model, stream, default_params);
}

Expected<void, Error> translate_cohere_embed_request(std::string_view openai_body, std::string_view model,
                                                     const json::JsonMembers& default_params, std::string& out) {
  auto request = parse_request(openai_body);
  if (!request) return unexpected(std::move(request).error());
  auto input = encode::read_text_input(*request, "Cohere");
  if (!input) return unexpected(std::move(input).error());
  out += "{\"model\":";
  append_json_string(out, model);
  out += ",\"texts\":";
  std::string_view text;
  if (!input->get_string().get(text)) {
    out += '[';
    append_json_string(out, text);
    out += ']';
  } else {
    append_value(out, *input);
  }
  out += ",\"embedding_types\":[\"float\"]";
  int64_t dimensions;
  if (!(*request)["dimensions"].get_int64().get(dimensions)) {
    out += ",\"output_dimension\":";
    out += std::to_string(dimensions);
  }
  bool input_type_given = false;
  for (const auto& [key, value] : default_params) {
    if (key == "model" || key == "texts" || key == "embedding_types" || key == "output_dimension") continue;
    input_type_given = input_type_given || key == "input_type";
    out += ',';
    append_json_string(out, key);
    out += ':';
    out += value;
  }
  // Cohere's v3+ embedding models require one; documents are what an OpenAI client embeds most.
  if (!input_type_given) out += ",\"input_type\":\"search_document\"";
  out += '}';
  return {};
}

CohereProvider::CohereProvider(ProviderConfig config, UpstreamLimits limits) : Provider(std::move(config), limits) {
  root_ = cohere_root(config_.base_url);
  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
}

std::string CohereProvider::endpoint_url(Endpoint endpoint) const {
  switch (endpoint) {
    case Endpoint::models: return root_ + "/v1/models";
    case Endpoint::embeddings: return root_ + "/v2/embed";
    default: return root_ + "/v2/chat";
  }
}

Expected<void, Error> CohereProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint != Endpoint::chat_completions && in.endpoint != Endpoint::embeddings)
    return unexpected(unsupported_endpoint(*this, in.endpoint));
  begin_post(in, endpoint_url(in.endpoint), fixed_headers_, out);
  if (in.endpoint == Endpoint::embeddings)
    return translate_cohere_embed_request(in.body, in.upstream_model, default_params_, out.body);
  return translate_cohere_chat_request(in.body, in.upstream_model, in.stream, default_params_, out.body,
                                       config_.drop_params);
}

http::UpstreamRequest CohereProvider::list_models_request() const {
  return begin_get(endpoint_url(Endpoint::models) + "?page_size=1000", fixed_headers_);
}

// {"id":"…","message":"model 'x' not found, …"}: decode_json_error reads that shape.
Error CohereProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  return decode_json_error(*this, status, body, retry_after);
}

std::unique_ptr<ResponseDecoder> CohereProvider::make_response_decoder() const { return make_cohere_decoder(); }

}  // namespace llmux::providers
