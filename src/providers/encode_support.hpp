// Helpers shared by the translators of OpenAI chat requests into providers' request bodies.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <simdjson.h>

#include "core/json_text.hpp"
#include "json/simdjson_support.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::providers::encode {

inline Unexpected<Error> invalid(std::string message, std::string param, std::string code = "unsupported_parameter") {
  return unexpected(Error::make(ErrorKind::invalid_request, std::move(message), std::move(param), std::move(code)));
}

// A model or deployment id that can stand in a URL path as it is: letters, digits, '-', '.', '_'
// (anything else could change the path or the query the provider is sent).
inline bool is_plain_path_segment(std::string_view id) noexcept {
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// Where a field sits in the request ("messages[3].content[1]"), for error messages: links on the
// stack, turned into text only when an error is reported.
struct FieldPath {
  const FieldPath* parent = nullptr;
  std::string_view name;  // "messages", ".content"
  size_t index = SIZE_MAX;  // "[index]" instead of a name

  FieldPath operator/(std::string_view child) const { return {this, child}; }
  FieldPath operator[](size_t i) const { return {this, {}, i}; }
  std::string str() const {
    std::string text = parent ? parent->str() : std::string();
    if (index != SIZE_MAX) return text + "[" + std::to_string(index) + "]";
    return text + std::string(name);
  }
};

inline const FieldPath kMessages{nullptr, "messages"};
inline const FieldPath kTools{nullptr, "tools"};

// "<path><what>", with the path as the error's param.
inline Unexpected<Error> invalid_at(const FieldPath& path, std::string_view what,
                                    std::string code = "unsupported_parameter") {
  std::string param = path.str();
  return invalid(param + std::string(what), param, std::move(code));
}

// Any JSON value, minified.
inline void append_value(std::string& out, simdjson::dom::element value) {
  std::string_view text;
  if (!value.get_string().get(text)) return append_json_string(out, text);
  out += simdjson::to_string(value);
}

// OpenAI carries tool arguments as a string of JSON; other providers want the object itself.
// Blank arguments are an empty object.
inline Expected<void, Error> append_arguments_object(std::string& out, std::string_view arguments, const FieldPath& path) {
  if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    out += "{}";
    return {};
  }
  thread_local simdjson::dom::parser parser;
  thread_local std::string buffer;
  simdjson::dom::object parsed;
  if (parser.parse(json::padded_copy(arguments, buffer)).get_object().get(parsed))
    return invalid_at(path, " must be a JSON object in a string", "invalid_value");
  out += simdjson::to_string(parsed);
  return {};
}

// The top-level keys a translator has written, so default_params do not write them twice. Holds
// views of static names; no allocation.
class WrittenKeys {
 public:
  void add(std::string_view key) {
    if (count_ < std::size(keys_)) keys_[count_++] = key;
  }
  bool contains(std::string_view key) const {
    for (size_t i = 0; i < count_; ++i)
      if (keys_[i] == key) return true;
    return false;
  }

 private:
  std::string_view keys_[16];
  size_t count_ = 0;
};

}  // namespace llmux::providers::encode

