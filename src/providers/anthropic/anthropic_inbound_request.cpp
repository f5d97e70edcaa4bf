// Anthropic Messages requests (the gateway's inbound /v1/messages) into OpenAI chat completions
// requests, the canonical request the adapters encode from. Read with simdjson's DOM: every field
// is looked at once, and the body is small next to the answer.
#include <simdjson.h>

#include "core/json_text.hpp"
#include "json/simdjson_support.hpp"
#include "providers/anthropic/anthropic_inbound.hpp"
#include "providers/encode_support.hpp"

namespace llmux::providers {

namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;
using encode::append_value;
using encode::FieldPath;
using encode::invalid;
using encode::invalid_at;

constexpr std::string_view kWhere = " when /v1/messages is served by a provider other than Anthropic";

class MessagesTranslator {
 public:
  MessagesTranslator(object request, std::string& out, bool count_only)
      : request_(request), out_(out), count_only_(count_only) {}

  Expected<MessagesConversion, Error> run() {
    for (auto [key, value] : request_)
      if (!known_member(key))
        return invalid("'" + std::string(key) + "' is not supported" + std::string(kWhere), std::string(key));
    std::string_view model;
    element model_value;
    if (request_["model"].get(model_value)) return invalid("model: Field required", "model", "missing_required_parameter");
    if (model_value.get_string().get(model)) return invalid("model: Input should be a valid string", "model", "invalid_type");
    out_ += "{\"model\":";
    append_json_string(out_, model);
    if (auto done = write_max_tokens(); !done) return unexpected(std::move(done).error());
    array messages;
    element messages_value;
    if (request_["messages"].get(messages_value))
      return invalid("messages: Field required", "messages", "missing_required_parameter");
    if (messages_value.get_array().get(messages))
      return invalid("messages: Input should be a valid list", "messages", "invalid_type");
    out_ += ",\"messages\":[";
    if (auto done = write_system(); !done) return unexpected(std::move(done).error());
    size_t i = 0;
    for (element message : messages)
      if (auto done = write_message(message, kMessages[i++]); !done) return unexpected(std::move(done).error());
    out_ += ']';
    if (auto done = write_sampling(); !done) return unexpected(std::move(done).error());
    if (auto done = write_tools(); !done) return unexpected(std::move(done).error());
    write_metadata_and_thinking();
    bool stream = false;
    json::read_optional(request_["stream"].get_bool(), stream);
    // Usage comes only when asked for: the Anthropic client always gets it in message_delta.
    if (stream && !count_only_) out_ += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
    out_ += '}';
    return stats_;
  }

 private:
  static inline const FieldPath kMessages{nullptr, "messages"};
  static inline const FieldPath kTools{nullptr, "tools"};

  static bool known_member(std::string_view key) {
    for (std::string_view k : {"model", "messages", "system", "max_tokens", "metadata", "stop_sequences", "stream",
                               "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking", "service_tier",
                               "fallbacks"})
      if (key == k) return true;
    return false;
  }

  Expected<void, Error> write_max_tokens() {
    element value;
    if (request_["max_tokens"].get(value)) {
      if (count_only_) return {};
      return invalid("max_tokens: Field required", "max_tokens", "missing_required_parameter");
    }
    int64_t n;
    if (value.get_int64().get(n) || n < 1)
      return invalid("max_tokens: Input should be a positive integer", "max_tokens", "invalid_value");
    out_ += ",\"max_tokens\":";
    out_ += std::to_string(n);
    return {};
  }

