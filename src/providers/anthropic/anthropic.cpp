#include "providers/anthropic/anthropic.hpp"

#include <algorithm>
#include <charconv>
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
using encode::kTools;

// Writes the request in Anthropic's shape while reading OpenAI's. One instance per call.
class RequestTranslator {
 public:
  RequestTranslator(object request, std::string& out, encode::DroppedParams dropped)
      : request_(request), out_(out), dropped_(dropped) {}

  // `vertex.anthropic_version` set: the body Vertex AI takes, whose model is in the URL, whose API
  // version is the body's anthropic_version and whose betas are its anthropic_beta.
  Expected<void, Error> run(std::string_view model, const VertexBody& vertex, bool stream,
                            const json::JsonMembers& defaults) {
    if (auto checked = reject_inexpressible(!vertex.anthropic_version.empty()); !checked) return checked;
    auto thinking = read_thinking(defaults);
    if (!thinking) return unexpected(std::move(thinking).error());
    if (vertex.anthropic_version.empty()) {
      out_ += "{\"model\":";
      append_json_string(out_, model);
    } else {
      out_ += "{\"anthropic_version\":";
      append_json_string(out_, vertex.anthropic_version);
      written("anthropic_version");
      write_beta_list(vertex.anthropic_beta);
    }
    written("model");
    write_max_tokens(defaults, *thinking);
    write_thinking(*thinking);

    array messages;
    if (request_["messages"].get_array().get(messages))
      return invalid("'messages' must be an array", "messages", "invalid_type");
    if (auto done = write_system(messages); !done) return done;
    if (auto done = write_messages(messages); !done) return done;

    for (const char* key : {"temperature", "top_p", "top_k"}) {
      element value;
      if (!request_[key].get(value) && !value.is_null()) {
        out_ += ",\"";
        out_ += key;
        out_ += "\":";
        append_value(out_, value);
        written(key);
      }
    }
    if (auto done = write_stop(); !done) return done;
    if (auto done = write_tools(); !done) return done;
    if (auto done = write_end_user(); !done) return done;
    if (vertex.anthropic_version.empty()) write_service_tier();
    if (stream) {
      out_ += ",\"stream\":true";
      written("stream");
    }
    // Default params are written in Anthropic's terms (thinking, top_k, metadata, …).
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
  // On Vertex AI, Claude has one service tier: service_tier asks for more than auto or default.
  Expected<void, Error> reject_inexpressible(bool on_vertex) {
    int64_t n;
    if (!request_["n"].get_int64().get(n) && n != 1)
      return invalid("'n' must be 1: Anthropic returns one choice per request", "n");
    if (auto refused = encode::refuse_settings(request_, {"seed", "presence_penalty", "frequency_penalty", "logprobs"},
                                               "Anthropic", dropped_);
        !refused)
      return refused;
    if (on_vertex) {
      if (auto refused = encode::refuse_unexpressed(request_, {"service_tier"}, "Claude on Vertex AI", dropped_); !refused)
        return refused;
    } else if (auto tier = service_tier(); !tier) {
      return unexpected(std::move(tier).error());
    }
    object format;
    std::string_view type;
    if (!request_["response_format"].get_object().get(format) && !format["type"].get_string().get(type) &&
        type != "text")
      return invalid("response_format '" + std::string(type) + "' is not supported by Anthropic models; "
                     "describe the JSON in the prompt or use a tool",
                     "response_format");
    return {};
  }

  // user (or safety_identifier) → metadata.user_id, Anthropic's id of the end user.
  Expected<void, Error> write_end_user() {
    auto user = encode::read_end_user(request_, "Anthropic", dropped_);
    if (!user) return unexpected(std::move(user).error());
    if (user->empty()) return {};
    out_ += ",\"metadata\":{\"user_id\":";
    append_json_string(out_, *user);
    out_ += '}';
    written("metadata");
    return {};
  }

  // OpenAI's service_tier in Anthropic's terms: auto → "auto" (Priority Tier when the
  // organisation has it), default → "standard_only"; "" when the request sets none. Other tiers
  // (flex, scale, priority) have no Anthropic setting of their own.
  Expected<std::string_view, Error> service_tier() {
    std::string_view tier;
    element value;
    if (dropped_.contains("service_tier") || request_["service_tier"].get(value) || value.is_null()) return tier;
    if (value.get_string().get(tier) || (tier != "auto" && tier != "default"))
      return invalid("'service_tier' must be auto or default for Anthropic models (they become service_tier auto and "
                     "standard_only)",
                     "service_tier", "invalid_value");
    return tier == "auto" ? std::string_view("auto") : std::string_view("standard_only");
  }

  void write_service_tier() {
    auto tier = service_tier();
    if (!tier || tier->empty()) return;  // checked by reject_inexpressible
    out_ += ",\"service_tier\":\"";
    out_ += *tier;
    out_ += '"';
    written("service_tier");
  }

  // What reasoning_effort asks of Claude: nullopt for no thinking setting, a budget of 0 for
  // "none" (thinking disabled, overriding any default_params), else the checked plan.
  Expected<std::optional<encode::ClaudeThinking>, Error> read_thinking(const json::JsonMembers& defaults) {
    auto effort = encode::read_reasoning_effort(request_);
    if (!effort) return unexpected(std::move(effort).error());
    if (!*effort) return std::optional<encode::ClaudeThinking>();
    if (**effort == encode::ReasoningEffort::none) return std::optional<encode::ClaudeThinking>(encode::ClaudeThinking{});
    int64_t default_max = AnthropicProvider::kDefaultMaxTokens;
    std::string_view fallback = default_max_tokens(defaults);
    if (!fallback.empty()) {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(fallback.data(), fallback.data() + fallback.size(), n);
      if (ec == std::errc() && end == fallback.data() + fallback.size() && n > 0) default_max = n;
    }
    auto plan = encode::plan_claude_thinking(request_, **effort, default_max);
    if (!plan) return unexpected(std::move(plan).error());
    return std::optional<encode::ClaudeThinking>(*plan);
  }

  static std::string_view default_max_tokens(const json::JsonMembers& defaults) {
    std::string_view fallback;
    for (const auto& [key, value] : defaults)
      if (key == "max_tokens") fallback = value;
    return fallback;
  }

  void write_max_tokens(const json::JsonMembers& defaults, const std::optional<encode::ClaudeThinking>& thinking) {
    out_ += ",\"max_tokens\":";
    if (thinking && thinking->budget_tokens > 0) {
      out_ += std::to_string(thinking->max_tokens);
    } else if (auto max_tokens = encode::read_max_tokens(request_)) {
      out_ += std::to_string(*max_tokens);
    } else {
      std::string_view fallback = default_max_tokens(defaults);
      out_ += fallback.empty() ? std::to_string(AnthropicProvider::kDefaultMaxTokens) : std::string(fallback);
    }
    written("max_tokens");
  }

  void write_thinking(const std::optional<encode::ClaudeThinking>& thinking) {
    if (!thinking) return;
    if (thinking->budget_tokens == 0) {
      out_ += ",\"thinking\":{\"type\":\"disabled\"}";
    } else {
      out_ += ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":";
      out_ += std::to_string(thinking->budget_tokens);
      out_ += '}';
    }
    written("thinking");
  }

  // The client's anthropic-beta header ("a, b") as the body's list, where Vertex AI reads it.
  void write_beta_list(std::string_view header) {
    bool any = false;
    for (size_t at = 0; at <= header.size();) {
      size_t comma = std::min(header.find(',', at), header.size());
      std::string_view name = trim_whitespace(header.substr(at, comma - at));
      at = comma + 1;
      if (name.empty()) continue;
      out_ += any ? "," : ",\"anthropic_beta\":[";
      any = true;
      append_json_string(out_, name);
    }
    if (!any) return;
    out_ += ']';
    written("anthropic_beta");
  }

  // System and developer messages, wherever they stand, become the top-level system prompt.
  Expected<void, Error> write_system(array messages) {
    bool any = false;
    size_t i = 0;
    for (element message : messages) {
      std::string_view role;
      if (!message["role"].get_string().get(role) && (role == "system" || role == "developer")) {
        size_t mark = out_.size();
        out_ += any ? "," : ",\"system\":[";
        size_t blocks_start = out_.size();
        FieldPath item = kMessages[i], path = item / ".content";
        element content;
        if (message["content"].get(content)) return invalid_at(path, " is required", "missing_required_parameter");
        if (auto done = write_text_blocks(content, path); !done) return done;
        // An empty parts array writes no block: its separator would leave "[," behind.
        if (out_.size() == blocks_start) out_.resize(mark);
        else any = true;
      }
      ++i;
    }
    if (any) {
      out_ += ']';
      written("system");
    }
    return {};
  }

  // Text content (a string, or an array of text parts) as comma-separated text blocks.
  Expected<void, Error> write_text_blocks(element content, const FieldPath& path) {
    return encode::for_each_text_part(content, path, [this](std::string_view text, bool first) {
      if (!first) out_ += ',';
      text_block(text);
    });
  }

  void text_block(std::string_view text) {
    out_ += "{\"type\":\"text\",\"text\":";
    append_json_string(out_, text);
    out_ += '}';
  }

  Expected<void, Error> write_messages(array messages) {
    out_ += ",\"messages\":[";
    written("messages");
    bool first = true;
    bool tool_results_open = false;  // consecutive tool messages share one user turn
    size_t i = 0;
    for (element message : messages) {
      FieldPath path = kMessages[i++];
      std::string_view role;
      if (message["role"].get_string().get(role)) return invalid_at(path / ".role", " is required", "missing_required_parameter");
      if (role == "system" || role == "developer") continue;
      if (role == "tool") {
        if (!tool_results_open) {
          out_ += first ? "" : ",";
          out_ += "{\"role\":\"user\",\"content\":[";
          tool_results_open = true;
        } else {
          out_ += ',';
        }
        first = false;
        if (auto done = write_tool_result(message, path); !done) return done;
        continue;
      }
      if (tool_results_open) {
        out_ += "]}";
        tool_results_open = false;
      }
      if (role == "user") {
        out_ += first ? "" : ",";
        first = false;
        out_ += "{\"role\":\"user\",\"content\":";
        if (auto done = write_user_content(message["content"], path / ".content"); !done) return done;
        out_ += '}';
      } else if (role == "assistant") {
        size_t mark = out_.size();
        out_ += first ? "" : ",";
        out_ += "{\"role\":\"assistant\",\"content\":[";
        auto blocks = write_assistant_blocks(message, path);
        if (!blocks) return unexpected(std::move(blocks).error());
        if (*blocks == 0) {
          out_.resize(mark);  // Anthropic rejects an assistant turn without content
          continue;
        }
        first = false;
        out_ += "]}";
      } else {
        return invalid_at(path / ".role", " '" + std::string(role) + "' is not supported (use system, user, assistant or tool)",
                          "invalid_value");
      }
    }
    if (tool_results_open) out_ += "]}";
    out_ += ']';
    if (first) return invalid("'messages' must contain a user or assistant message", "messages", "invalid_value");
    return {};
  }

  Expected<void, Error> write_user_content(simdjson::simdjson_result<element> content, const FieldPath& path) {
    std::string_view text;
    if (!content.get_string().get(text)) {
      append_json_string(out_, text);
      return {};
    }
    array parts;
    if (content.get_array().get(parts)) return invalid_at(path, " must be a string or an array of parts", "invalid_type");
    out_ += '[';
    size_t j = 0;
    for (element part : parts) {
      FieldPath part_path = path[j];
      if (j++) out_ += ',';
      std::string_view type;
      json::read_optional(part["type"].get_string(), type);
      if (type == "text") {
        if (part["text"].get_string().get(text)) return invalid_at(part_path / ".text", " must be a string", "invalid_type");
        text_block(text);
      } else if (type == "image_url") {
        auto url = encode::image_url_of(part, part_path);
        if (!url) return unexpected(std::move(url).error());
        write_image(*url);
      } else {
        return invalid_at(part_path / ".type", " '" + std::string(type) + "' is not supported by Anthropic models (text and image_url are)");
      }
    }
    out_ += ']';
    return {};
  }

  // data:image/png;base64,… becomes a base64 source; any other URL a url source.
  void write_image(std::string_view url) {
    out_ += "{\"type\":\"image\",\"source\":";
    std::string_view media_type, data;
    if (encode::split_base64_data_url(url, media_type, data)) {
      out_ += "{\"type\":\"base64\",\"media_type\":";
      append_json_string(out_, media_type);
      out_ += ",\"data\":";
      append_json_string(out_, data);
    } else {
      out_ += "{\"type\":\"url\",\"url\":";
      append_json_string(out_, url);
    }
    out_ += "}}";
  }

  // The thinking_blocks given back (first, as Claude wants them), text, then one tool_use block
  // per tool call. Returns how many blocks were written.
  Expected<int, Error> write_assistant_blocks(element message, const FieldPath& path) {
    int blocks = 0;
    auto thinking = encode::for_each_thinking_block(message, path, [&](const encode::ThinkingBlock& b) {
      if (blocks++) out_ += ',';
      if (b.redacted) {
        out_ += "{\"type\":\"redacted_thinking\",\"data\":";
        append_json_string(out_, b.data);
      } else {
        out_ += "{\"type\":\"thinking\",\"thinking\":";
        append_json_string(out_, b.thinking);
        out_ += ",\"signature\":";
        append_json_string(out_, b.signature);
      }
      out_ += '}';
    });
    if (!thinking) return unexpected(std::move(thinking).error());
    element content;
    std::string_view text;
    if (!message["content"].get(content) && !content.is_null()) {
      if (!content.get_string().get(text)) {
        if (!text.empty()) {
          if (blocks++) out_ += ',';
          text_block(text);
        }
      } else {
        size_t mark = out_.size();
        if (blocks) out_ += ',';
        if (auto done = write_text_blocks(content, path / ".content"); !done) return unexpected(std::move(done).error());
        if (out_.size() > mark + (blocks ? 1 : 0)) ++blocks;
        else out_.resize(mark);
      }
    }
    array calls;
    if (message["tool_calls"].get_array().get(calls)) return blocks;
    size_t k = 0;
    for (element call : calls) {
      FieldPath calls_path = path / ".tool_calls";
      FieldPath call_path = calls_path[k++];
      auto fields = encode::read_tool_call(call, call_path);
      if (!fields) return unexpected(std::move(fields).error());
      if (blocks++) out_ += ',';
      out_ += "{\"type\":\"tool_use\",\"id\":";
      append_json_string(out_, fields->id);
      out_ += ",\"name\":";
      append_json_string(out_, fields->name);
      out_ += ",\"input\":";
      if (auto done = encode::append_arguments_object(out_, fields->arguments, call_path / ".function.arguments"); !done)
        return unexpected(std::move(done).error());
      out_ += '}';
    }
    return blocks;
  }

  Expected<void, Error> write_tool_result(element message, const FieldPath& path) {
    std::string_view id;
    if (message["tool_call_id"].get_string().get(id))
      return invalid_at(path / ".tool_call_id", " is required", "missing_required_parameter");
    out_ += "{\"type\":\"tool_result\",\"tool_use_id\":";
    append_json_string(out_, id);
    out_ += ",\"content\":";
    std::string_view text;
    element content;
    if (message["content"].get(content))
      return invalid_at(path / ".content", " is required", "missing_required_parameter");
    if (!content.get_string().get(text)) {
      append_json_string(out_, text);
    } else {
      out_ += '[';
      if (auto done = write_text_blocks(content, path / ".content"); !done) return done;
      out_ += ']';
    }
    out_ += '}';
    return {};
  }

  Expected<void, Error> write_stop() {
    return encode::write_stop_array(request_, out_, [this] {
      out_ += ",\"stop_sequences\":";
      written("stop_sequences");
    });
  }

  Expected<void, Error> write_tools() {
    array tools;
    if (request_["tools"].get_array().get(tools) || tools.size() == 0) return {};
    out_ += ",\"tools\":[";
    auto listed = encode::for_each_function_tool(tools, [this](const encode::FunctionTool& function, bool first) {
      out_ += first ? "{" : ",{";
      encode::append_name_and_description(out_, function);
      out_ += ",\"input_schema\":";
      if (function.has_parameters)
        append_value(out_, function.parameters);
      else
        out_ += "{\"type\":\"object\",\"properties\":{}}";
      out_ += '}';
    });
    if (!listed) return listed;
    out_ += ']';
    written("tools");
    return write_tool_choice();
  }

  Expected<void, Error> write_tool_choice() {
    bool parallel = true;
    json::read_optional(request_["parallel_tool_calls"].get_bool(), parallel);
    auto choice = encode::read_tool_choice(request_);
    if (!choice) return unexpected(std::move(choice).error());
    std::string_view mode = choice->mode, name = choice->name;
    std::string_view type = mode == "none" ? "none" : mode == "required" ? "any" : mode == "function" ? "tool" : "auto";
    out_ += ",\"tool_choice\":{\"type\":\"";
    out_ += type;
    out_ += '"';
    if (!name.empty()) {
      out_ += ",\"name\":";
      append_json_string(out_, name);
    }
    if (!parallel && type != "none") out_ += ",\"disable_parallel_tool_use\":true";
    out_ += '}';
    written("tool_choice");
    return {};
  }

  void written(std::string_view key) { written_.add(key); }
  bool is_written(std::string_view key) const { return written_.contains(key); }

  object request_;
  std::string& out_;
  encode::DroppedParams dropped_;
  encode::WrittenKeys written_;
};

}  // namespace