namespace llmux::providers::encode {

// Calls on_text(text, first) for text content: a string, or each part of an array of text parts.
template <typename OnText>
Expected<void, Error> for_each_text_part(simdjson::dom::element content, const FieldPath& path, OnText&& on_text) {
  std::string_view text;
  if (!content.get_string().get(text)) {
    on_text(text, true);
    return {};
  }
  simdjson::dom::array parts;
  if (content.get_array().get(parts)) return invalid_at(path, " must be a string or an array of text parts", "invalid_type");
  size_t j = 0;
  for (simdjson::dom::element part : parts) {
    std::string_view type;
    if (part["type"].get_string().get(type) || type != "text" || part["text"].get_string().get(text))
      return invalid_at(path[j] / ".type", " must be \"text\" here");
    on_text(text, j++ == 0);
  }
  return {};
}

// The URL of an image_url part ({"image_url":{"url":…}} or {"image_url":"…"}).
inline Expected<std::string_view, Error> image_url_of(simdjson::dom::element part, const FieldPath& part_path) {
  std::string_view url;
  if (part["image_url"]["url"].get_string().get(url) && part["image_url"].get_string().get(url))
    return invalid_at(part_path / ".image_url.url", " is required", "missing_required_parameter");
  return url;
}

// "data:image/png;base64,…" split into its media type and data; false for any other URL.
inline bool split_base64_data_url(std::string_view url, std::string_view& media_type, std::string_view& data) {
  size_t comma = url.find(',');
  std::string_view meta = url.substr(0, comma);
  if (!url.starts_with("data:") || comma == std::string_view::npos || meta.size() <= 12 ||
      meta.substr(meta.size() - 7) != ";base64")
    return false;
  media_type = meta.substr(5, meta.size() - 12);
  data = url.substr(comma + 1);
  return true;
}

// One entry of an assistant message's tool_calls.
struct ToolCallFields {
  std::string_view id, name, arguments;  // arguments: a string of JSON, as OpenAI carries them
};

inline Expected<ToolCallFields, Error> read_tool_call(simdjson::dom::element call, const FieldPath& call_path) {
  ToolCallFields f;
  if (call["id"].get_string().get(f.id)) return invalid_at(call_path / ".id", " is required", "missing_required_parameter");
  if (call["function"]["name"].get_string().get(f.name))
    return invalid_at(call_path / ".function.name", " is required", "missing_required_parameter");
  json::read_optional(call["function"]["arguments"].get_string(), f.arguments);
  return f;
}

// One entry of an assistant message's thinking_blocks (LiteLLM's field for Claude's signed
// reasoning, as llmux's answers carry it): {"type":"thinking","thinking","signature"} or
// {"type":"redacted_thinking","data"}, given back unchanged so that Claude can check them.
struct ThinkingBlock {
  bool redacted = false;
  std::string_view thinking, signature;  // a thinking block
  std::string_view data;                 // a redacted_thinking block
};

inline Expected<ThinkingBlock, Error> read_thinking_block(simdjson::dom::element block, const FieldPath& path) {
  ThinkingBlock b;
  std::string_view type;
  if (block["type"].get_string().get(type)) return invalid_at(path / ".type", " is required", "missing_required_parameter");
  if (type == "redacted_thinking") {
    b.redacted = true;
    if (block["data"].get_string().get(b.data) || b.data.empty())
      return invalid_at(path / ".data", " is required (the redacted block's data as the answer carried it)",
                        "missing_required_parameter");
    return b;
  }
  if (type != "thinking") return invalid_at(path / ".type", " must be thinking or redacted_thinking", "invalid_value");
  json::read_optional(block["thinking"].get_string(), b.thinking);
  if (block["signature"].get_string().get(b.signature) || b.signature.empty())
    return invalid_at(path / ".signature", " is required (Claude checks the signature of the thinking it is given back)",
                      "missing_required_parameter");
  return b;
}

// Calls on_block(block) for each entry of the message's thinking_blocks, checked; nothing when
// it has none.
template <typename OnBlock>
Expected<void, Error> for_each_thinking_block(simdjson::dom::element message, const FieldPath& message_path,
                                              OnBlock&& on_block) {
  simdjson::dom::element value;
  if (message["thinking_blocks"].get(value) || value.is_null()) return {};
  FieldPath path = message_path / ".thinking_blocks";
  simdjson::dom::array blocks;
  if (value.get_array().get(blocks)) return invalid_at(path, " must be an array of thinking blocks", "invalid_type");
  size_t k = 0;
  for (simdjson::dom::element block : blocks) {
    auto read = read_thinking_block(block, path[k++]);
    if (!read) return unexpected(std::move(read).error());
    on_block(*read);
  }
  return {};
}

// One entry of the request's tools: a function.
struct FunctionTool {
  std::string_view name;
  std::string_view description;  // empty when absent
  bool has_description = false;
  simdjson::dom::element parameters;  // valid when has_parameters
  bool has_parameters = false;        // an object schema was given
};

inline Expected<FunctionTool, Error> read_function_tool(simdjson::dom::element tool, const FieldPath& path) {
  FunctionTool t;
  std::string_view type = "function";
  json::read_optional(tool["type"].get_string(), type);
  if (type != "function") return invalid_at(path / ".type", " '" + std::string(type) + "' is not supported (use function)");
  simdjson::dom::element function;
  if (tool["function"].get(function) || function["name"].get_string().get(t.name))
    return invalid_at(path / ".function.name", " is required", "missing_required_parameter");
  t.has_description = !function["description"].get_string().get(t.description);
  t.has_parameters = !function["parameters"].get(t.parameters) && t.parameters.is_object();
  return t;
}

// An embeddings request's `input`: a string, or a non-empty array of strings (token arrays are
// refused by adapters whose providers take text only).
inline Expected<simdjson::dom::element, Error> read_text_input(simdjson::dom::object request, std::string_view provider) {
  simdjson::dom::element input;
  if (request["input"].get(input)) return invalid("'input' is required", "input", "missing_required_parameter");
  if (input.is_string()) return input;
  simdjson::dom::array items;
  bool strings = !input.get_array().get(items) && items.size() > 0;
  if (strings)
    for (simdjson::dom::element item : items) strings = strings && item.is_string();
  if (!strings)
    return invalid("'input' must be a string or an array of strings for " + std::string(provider) +
                       " models (token arrays are not supported)",
                   "input", "invalid_value");
  std::string_view encoding;
  if (!request["encoding_format"].get_string().get(encoding) && encoding != "float")
    return invalid("'encoding_format' " + std::string(encoding) + " is not supported for " + std::string(provider) +
                       " models (float is)",
                   "encoding_format", "invalid_value");
  return input;
}

// max_completion_tokens, or else max_tokens, when the request gives one.
inline std::optional<int64_t> read_max_tokens(simdjson::dom::object request) {
  int64_t n;
  if (!request["max_completion_tokens"].get_int64().get(n) || !request["max_tokens"].get_int64().get(n)) return n;
  return std::nullopt;
}

// `stop` as an array of strings (one string becomes an array of it), after on_present() has
// written the member's name; nothing when the request has none.
template <typename OnPresent>
Expected<void, Error> write_stop_array(simdjson::dom::object request, std::string& out, OnPresent&& on_present) {
  simdjson::dom::element stop;
  if (request["stop"].get(stop) || stop.is_null()) return {};
  std::string_view one;
  if (!stop.get_string().get(one)) {
    on_present();
    out += '[';
    append_json_string(out, one);
    out += ']';
  } else if (stop.is_array()) {
    on_present();
    append_value(out, stop);
  } else {
    return invalid("'stop' must be a string or an array of strings", "stop", "invalid_type");
  }
  return {};
}

// Calls on_tool(tool, first) for each function tool of the request's `tools` array, checked.
template <typename OnTool>
Expected<void, Error> for_each_function_tool(simdjson::dom::array tools, OnTool&& on_tool) {
  size_t k = 0;
  for (simdjson::dom::element tool : tools) {
    auto function = read_function_tool(tool, kTools[k]);
    if (!function) return unexpected(std::move(function).error());
    on_tool(*function, k++ == 0);
  }
  return {};
}

// "name":…[,"description":…], as most providers name a function's fields.
inline void append_name_and_description(std::string& out, const FunctionTool& function) {
  out += "\"name\":";
  append_json_string(out, function.name);
  if (function.has_description) {
    out += ",\"description\":";
    append_json_string(out, function.description);
  }
}

// tool_choice: mode is "none", "auto", "required" or "function" (with the function's name);
// "auto" when the request has none.
struct ToolChoice {
  std::string_view mode = "auto";
  std::string_view name;
};

inline Expected<ToolChoice, Error> read_tool_choice(simdjson::dom::object request) {
  ToolChoice c;
  simdjson::dom::element choice;
  if (request["tool_choice"].get(choice) || choice.is_null()) return c;
  if (choice.get_string().get(c.mode)) {
    if (choice["function"]["name"].get_string().get(c.name))
      return invalid("'tool_choice' must be none, auto, required or {\"type\":\"function\",\"function\":{\"name\":…}}",
                     "tool_choice", "invalid_value");
    c.mode = "function";
  }
  if (c.mode != "none" && c.mode != "auto" && c.mode != "required" && c.mode != "function")
    return invalid("'tool_choice' must be none, auto, required or a function", "tool_choice", "invalid_value");
  return c;
}

// parallel_tool_calls false, for a provider that cannot keep a model to one call per turn.
inline Expected<void, Error> refuse_serial_tool_calls(simdjson::dom::object request, std::string_view provider) {
  bool parallel = true;
  if (!request["parallel_tool_calls"].get_bool().get(parallel) && !parallel)
    return invalid("'parallel_tool_calls': false cannot be expressed for " + std::string(provider) + " models",
                   "parallel_tool_calls");
  return {};
}

// reasoning_effort, OpenAI's levels. "none" asks for no reasoning at all.
enum class ReasoningEffort { none, minimal, low, medium, high };

constexpr std::pair<std::string_view, ReasoningEffort> kReasoningEfforts[] = {
    {"none", ReasoningEffort::none}, {"minimal", ReasoningEffort::minimal}, {"low", ReasoningEffort::low},
    {"medium", ReasoningEffort::medium}, {"high", ReasoningEffort::high}};

constexpr std::string_view reasoning_effort_name(ReasoningEffort effort) noexcept {
  for (const auto& [name, level] : kReasoningEfforts)
    if (level == effort) return name;
  return {};
}

// The request's reasoning_effort; nullopt when it has none (or null). Any other value than
// OpenAI's levels is a 400 naming the field.
inline Expected<std::optional<ReasoningEffort>, Error> read_reasoning_effort(simdjson::dom::object request) {
  simdjson::dom::element value;
  if (request["reasoning_effort"].get(value) || value.is_null()) return std::optional<ReasoningEffort>();
  std::string_view name;
  if (!value.get_string().get(name))
    for (const auto& [level, effort] : kReasoningEfforts)
      if (name == level) return std::optional<ReasoningEffort>(effort);
  return invalid("'reasoning_effort' must be none, minimal, low, medium or high", "reasoning_effort", "invalid_value");
}

// The thinking-token budget a level stands for, where a provider takes budgets (Claude's
// thinking.budget_tokens, on Anthropic, Bedrock and Vertex; Gemini 2.5's thinkingBudget). 1024 is
// Claude's smallest budget; "none" has no budget (thinking is left off).
constexpr int64_t thinking_budget(ReasoningEffort effort) noexcept {
  switch (effort) {
    case ReasoningEffort::none: return 0;
    case ReasoningEffort::minimal:
    case ReasoningEffort::low: return 1024;
    case ReasoningEffort::medium: return 4096;
    case ReasoningEffort::high: return 16384;
  }
  return 0;
}

// Claude's extended thinking for a reasoning_effort other than "none", checked against the
// rules Anthropic sets for it: temperature unset or 1, top_k unset, top_p unset or >= 0.95, no
// forced tool use, and max_tokens (which counts the thinking) above the budget. A max_tokens the
// client gave that is not above the budget is refused; without one, `default_max_tokens` is
// raised to the budget plus `default_max_tokens`, so the answer keeps the room it had.
struct ClaudeThinking {
  int64_t budget_tokens = 0;
  int64_t max_tokens = 0;
};

inline Expected<ClaudeThinking, Error> plan_claude_thinking(simdjson::dom::object request, ReasoningEffort effort,
                                                            int64_t default_max_tokens) {
  ClaudeThinking plan;
  plan.budget_tokens = thinking_budget(effort);
  auto conflict = [](std::string_view field, std::string_view why) {
    return invalid("'" + std::string(field) + "' " + std::string(why) +
                       " with reasoning_effort on Claude models (extended thinking requires it)",
                   std::string(field));
  };
  double number = 0;
  simdjson::dom::element value;
  if (!request["temperature"].get(value) && !value.is_null() && (value.get_double().get(number) || number != 1.0))
    return conflict("temperature", "must be 1 or left out");
  if (!request["top_k"].get(value) && !value.is_null()) return conflict("top_k", "must be left out");
  if (!request["top_p"].get(value) && !value.is_null() && (value.get_double().get(number) || number < 0.95))
    return conflict("top_p", "must be at least 0.95 or left out");
  simdjson::dom::array tools;
  bool has_tools = !request["tools"].get_array().get(tools) && tools.size() > 0;
  auto choice = read_tool_choice(request);
  if (!choice) return unexpected(std::move(choice).error());
  if (has_tools && (choice->mode == "required" || choice->mode == "function"))
    return conflict("tool_choice", "cannot force a tool call");
  if (auto given = read_max_tokens(request)) {
    if (*given <= plan.budget_tokens)
      return invalid("'max_tokens' " + std::to_string(*given) + " leaves no room for the answer: reasoning_effort '" +
                         std::string(reasoning_effort_name(effort)) + "' gives Claude a thinking budget of " + std::to_string(plan.budget_tokens) +
                         " tokens, which max_tokens includes (raise max_tokens or lower reasoning_effort)",
                     "max_tokens", "invalid_value");
    plan.max_tokens = *given;
  } else {
    plan.max_tokens = default_max_tokens > plan.budget_tokens ? default_max_tokens
                                                              : plan.budget_tokens + default_max_tokens;
  }
  return plan;
}

}  // namespace llmux::providers::encode