  // The system prompt (a string or text blocks) as the first message.
  Expected<void, Error> write_system() {
    element system;
    if (request_["system"].get(system) || system.is_null()) return {};
    std::string_view text;
    if (!system.get_string().get(text)) {
      open_message("system");
      out_ += ",\"content\":";
      append_text(text);
      out_ += '}';
      return {};
    }
    array blocks;
    FieldPath path{nullptr, "system"};
    if (system.get_array().get(blocks)) return invalid_at(path, " must be a string or an array of text blocks", "invalid_type");
    open_message("system");
    out_ += ",\"content\":[";
    size_t j = 0;
    for (element block : blocks) {
      FieldPath at = path[j];
      std::string_view type;
      if (block["type"].get_string().get(type) || type != "text" || block["text"].get_string().get(text))
        return invalid_at(at, " must be a text block", "invalid_value");
      if (j++) out_ += ',';
      text_part(text);
    }
    out_ += "]}";
    return {};
  }

  void open_message(std::string_view role) {
    if (messages_written_++) out_ += ',';
    out_ += "{\"role\":\"";
    out_ += role;
    out_ += '"';
  }

  void append_text(std::string_view text) {
    stats_.text_bytes += text.size();
    append_json_string(out_, text);
  }

  void text_part(std::string_view text) {
    out_ += "{\"type\":\"text\",\"text\":";
    append_text(text);
    out_ += '}';
  }

  Expected<void, Error> write_message(element message, const FieldPath& path) {
    std::string_view role;
    if (message["role"].get_string().get(role))
      return invalid_at(path / ".role", ": Field required", "missing_required_parameter");
    if (role != "user" && role != "assistant")
      return invalid_at(path / ".role", ": Input should be 'user' or 'assistant'", "invalid_value");
    element content;
    FieldPath content_path = path / ".content";
    if (message["content"].get(content)) return invalid_at(content_path, ": Field required", "missing_required_parameter");
    std::string_view text;
    if (!content.get_string().get(text)) {
      open_message(role);
      out_ += ",\"content\":";
      append_text(text);
      out_ += '}';
      return {};
    }
    array blocks;
    if (content.get_array().get(blocks))
      return invalid_at(content_path, ": Input should be a string or a list of content blocks", "invalid_type");
    return role == "user" ? write_user_blocks(blocks, content_path) : write_assistant_blocks(blocks, content_path);
  }

  // Tool results become tool messages, which OpenAI wants right after the assistant's calls; the
  // rest of the turn follows as one user message.
  Expected<void, Error> write_user_blocks(array blocks, const FieldPath& path) {
    size_t others = 0, j = 0;
    for (element block : blocks) {
      FieldPath at = path[j++];
      std::string_view type;
      if (block["type"].get_string().get(type)) return invalid_at(at / ".type", ": Field required", "missing_required_parameter");
      if (type != "tool_result") {
        ++others;
        continue;
      }
      if (auto done = write_tool_result(block, at); !done) return done;
    }
    if (others == 0) return {};
    open_message("user");
    out_ += ",\"content\":[";
    j = 0;
    size_t written = 0;
    for (element block : blocks) {
      FieldPath at = path[j++];
      std::string_view type, text;
      json::read_optional(block["type"].get_string(), type);
      if (type == "tool_result") continue;
      if (written++) out_ += ',';
      if (type == "text") {
        if (block["text"].get_string().get(text)) return invalid_at(at / ".text", ": Input should be a valid string", "invalid_type");
        text_part(text);
      } else if (type == "image") {
        if (auto done = write_image(block, at); !done) return done;
      } else {
        return invalid_at(at / ".type", " '" + std::string(type) + "' is not supported" + std::string(kWhere) +
                                            " (text, image, tool_result are)");
      }
    }
    out_ += "]}";
    return {};
  }

  Expected<void, Error> write_image(element block, const FieldPath& at) {
    object source;
    std::string_view kind, media_type, data, url;
    if (block["source"].get_object().get(source) || source["type"].get_string().get(kind))
      return invalid_at(at / ".source", ": Field required", "missing_required_parameter");
    out_ += "{\"type\":\"image_url\",\"image_url\":{\"url\":";
    if (kind == "base64") {
      if (source["media_type"].get_string().get(media_type) || source["data"].get_string().get(data))
        return invalid_at(at / ".source", " needs media_type and data", "missing_required_parameter");
      std::string data_url = "data:";
      data_url += media_type;
      data_url += ";base64,";
      data_url += data;
      append_json_string(out_, data_url);
    } else if (kind == "url") {
      if (source["url"].get_string().get(url)) return invalid_at(at / ".source.url", ": Field required", "missing_required_parameter");
      append_json_string(out_, url);
    } else {
      return invalid_at(at / ".source.type", " '" + std::string(kind) + "' is not supported" + std::string(kWhere) +
                                                 " (base64 and url are)");
    }
    out_ += "}}";
    return {};
  }