namespace {

Expected<void, Error> translate(std::string_view openai_body, std::string_view model, const VertexBody& vertex,
                                bool stream, const json::JsonMembers& default_params, std::string& out,
                                std::span<const std::string> dropped) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  object request;
  if (parser.parse(json::padded_copy(openai_body, buffer)).get_object().get(request))
    return invalid("the request body must be a JSON object", {}, "invalid_json");
  return RequestTranslator(request, out, encode::DroppedParams(dropped)).run(model, vertex, stream, default_params);
}

}  // namespace

Expected<void, Error> translate_chat_request(std::string_view openai_body, std::string_view model, bool stream,
                                             const json::JsonMembers& default_params, std::string& out,
                                             std::span<const std::string> dropped) {
  return translate(openai_body, model, {}, stream, default_params, out, dropped);
}

Expected<void, Error> translate_vertex_chat_request(std::string_view openai_body, const VertexBody& vertex, bool stream,
                                                    const json::JsonMembers& default_params, std::string& out,
                                                    std::span<const std::string> dropped) {
  return translate(openai_body, {}, vertex, stream, default_params, out, dropped);
}

AnthropicProvider::AnthropicProvider(ProviderConfig config, UpstreamLimits limits)
    : Provider(std::move(config), limits) {
  messages_url_ = config_.base_url + "/messages";
  count_tokens_url_ = messages_url_ + "/count_tokens";
  models_url_ = config_.base_url + "/models";
  fixed_headers_ = json_request_headers(config_);
  bool version_given = false;
  for (const auto& h : config_.headers) version_given = version_given || iequals(h.name, "anthropic-version");
  if (!version_given) fixed_headers_.push_back("anthropic-version: " + std::string(kApiVersion));
  default_params_ = json::object_members(config_.default_params_json);
}

