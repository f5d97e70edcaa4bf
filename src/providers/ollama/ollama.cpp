#include "providers/ollama/ollama.hpp"

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

Expected<object, Error> parse_request(std::string_view body, simdjson::dom::parser& parser, std::string& buffer) {
  object request;
  if (parser.parse(json::padded_copy(body, buffer)).get_object().get(request))
    return invalid("the request body must be a JSON object", {}, "invalid_json");
  return request;
}

// Writes the request in Ollama's shape while reading OpenAI's. One instance per call.
class OllamaChatTranslator {
 public:
  OllamaChatTranslator(object request, std::string& out, encode::DroppedParams dropped)
      : request_(request), out_(out), dropped_(dropped) {}

  Expected<void, Error> run(std::string_view model, bool stream, const json::JsonMembers& defaults) {
    if (auto checked = reject_inexpressible(); !checked) return checked;
    auto choice = encode::read_tool_choice(request_);
    if (!choice) return unexpected(std::move(choice).error());
    if (choice->mode == "required" || choice->mode == "function")
      return invalid("'tool_choice' " + std::string(choice->mode) + " cannot be expressed for Ollama models (none and auto can)",
                     "tool_choice");
    array messages;
    if (request_["messages"].get_array().get(messages))
      return invalid("'messages' must be an array", "messages", "invalid_type");
    out_ += "{\"model\":";
    append_json_string(out_, model);
    out_ += ",\"stream\":";
    out_ += stream ? "true" : "false";
    if (auto done = write_messages(messages); !done) return done;
    // tool_choice none: the model is not offered the tools at all.
    if (choice->mode != "none")
      if (auto done = write_tools(); !done) return done;
    if (auto done = write_format(); !done) return done;
    if (auto done = write_options(defaults); !done) return done;
    if (auto done = write_think(); !done) return done;
    for (const auto& [key, value] : defaults) {
      if (key == "options" || key == "model" || key == "messages" || key == "stream" || key == "tools" ||
          (key == "format" && format_written_) || (key == "think" && think_written_))
        continue;
      out_ += ',';
      append_json_string(out_, key);
      out_ += ':';
      out_ += value;
    }
    out_ += '}';
    return {};
  }

 private:
  struct Call {
    std::string_view id, name;
  };

  Expected<void, Error> reject_inexpressible() {
    int64_t n;
    if (!request_["n"].get_int64().get(n) && n != 1)
      return invalid("'n' must be 1: Ollama answers with one choice", "n");
    bool flag;
    if (!request_["logprobs"].get_bool().get(flag) && flag)
      return invalid("'logprobs' is not supported for Ollama models", "logprobs");
    if (auto refused = encode::refuse_serial_tool_calls(request_, "Ollama"); !refused) return refused;
    return encode::refuse_settings(request_, {"user", "safety_identifier", "service_tier"}, "Ollama", dropped_);
  }

  Expected<void, Error> write_messages(array messages) {
    out_ += ",\"messages\":[";
    size_t i = 0;
    bool any = false;
    for (element message : messages) {
      FieldPath path = kMessages[i++];
      std::string_view role;
      if (message["role"].get_string().get(role)) return invalid_at(path / ".role", " is required", "missing_required_parameter");
      if (any) out_ += ',';
      any = true;
      if (role == "system" || role == "developer") {
        if (auto done = write_text_message("system", message, path); !done) return done;
      } else if (role == "user") {
        if (auto done = write_user(message, path); !done) return done;
      } else if (role == "assistant") {
        if (auto done = write_assistant(message, path); !done) return done;
      } else if (role == "tool") {
        if (auto done = write_tool_result(message, path); !done) return done;
      } else {
        return invalid_at(path / ".role", " '" + std::string(role) + "' is not supported (use system, user, assistant or tool)",
                          "invalid_value");
      }
    }
    if (!any) return invalid("'messages' must not be empty", "messages", "invalid_value");
    out_ += ']';
    return {};
  }

  // Text pieces of a content array are joined with a newline: Ollama's content is one string.
  Expected<void, Error> append_text_content(element content, const FieldPath& path) {
    std::string_view text;
    if (!content.get_string().get(text)) {
      append_json_string(out_, text);
      return {};
    }
    joined_.clear();
    auto done = encode::for_each_text_part(content, path, [this](std::string_view piece, bool first) {
      if (!first) joined_ += '\n';
      joined_ += piece;
    });
    if (!done) return done;
    append_json_string(out_, joined_);
    return {};
  }

  Expected<void, Error> write_text_message(std::string_view role, element message, const FieldPath& path) {
    element content;
    if (message["content"].get(content)) return invalid_at(path / ".content", " is required", "missing_required_parameter");
    out_ += "{\"role\":\"";
    out_ += role;
    out_ += "\",\"content\":";
    if (auto done = append_text_content(content, path / ".content"); !done) return done;
    out_ += '}';
    return {};
  }

