#include "providers/anthropic/anthropic_output.hpp"

#include "core/json_text.hpp"
#include "providers/output_support.hpp"

namespace llmux::providers {

namespace {

using output::append_number;
using output::append_quoted;

constexpr std::string_view kAnthropicTypes[] = {
    "invalid_request_error", "authentication_error", "permission_error", "not_found_error", "request_too_large",
    "rate_limit_error",      "api_error",            "overloaded_error", "timeout_error",   "billing_error"};

bool is_anthropic_type(std::string_view type) {
  for (auto known : kAnthropicTypes)
    if (type == known) return true;
  return false;
}

std::string_view type_for_status(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 402: return "billing_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 504: return "timeout_error";
    case 503:
    case 529: return "overloaded_error";
    default: return status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
  }
}

// Anthropic counts input apart from the cache reads and writes; the canonical prompt count holds all three.
void append_usage(std::string& out, const json::Usage& u, bool with_input) {
  out += "{";
  if (with_input) {
    int64_t input = u.prompt_tokens - u.cached_tokens - u.cache_write_tokens;
    out += "\"input_tokens\":";
    append_number(out, input < 0 ? 0 : input);
    out += ",\"cache_creation_input_tokens\":";
    append_number(out, u.cache_write_tokens);
    out += ",\"cache_read_input_tokens\":";
    append_number(out, u.cached_tokens);
    out += ',';
  }
  out += "\"output_tokens\":";
  append_number(out, u.completion_tokens);
  out += '}';
}

void append_stop_reason(std::string& out, FinishReason reason) {
  if (reason == FinishReason::none) {
    out += "null";
    return;
  }
  out += '"';
  out += anthropic_stop_reason(reason);
  out += '"';
}

void append_error_body(std::string& out, std::string_view type, std::string_view escaped_message) {
  out += "{\"type\":\"error\",\"error\":{\"type\":";
  append_quoted(out, type);
  out += ",\"message\":";
  append_quoted(out, escaped_message);
  out += "}}";
}

}  // namespace

std::string_view anthropic_error_type(const Error& error) noexcept {
  if (is_anthropic_type(error.type)) return error.type;
  return type_for_status(error.http_status);
}

std::string to_anthropic_error_json(const Error& error) {
  std::string message;
  append_json_string(message, error.message);
  std::string out;
  append_error_body(out, anthropic_error_type(error), std::string_view(message).substr(1, message.size() - 2));
  return out;
}

void append_anthropic_error_event(const Error& error, std::string& out) {
  out += "event: error\ndata: ";
  out += to_anthropic_error_json(error);
  out += "\n\n";
}

std::string_view anthropic_stop_reason(FinishReason reason) noexcept {
  switch (reason) {
    case FinishReason::length: return "max_tokens";
    case FinishReason::tool_calls: return "tool_use";
    case FinishReason::content_filter: return "refusal";
    case FinishReason::none:
    case FinishReason::stop: return "end_turn";
  }
  return "end_turn";
}

void write_anthropic_message(const ChatResponse& r, std::string& out) {
  out += "{\"id\":";
  append_quoted(out, r.id);
  out += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  append_quoted(out, r.model);
  out += ",\"content\":[";
  bool first = true;
  auto separate = [&] {
    if (!first) out += ',';
    first = false;
  };
  if (!r.reasoning.empty()) {
    separate();
    out += "{\"type\":\"thinking\",\"thinking\":\"";
    for (auto piece : r.reasoning) out += piece;
    out += "\",\"signature\":";
    append_quoted(out, r.reasoning_signature);
    out += '}';
  }
  for (EscapedText data : r.redacted_reasoning) {
    separate();
    out += "{\"type\":\"redacted_thinking\",\"data\":";
    append_quoted(out, data);
    out += '}';
  }
  if (!r.text.empty()) {
    separate();
    out += "{\"type\":\"text\",\"text\":\"";
    for (auto piece : r.text) out += piece;
    out += "\"}";
  }
  for (const ToolCall& call : r.tool_calls) {
    separate();
    out += "{\"type\":\"tool_use\",\"id\":";
    append_quoted(out, call.id);
    out += ",\"name\":";
    append_quoted(out, call.name);
    out += ",\"input\":";
    out += call.arguments_json.empty() ? std::string_view("{}") : call.arguments_json;
    out += '}';
  }
  out += "],\"stop_reason\":";
  append_stop_reason(out, r.finish);
  out += ",\"stop_sequence\":null,\"usage\":";
  append_usage(out, r.usage, true);
  out += '}';
}

// --- stream --------------------------------------------------------------------------------------

void AnthropicEventWriter::begin(std::string* out, int64_t, bool) {
  out_ = out;
  started_ = done_ = failed_ = false;
  open_ = Block::none;
  open_index_ = -1;
  next_index_ = 0;
  tool_blocks_.clear();
  finish_ = FinishReason::none;
  usage_ = {};
  text_bytes_ = 0;
}

void AnthropicEventWriter::default_model(std::string_view model) {
  default_model_.clear();
  append_json_string(default_model_, model);
  default_model_ = default_model_.substr(1, default_model_.size() - 2);
}

void AnthropicEventWriter::event_head(std::string_view name) {
  *out_ += "event: ";
  *out_ += name;
  *out_ += "\ndata: ";
}

