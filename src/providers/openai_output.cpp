#include "providers/openai_output.hpp"

#include "governance/cost.hpp"
#include "governance/prices.hpp"

#include <charconv>

#include "core/json_text.hpp"
#include "providers/output_support.hpp"

namespace llmux::providers {

namespace {

using output::append_number;
using output::append_quoted;

void append_usage(std::string& out, const json::Usage& u) {
  out += "{\"prompt_tokens\":";
  append_number(out, u.prompt_tokens);
  out += ",\"completion_tokens\":";
  append_number(out, u.completion_tokens);
  out += ",\"total_tokens\":";
  append_number(out, u.total_tokens ? u.total_tokens : json::add_tokens(u.prompt_tokens, u.completion_tokens));
  // OpenAI's detail objects, so a client sees cache reads and writes whichever provider answered.
  if (u.cached_tokens || u.cache_write_tokens) {
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    append_number(out, u.cached_tokens);
    if (u.cache_write_tokens) {
      out += ",\"cache_write_tokens\":";
      append_number(out, u.cache_write_tokens);
    }
    out += '}';
  }
  if (u.reasoning_tokens) {
    out += ",\"completion_tokens_details\":{\"reasoning_tokens\":";
    append_number(out, u.reasoning_tokens);
    out += '}';
  }
  out += '}';
}

void append_finish(std::string& out, FinishReason reason) {
  if (reason == FinishReason::none) {
    out += "null";
  } else {
    out += '"';
    out += finish_reason_name(reason);
    out += '"';
  }
}

}  // namespace

std::string_view finish_reason_name(FinishReason reason) noexcept {
  switch (reason) {
    case FinishReason::none: return "";
    case FinishReason::stop: return "stop";
    case FinishReason::length: return "length";
    case FinishReason::tool_calls: return "tool_calls";
    case FinishReason::content_filter: return "content_filter";
  }
  return "";
}

namespace {

// Claude's signed reasoning and its redacted blocks as LiteLLM's thinking_blocks carry them, for
// a chat client to give back on the assistant message of its next turn (a tool loop with
// thinking on needs them). Nothing when the provider signed nothing.
void append_thinking_blocks(std::string& out, const ChatResponse& r) {
  if (r.reasoning_signature.empty() && r.redacted_reasoning.empty()) return;
  out += ",\"thinking_blocks\":[";
  bool first = true;
  if (!r.reasoning_signature.empty()) {
    out += "{\"type\":\"thinking\",\"thinking\":\"";
    for (auto piece : r.reasoning) out += piece;
    out += "\",\"signature\":\"";
    out += r.reasoning_signature;
    out += "\"}";
    first = false;
  }
  for (auto data : r.redacted_reasoning) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"type\":\"redacted_thinking\",\"data\":\"";
    out += data;
    out += "\"}";
  }
  out += ']';
}

}  // namespace

void write_chat_completion(const ChatResponse& r, int64_t created, std::string& out) {
  out += "{\"id\":";
  append_quoted(out, r.id);
  out += ",\"object\":\"chat.completion\",\"created\":";
  append_number(out, created);
  out += ",\"model\":";
  append_quoted(out, r.model);
  out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
  if (r.text.empty()) {
    out += "null";
  } else {
    out += '"';
    for (auto piece : r.text) out += piece;
    out += '"';
  }
  if (!r.reasoning.empty()) {
    out += ",\"reasoning_content\":\"";
    for (auto piece : r.reasoning) out += piece;
    out += '"';
  }
  append_thinking_blocks(out, r);
  if (!r.tool_calls.empty()) {
    out += ",\"tool_calls\":[";
    for (size_t i = 0; i < r.tool_calls.size(); ++i) {
      const ToolCall& call = r.tool_calls[i];
      if (i) out += ',';
      out += "{\"id\":";
      append_quoted(out, call.id);
      out += ",\"type\":\"function\",\"function\":{\"name\":";
      append_quoted(out, call.name);
      out += ",\"arguments\":";
      append_json_string(out, call.arguments_json);
      out += "}}";
    }
    out += ']';
  }
  out += ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":";
  append_finish(out, r.finish);
  out += "}],\"usage\":";
  append_usage(out, r.usage);
  out += '}';
}

void OpenAIChunkWriter::default_model(std::string_view model) {
  default_model_.clear();
  append_json_string(default_model_, model);
  default_model_ = default_model_.substr(1, default_model_.size() - 2);
}