  Expected<void, Error> write_user(element message, const FieldPath& path) {
    element content;
    if (message["content"].get(content)) return invalid_at(path / ".content", " is required", "missing_required_parameter");
    array parts;
    if (content.get_array().get(parts)) return write_text_message("user", message, path);
    joined_.clear();
    images_.clear();
    size_t j = 0;
    bool text_seen = false;
    const FieldPath content_path = path / ".content";  // named: part paths point to it
    for (element part : parts) {
      FieldPath part_path = content_path[j++];
      std::string_view type, text;
      json::read_optional(part["type"].get_string(), type);
      if (type == "text") {
        if (part["text"].get_string().get(text)) return invalid_at(part_path / ".text", " must be a string", "invalid_type");
        if (text_seen) joined_ += '\n';
        joined_ += text;
        text_seen = true;
      } else if (type == "image_url") {
        auto url = encode::image_url_of(part, part_path);
        if (!url) return unexpected(std::move(url).error());
        std::string_view media_type, data;
        if (!encode::split_base64_data_url(*url, media_type, data))
          return invalid_at(part_path / ".image_url.url", " must be a base64 data: URL (Ollama takes images inline only)",
                            "invalid_value");
        if (!images_.empty()) images_ += ',';
        append_json_string(images_, data);
      } else {
        return invalid_at(part_path / ".type", " '" + std::string(type) + "' is not supported by Ollama models (text and image_url are)");
      }
    }
    out_ += "{\"role\":\"user\",\"content\":";
    append_json_string(out_, joined_);
    if (!images_.empty()) {
      out_ += ",\"images\":[";
      out_ += images_;
      out_ += ']';
    }
    out_ += '}';
    return {};
  }

  Expected<void, Error> write_assistant(element message, const FieldPath& path) {
    out_ += "{\"role\":\"assistant\",\"content\":";
    element content;
    if (message["content"].get(content) || content.is_null()) {
      out_ += "\"\"";
    } else if (auto done = append_text_content(content, path / ".content"); !done) {
      return done;
    }
    array calls;
    if (!message["tool_calls"].get_array().get(calls) && calls.size() > 0) {
      out_ += ",\"tool_calls\":[";
      size_t k = 0;
      for (element call : calls) {
        FieldPath calls_path = path / ".tool_calls";
        FieldPath call_path = calls_path[k];
        auto fields = encode::read_tool_call(call, call_path);
        if (!fields) return unexpected(std::move(fields).error());
        if (k++) out_ += ',';
        out_ += "{\"function\":{\"name\":";
        append_json_string(out_, fields->name);
        out_ += ",\"arguments\":";
        if (auto done = encode::append_arguments_object(out_, fields->arguments, call_path / ".function.arguments"); !done)
          return done;
        out_ += "}}";
        calls_.push_back({fields->id, fields->name});
      }
      out_ += ']';
    }
    out_ += '}';
    return {};
  }

  Expected<void, Error> write_tool_result(element message, const FieldPath& path) {
    std::string_view id;
    if (message["tool_call_id"].get_string().get(id))
      return invalid_at(path / ".tool_call_id", " is required", "missing_required_parameter");
    std::string_view name;
    for (const auto& call : calls_)
      if (call.id == id) name = call.name;
    if (name.empty())
      return invalid_at(path / ".tool_call_id", " '" + std::string(id) + "' names no tool call of an earlier assistant message "
                        "(Ollama needs the function's name)", "invalid_value");
    element content;
    if (message["content"].get(content)) return invalid_at(path / ".content", " is required", "missing_required_parameter");
    out_ += "{\"role\":\"tool\",\"tool_name\":";
    append_json_string(out_, name);
    out_ += ",\"content\":";
    if (auto done = append_text_content(content, path / ".content"); !done) return done;
    out_ += '}';
    return {};
  }

  // Ollama reads OpenAI's function tool objects as they are; each is checked, then copied.
  Expected<void, Error> write_tools() {
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
    return {};
  }

  // json_object → "format":"json"; json_schema → the schema itself.
  Expected<void, Error> write_format() {
    object format;
    if (request_["response_format"].get_object().get(format)) return {};
    std::string_view type;
    if (format["type"].get_string().get(type) || type == "text") return {};
    if (type == "json_object") {
      out_ += ",\"format\":\"json\"";
    } else if (type == "json_schema") {
      element schema;
      if (format["json_schema"]["schema"].get(schema) || !schema.is_object())
        return invalid("'response_format.json_schema.schema' must be an object", "response_format.json_schema.schema",
                       "invalid_type");
      out_ += ",\"format\":";
      append_value(out_, schema);
    } else {
      return invalid("response_format '" + std::string(type) + "' is not supported (text, json_object, json_schema are)",
                     "response_format", "invalid_value");
    }
    format_written_ = true;
    return {};
  }