  Expected<void, Error> write_tool_result(element block, const FieldPath& at) {
    std::string_view id;
    if (block["tool_use_id"].get_string().get(id))
      return invalid_at(at / ".tool_use_id", ": Field required", "missing_required_parameter");
    open_message("tool");
    out_ += ",\"tool_call_id\":";
    append_json_string(out_, id);
    out_ += ",\"content\":";
    bool is_error = false;
    json::read_optional(block["is_error"].get_bool(), is_error);
    // OpenAI has no failed tool result: the failure is said in the text, not dropped.
    std::string text = is_error ? "[tool error] " : "";
    element content;
    std::string_view piece;
    if (!block["content"].get(content) && !content.is_null()) {
      array parts;
      if (!content.get_string().get(piece)) {
        text += piece;
      } else if (!content.get_array().get(parts)) {
        size_t k = 0;
        FieldPath content_at = at / ".content";  // named: a path keeps a pointer to its parent
        for (element part : parts) {
          FieldPath part_at = content_at[k++];
          std::string_view type;
          if (part["type"].get_string().get(type) || type != "text" || part["text"].get_string().get(piece))
            return invalid_at(part_at, " must be a text block" + std::string(kWhere) +
                                           " (a tool result's images and documents are not)");
          if (k > 1) text += '\n';
          text += piece;
        }
      } else {
        return invalid_at(at / ".content", ": Input should be a string or a list of text blocks", "invalid_type");
      }
    }
    append_text(text);
    out_ += '}';
    return {};
  }

  Expected<void, Error> write_assistant_blocks(array blocks, const FieldPath& path) {
    std::string text;
    size_t calls = 0, j = 0;
    std::string tool_calls;
    for (element block : blocks) {
      FieldPath at = path[j++];
      std::string_view type, piece;
      if (block["type"].get_string().get(type)) return invalid_at(at / ".type", ": Field required", "missing_required_parameter");
      if (type == "text") {
        if (block["text"].get_string().get(piece)) return invalid_at(at / ".text", ": Input should be a valid string", "invalid_type");
        text += piece;
      } else if (type == "tool_use") {
        std::string_view id, name;
        element input;
        if (block["id"].get_string().get(id) || block["name"].get_string().get(name))
          return invalid_at(at, " needs id and name", "missing_required_parameter");
        if (calls++) tool_calls += ',';
        tool_calls += "{\"id\":";
        append_json_string(tool_calls, id);
        tool_calls += ",\"type\":\"function\",\"function\":{\"name\":";
        append_json_string(tool_calls, name);
        tool_calls += ",\"arguments\":";
        std::string arguments = "{}";
        if (!block["input"].get(input) && !input.is_null()) {
          if (!input.is_object()) return invalid_at(at / ".input", ": Input should be an object", "invalid_type");
          arguments = simdjson::to_string(input);
        }
        stats_.text_bytes += arguments.size();
        append_json_string(tool_calls, arguments);
        tool_calls += "}}";
      } else if (type == "thinking" || type == "redacted_thinking") {
        continue;  // earlier turns' reasoning: signed for Anthropic, meaningless to another model
      } else {
        return invalid_at(at / ".type", " '" + std::string(type) + "' is not supported" + std::string(kWhere) +
                                            " (text, tool_use, thinking are)");
      }
    }
    if (text.empty() && calls == 0) return {};  // a turn of thinking only
    open_message("assistant");
    out_ += ",\"content\":";
    if (text.empty()) out_ += "null";
    else append_text(text);
    if (calls) {
      out_ += ",\"tool_calls\":[";
      out_ += tool_calls;
      out_ += ']';
    }
    out_ += '}';
    return {};
  }