void OpenAIChunkWriter::begin(std::string* out, int64_t created, bool include_usage) {
  out_ = out;
  id_.clear();
  model_.clear();
  default_model_.clear();
  created_ = created;
  include_usage_ = include_usage;
  done_ = failed_ = false;
  usage_ = {};
  prices_ = nullptr;
  text_bytes_ = 0;
}

void OpenAIChunkWriter::open_chunk() {
  std::string& out = *out_;
  out += "data: {\"id\":\"";
  out += id_;
  out += "\",\"object\":\"chat.completion.chunk\",\"created\":";
  append_number(out, created_);
  out += ",\"model\":\"";
  out += model_;
  out += "\",\"choices\":[";
}

void OpenAIChunkWriter::open_delta() {
  open_chunk();
  *out_ += "{\"index\":0,\"delta\":{";
}

void OpenAIChunkWriter::close_delta(FinishReason finish) {
  std::string& out = *out_;
  out += "},\"logprobs\":null,\"finish_reason\":";
  append_finish(out, finish);
  out += "}]}\n\n";
}

void OpenAIChunkWriter::on_event(const StreamEvent& e) {
  if (ended()) return;
  std::string& out = *out_;
  using Kind = StreamEvent::Kind;
  if (e.kind == Kind::text || e.kind == Kind::reasoning || e.kind == Kind::tool_arguments) text_bytes_ += e.text.size();
  switch (e.kind) {
    case Kind::start:
      id_.assign(e.id);
      model_.assign(e.model.empty() ? std::string_view(default_model_) : e.model);
      open_delta();
      out += "\"role\":\"assistant\",\"content\":\"\"";
      close_delta();
      break;
    case Kind::text:
      if (e.text.empty()) return;
      open_delta();
      out += "\"content\":\"";
      out += e.text;
      out += '"';
      close_delta();
      break;
    case Kind::reasoning:
      if (e.text.empty()) return;
      open_delta();
      out += "\"reasoning_content\":\"";
      out += e.text;
      out += '"';
      close_delta();
      break;
    // Signed and redacted reasoning as LiteLLM's thinking_blocks carry them: the signature closes
    // the reasoning_content streamed since the previous one.
    case Kind::reasoning_signature:
      if (e.text.empty()) return;
      open_delta();
      out += "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"";
      out += e.text;
      out += "\"}]";
      close_delta();
      break;
    case Kind::redacted_reasoning:
      if (e.text.empty()) return;
      open_delta();
      out += "\"thinking_blocks\":[{\"type\":\"redacted_thinking\",\"data\":\"";
      out += e.text;
      out += "\"}]";
      close_delta();
      break;
    case Kind::tool_call:
      open_delta();
      out += "\"tool_calls\":[{\"index\":";
      append_number(out, e.tool_index);
      out += ",\"id\":";
      append_quoted(out, e.id);
      out += ",\"type\":\"function\",\"function\":{\"name\":";
      append_quoted(out, e.name);
      out += ",\"arguments\":\"\"}}]";
      close_delta();
      break;
    case Kind::tool_arguments:
      if (e.text.empty()) return;
      open_delta();
      out += "\"tool_calls\":[{\"index\":";
      append_number(out, e.tool_index);
      out += ",\"function\":{\"arguments\":\"";
      out += e.text;
      out += "\"}}]";
      close_delta();
      break;
    case Kind::finish:
      open_delta();
      close_delta(e.finish);
      break;
    case Kind::usage:
      usage_ = e.usage;
      if (!usage_.total_tokens) usage_.total_tokens = json::add_tokens(usage_.prompt_tokens, usage_.completion_tokens);
      break;
    case Kind::done:
      if (include_usage_) {
        open_chunk();
        out += "],\"usage\":";
        append_usage(out, usage_);
        if (prices_) {  // inside the usage object: drop its closing brace, add the cost, close again
          out.pop_back();
          out += ",\"cost_usd\":";
          governance::append_usd_nanos(out, governance::request_cost(usage_, *prices_, {request_body_, {}, text_bytes_}).nano_usd);
          out += '}';
        }
        out += "}\n\n";
      }
      out += "data: [DONE]\n\n";
      done_ = true;
      break;
    case Kind::error:
      out += "data: {\"error\":{\"message\":\"";
      out += e.text;
      out += "\",\"type\":\"";
      out += e.error_type.empty() ? std::string_view("upstream_error") : e.error_type;
      out += "\",\"param\":null,\"code\":null}}\n\n";
      failed_ = true;
      break;
  }
}

void OpenAIChunkWriter::fail(const Error& error) {
  if (ended()) return;
  *out_ += "data: ";
  *out_ += to_openai_json(error);
  *out_ += "\n\n";
  failed_ = true;
}

}  // namespace llmux::providers