void AnthropicEventWriter::start_message(std::string_view id, std::string_view model) {
  started_ = true;
  event_head("message_start");
  *out_ += "{\"type\":\"message_start\",\"message\":{\"id\":";
  append_quoted(*out_, id.empty() ? std::string_view("msg_llmux") : id);
  *out_ += ",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  append_quoted(*out_, model.empty() ? std::string_view(default_model_) : model);
  // The input count is known only at the end for most providers: message_delta carries it.
  *out_ += ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,"
           "\"output_tokens\":0}}}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n";
}

void AnthropicEventWriter::open_block(Block kind, const StreamEvent& e) {
  close_block();
  open_ = kind;
  open_index_ = next_index_++;
  event_head("content_block_start");
  *out_ += "{\"type\":\"content_block_start\",\"index\":";
  append_number(*out_, open_index_);
  switch (kind) {
    case Block::text: *out_ += ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"; break;
    case Block::thinking:
      *out_ += ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n";
      break;
    case Block::redacted_thinking:  // whole in its start event, as Anthropic streams it
      *out_ += ",\"content_block\":{\"type\":\"redacted_thinking\",\"data\":";
      append_quoted(*out_, e.text);
      *out_ += "}}\n\n";
      break;
    case Block::tool:
      *out_ += ",\"content_block\":{\"type\":\"tool_use\",\"id\":";
      append_quoted(*out_, e.id);
      *out_ += ",\"name\":";
      append_quoted(*out_, e.name);
      *out_ += ",\"input\":{}}}\n\n";
      break;
    case Block::none: break;
  }
}

void AnthropicEventWriter::close_block() {
  if (open_ == Block::none) return;
  event_head("content_block_stop");
  *out_ += "{\"type\":\"content_block_stop\",\"index\":";
  append_number(*out_, open_index_);
  *out_ += "}\n\n";
  open_ = Block::none;
}

void AnthropicEventWriter::delta(int index, std::string_view type, std::string_view field, EscapedText text) {
  event_head("content_block_delta");
  *out_ += "{\"type\":\"content_block_delta\",\"index\":";
  append_number(*out_, index);
  *out_ += ",\"delta\":{\"type\":\"";
  *out_ += type;
  *out_ += "\",\"";
  *out_ += field;
  *out_ += "\":";
  append_quoted(*out_, text);
  *out_ += "}}\n\n";
  if (type != "signature_delta") text_bytes_ += text.size();  // what the model wrote, not its signature
}

void AnthropicEventWriter::finish_message() {
  close_block();
  event_head("message_delta");
  *out_ += "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":";
  append_stop_reason(*out_, finish_ == FinishReason::none ? FinishReason::stop : finish_);
  *out_ += ",\"stop_sequence\":null},\"usage\":";
  append_usage(*out_, usage_, usage_.reported);
  *out_ += "}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  done_ = true;
}

void AnthropicEventWriter::on_event(const StreamEvent& e) {
  using Kind = StreamEvent::Kind;
  if (ended()) return;
  if (e.kind == Kind::start) {
    if (!started_) start_message(e.id, e.model);
    return;
  }
  if (e.kind == Kind::error) {
    close_block();
    *out_ += "event: error\ndata: ";
    append_error_body(*out_, is_anthropic_type(e.error_type) ? e.error_type : std::string_view("api_error"), e.text);
    *out_ += "\n\n";
    failed_ = true;
    return;
  }
  if (!started_) start_message({}, {});
  switch (e.kind) {
    case Kind::text:
      if (e.text.empty()) return;
      if (open_ != Block::text) open_block(Block::text, e);
      delta(open_index_, "text_delta", "text", e.text);
      return;
    case Kind::reasoning:
      if (e.text.empty()) return;
      if (open_ != Block::thinking) open_block(Block::thinking, e);
      delta(open_index_, "thinking_delta", "thinking", e.text);
      return;
    case Kind::reasoning_signature:
      // Closes the thinking block it signs; a signature without visible thinking before it (Gemini
      // signs answers it was not asked to show thoughts for) has no block to go in.
      if (open_ == Block::thinking && !e.text.empty()) delta(open_index_, "signature_delta", "signature", e.text);
      return;
    case Kind::redacted_reasoning:
      open_block(Block::redacted_thinking, e);
      close_block();
      return;
    case Kind::tool_call: {
      open_block(Block::tool, e);
      if (e.tool_index < 0 || e.tool_index > 4096) return;
      auto tool = static_cast<size_t>(e.tool_index);
      if (tool_blocks_.size() <= tool) tool_blocks_.resize(tool + 1, -1);
      tool_blocks_[tool] = open_index_;
      return;
    }
    case Kind::tool_arguments: {
      if (e.text.empty() || e.tool_index < 0 || static_cast<size_t>(e.tool_index) >= tool_blocks_.size()) return;
      int block = tool_blocks_[static_cast<size_t>(e.tool_index)];
      if (block >= 0) delta(block, "input_json_delta", "partial_json", e.text);
      return;
    }
    case Kind::finish: finish_ = e.finish; return;
    case Kind::usage: usage_ = e.usage; return;
    case Kind::done: finish_message(); return;
    case Kind::start:
    case Kind::error: return;
  }
}

void AnthropicEventWriter::fail(const Error& error) {
  if (ended()) return;
  if (out_) {
    close_block();
    append_anthropic_error_event(error, *out_);
  }
  failed_ = true;
}

}  // namespace llmux::providers