  Expected<void, Error> write_sampling() {
    // top_k has no OpenAI field of its own; servers of that shape that sample with it (vLLM,
    // Together, OpenRouter, Ollama) take it as "top_k", and the adapters translate it.
    for (const char* key : {"temperature", "top_p", "top_k"}) {
      element value;
      if (request_[key].get(value) || value.is_null()) continue;
      if (!value.is_number()) return invalid(std::string(key) + ": Input should be a valid number", key, "invalid_type");
      out_ += ",\"";
      out_ += key;
      out_ += "\":";
      append_value(out_, value);
    }
    element stops;
    if (!request_["stop_sequences"].get(stops) && !stops.is_null()) {
      array list;
      if (stops.get_array().get(list)) return invalid("stop_sequences: Input should be a valid list", "stop_sequences", "invalid_type");
      out_ += ",\"stop\":[";
      size_t k = 0;
      for (element stop : list) {
        std::string_view s;
        if (stop.get_string().get(s)) return invalid("stop_sequences: Input should be a list of strings", "stop_sequences", "invalid_type");
        if (k++) out_ += ',';
        append_json_string(out_, s);
      }
      out_ += ']';
    }
    return {};
  }

  Expected<void, Error> write_tools() {
    array tools;
    if (request_["tools"].get_array().get(tools) || tools.size() == 0) return write_tool_choice(false);
    out_ += ",\"tools\":[";
    size_t i = 0;
    for (element tool : tools) {
      FieldPath at = kTools[i];
      std::string_view type, name, description;
      if (!tool["type"].get_string().get(type) && type != "custom")
        return invalid_at(at / ".type", " '" + std::string(type) + "' is a server tool, run only by Anthropic: it is not supported" +
                                            std::string(kWhere));
      if (tool["name"].get_string().get(name)) return invalid_at(at / ".name", ": Field required", "missing_required_parameter");
      element schema;
      if (tool["input_schema"].get(schema) || !schema.is_object())
        return invalid_at(at / ".input_schema", ": Field required", "missing_required_parameter");
      if (i++) out_ += ',';
      out_ += "{\"type\":\"function\",\"function\":{\"name\":";
      append_text(name);
      if (!tool["description"].get_string().get(description)) {
        out_ += ",\"description\":";
        append_text(description);
      }
      out_ += ",\"parameters\":";
      size_t mark = out_.size();
      append_value(out_, schema);
      stats_.text_bytes += out_.size() - mark;
      out_ += "}}";
    }
    out_ += ']';
    return write_tool_choice(true);
  }

  Expected<void, Error> write_tool_choice(bool tools) {
    object choice;
    if (request_["tool_choice"].get_object().get(choice)) return {};
    std::string_view type, name;
    if (choice["type"].get_string().get(type))
      return invalid("tool_choice.type: Field required", "tool_choice.type", "missing_required_parameter");
    if (type == "none") {
      out_ += ",\"tool_choice\":\"none\"";
      return {};
    }
    if (!tools) return invalid("tool_choice needs tools", "tool_choice", "invalid_value");
    out_ += ",\"tool_choice\":";
    if (type == "auto") {
      out_ += "\"auto\"";
    } else if (type == "any") {
      out_ += "\"required\"";
    } else if (type == "tool") {
      if (choice["name"].get_string().get(name))
        return invalid("tool_choice.name: Field required", "tool_choice.name", "missing_required_parameter");
      out_ += "{\"type\":\"function\",\"function\":{\"name\":";
      append_json_string(out_, name);
      out_ += "}}";
    } else {
      return invalid("tool_choice.type '" + std::string(type) + "' is not one of auto, any, tool, none", "tool_choice.type",
                     "invalid_value");
    }
    bool serial = false;
    json::read_optional(choice["disable_parallel_tool_use"].get_bool(), serial);
    if (serial) out_ += ",\"parallel_tool_calls\":false";
    return {};
  }