std::string AnthropicProvider::endpoint_url(Endpoint endpoint) const {
  return endpoint == Endpoint::models ? models_url_ : messages_url_;
}

Expected<void, Error> AnthropicProvider::encode_into(const EncodeInput& in, http::UpstreamRequest& out) const {
  if (in.endpoint != Endpoint::chat_completions) return unexpected(unsupported_endpoint(*this, in.endpoint));
  begin_post(in, messages_url_, fixed_headers_, out);
  add_beta_header(in, out);
  return translate_chat_request(in.body, in.upstream_model, in.stream, default_params_, out.body, config_.drop_params);
}

// The client's anthropic-beta goes with its request: the features it names change what the
// request and its answer may hold. Only this header of the client's is forwarded.
void AnthropicProvider::add_beta_header(const EncodeInput& in, http::UpstreamRequest& out) {
  if (in.anthropic_beta.empty()) return;
  std::string& line = out.headers.add();
  line.assign("anthropic-beta: ");
  line.append(in.anthropic_beta);
}

// The inbound /v1/messages through an Anthropic provider: the client's bytes, the model rewritten
// and default params merged as for OpenAI pass-through (none for count_tokens, which takes no
// generation parameters).
Expected<void, Error> AnthropicProvider::encode_native(NativeApi api, const EncodeInput& in,
                                                       http::UpstreamRequest& out) const {
  static const json::JsonMembers no_defaults;
  bool count = api == NativeApi::anthropic_count_tokens;
  begin_post(in, count ? count_tokens_url_ : messages_url_, fixed_headers_, out);
  add_beta_header(in, out);
  json::rewrite_request_into(out.body, in.body, *in.fields, in.upstream_model, count ? no_defaults : default_params_);
  return {};
}

http::UpstreamRequest AnthropicProvider::list_models_request() const {
  // One page: the API returns 20 by default, 1000 at most.
  return begin_get(models_url_ + "?limit=1000", fixed_headers_);
}

Error AnthropicProvider::decode_error(int status, std::string_view body, std::string_view retry_after) const {
  return decode_json_error(*this, status, body, retry_after);
}

std::unique_ptr<ResponseDecoder> AnthropicProvider::make_response_decoder() const { return make_anthropic_decoder(); }

}  // namespace llmux::providers