  Expected<void, Error> write_options(const json::JsonMembers& defaults) {
    size_t mark = out_.size();
    out_ += ",\"options\":{";
    size_t members_start = out_.size();
    written_.clear();
    auto member = [&](std::string_view name) {
      if (out_.size() > members_start) out_ += ',';
      append_json_string(out_, name);
      out_ += ':';
      written_.push_back(name);
    };
    static constexpr std::pair<const char*, std::string_view> kCopied[] = {
        {"temperature", "temperature"}, {"top_p", "top_p"}, {"seed", "seed"},
        {"presence_penalty", "presence_penalty"}, {"frequency_penalty", "frequency_penalty"}};
    for (const auto& [openai, ollama] : kCopied) {
      element value;
      if (request_[openai].get(value) || value.is_null()) continue;
      if (!value.is_number()) return invalid("'" + std::string(openai) + "' must be a number", openai, "invalid_type");
      member(ollama);
      append_value(out_, value);
    }
    if (auto max_tokens = encode::read_max_tokens(request_)) {
      member("num_predict");
      out_ += std::to_string(*max_tokens);
    }
    if (auto done = encode::write_stop_array(request_, out_, [&] { member("stop"); }); !done) return done;
    // The provider's default options (num_ctx, top_k, …) fill in what the client did not set.
    for (const auto& [key, value] : defaults) {
      if (key != "options") continue;
      for (const auto& [name, option] : json::object_members(value)) {
        bool set = false;
        for (auto w : written_) set = set || w == name;
        if (set) continue;
        if (out_.size() > members_start) out_ += ',';
        append_json_string(out_, name);
        out_ += ':';
        out_ += option;
      }
    }
    if (out_.size() == members_start) {
      out_.resize(mark);
      return {};
    }
    out_ += '}';
    return {};
  }

  // reasoning_effort: "none" turns thinking off, any other level on.
  Expected<void, Error> write_think() {
    auto effort = encode::read_reasoning_effort(request_);
    if (!effort) return unexpected(std::move(effort).error());
    if (!*effort) return {};
    out_ += **effort == encode::ReasoningEffort::none ? ",\"think\":false" : ",\"think\":true";
    think_written_ = true;
    return {};
  }

  object request_;
  std::string& out_;
  encode::DroppedParams dropped_;
  std::vector<Call> calls_;
  std::vector<std::string_view> written_;
  std::string joined_, images_;
  bool format_written_ = false, think_written_ = false;
};

}  // namespace

std::string ollama_root(std::string_view base_url) { return api_root(base_url, {"/v1", "/api"}); }

Expected<void, Error> translate_ollama_chat_request(std::string_view openai_body, std::string_view model, bool stream,
                                                    const json::JsonMembers& default_params, std::string& out,
                                                    std::span<const std::string> dropped) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  auto request = parse_request(openai_body, parser, buffer);
  if (!request) return unexpected(std::move(request).error());
  return OllamaChatTranslator(*request, out, encode::DroppedParams(dropped)).run(model, stream, default_params);
}

Expected<void, Error> translate_ollama_embed_request(std::string_view openai_body, std::string_view model,
                                                     std::string& out) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  auto request = parse_request(openai_body, parser, buffer);
  if (!request) return unexpected(std::move(request).error());
  auto input = encode::read_text_input(*request, "Ollama");
  if (!input) return unexpected(std::move(input).error());
  out += "{\"model\":";
  append_json_string(out, model);
  out += ",\"input\":";
  append_value(out, *input);
  int64_t dimensions;
  if (!(*request)["dimensions"].get_int64().get(dimensions)) {
    out += ",\"dimensions\":";
    out += std::to_string(dimensions);
  }
  out += '}';
  return {};
}

OllamaProvider::OllamaProvider(ProviderConfig config, UpstreamLimits limits) : Provider(std::move(config), limits) {
  root_ = ollama_root(config_.base_url);
  fixed_headers_ = json_request_headers(config_);
  default_params_ = json::object_members(config_.default_params_json);
}

std::string OllamaProvider::endpoint_url(Endpoint endpoint) const {
  switch (endpoint) {
    case Endpoint::models: return root_ + "/api/tags";
    case Endpoint::embeddings: return root_ + "/api/embed";
    default: return root_ + "/api/chat";
  }
}

Expected<void, Error> OllamaProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint != Endpoint::chat_completions && in.endpoint != Endpoint::embeddings)
    return unexpected(unsupported_endpoint(*this, in.endpoint));
  begin_post(in, endpoint_url(in.endpoint), fixed_headers_, out);
  if (in.endpoint == Endpoint::embeddings) return translate_ollama_embed_request(in.body, in.upstream_model, out.body);
  return translate_ollama_chat_request(in.body, in.upstream_model, in.stream, default_params_, out.body,
                                       config_.drop_params);
}

http::UpstreamRequest OllamaProvider::list_models_request() const {
  return begin_get(endpoint_url(Endpoint::models), fixed_headers_);
}

// {"error":"model \"x\" not found, try pulling it first"}: decode_json_error reads that shape.
Error OllamaProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  return decode_json_error(*this, status, body, retry_after);
}

std::unique_ptr<ResponseDecoder> OllamaProvider::make_response_decoder() const { return make_ollama_decoder(); }

}  // namespace llmux::providers