  // metadata.user_id is OpenAI's user; a thinking budget its reasoning effort.
  void write_metadata_and_thinking() {
    std::string_view user;
    if (!request_["metadata"]["user_id"].get_string().get(user)) {
      out_ += ",\"user\":";
      append_json_string(out_, user);
    }
    std::string_view type;
    int64_t budget = 0;
    if (request_["thinking"]["type"].get_string().get(type) || type != "enabled") return;
    json::read_optional(request_["thinking"]["budget_tokens"].get_int64(), budget);
    out_ += ",\"reasoning_effort\":";
    out_ += budget < 4096 ? "\"low\"" : budget < 16384 ? "\"medium\"" : "\"high\"";
  }

  object request_;
  std::string& out_;
  bool count_only_;
  size_t messages_written_ = 0;
  MessagesConversion stats_;
};

}  // namespace

// Anthropic's SDKs move to newer dated versions (@anthropic-ai/sdk 1.15 sends 2026-10-21), and a
// version llmux has not seen changes nothing it translates: any well-formed date from 2023-06-01
// on is taken, as are the two published before it.
bool accepted_anthropic_version(std::string_view version) noexcept {
  if (version == "2023-01-01") return true;
  if (version.size() != 10 || version[4] != '-' || version[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (version[i] < '0' || version[i] > '9') return false;
  int month = (version[5] - '0') * 10 + (version[6] - '0');
  int day = (version[8] - '0') * 10 + (version[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && version >= "2023-06-01";
}

Error anthropic_version_error(std::string_view version) {
  Error e = version.empty()
                ? Error::make(ErrorKind::invalid_request, "anthropic-version: header is required", "anthropic-version",
                              "missing_required_header")
                : Error::make(ErrorKind::invalid_request,
                              "anthropic-version: '" + std::string(version) +
                                  "' is not a version llmux serves (2023-01-01, or a date from 2023-06-01 on)",
                              "anthropic-version", "invalid_header");
  return e;
}

Expected<MessagesConversion, Error> messages_to_chat_request(std::string_view body, std::string& out, bool count_only) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  object request;
  if (parser.parse(json::padded_copy(body, buffer)).get_object().get(request))
    return invalid("the request body must be a JSON object", {}, "invalid_json");
  return MessagesTranslator(request, out, count_only).run();
}

int64_t estimate_tokens_from_text(size_t text_bytes) noexcept {
  auto tokens = static_cast<int64_t>((text_bytes + 3) / 4);
  return tokens < 1 ? 1 : tokens;
}

std::optional<json::Usage> read_anthropic_usage(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  simdjson::dom::element root;
  if (parser.parse(json::padded_copy(body, buffer)).get(root)) return std::nullopt;
  simdjson::dom::object usage;
  if (root["usage"].get_object().get(usage) && root.get_object().get(usage)) return std::nullopt;
  int64_t n;
  if (usage["input_tokens"].get_int64().get(n) && usage["output_tokens"].get_int64().get(n)) return std::nullopt;
  return anthropic_usage_of(usage);
}

json::Usage anthropic_usage_of(simdjson::dom::object usage) {
  int64_t input = 0, output = 0, cache_read = 0, cache_write = 0;
  json::read_optional(usage["input_tokens"].get_int64(), input);
  json::read_optional(usage["output_tokens"].get_int64(), output);
  json::read_optional(usage["cache_read_input_tokens"].get_int64(), cache_read);
  json::read_optional(usage["cache_creation_input_tokens"].get_int64(), cache_write);
  json::Usage u;
  u.prompt_tokens = json::add_tokens(json::add_tokens(input, cache_read), cache_write);
  u.completion_tokens = output;
  u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
  u.cached_tokens = cache_read;
  u.cache_write_tokens = cache_write;
  u.reported = true;
  return u;
}

}  // namespace llmux::providers
