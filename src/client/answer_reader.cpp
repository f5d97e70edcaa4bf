#include "client/answer_reader.hpp"

#include <boost/json.hpp>

namespace llmux::client_detail {

namespace bjson = boost::json;

namespace {

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Four hex digits at `at`, or -1.
int32_t hex4(std::string_view s, size_t at) {
  if (at + 4 > s.size()) return -1;
  int32_t v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

std::string_view string_member(const bjson::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

const bjson::object* object_member(const bjson::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

int64_t int_member(const bjson::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_int64() ? v->get_int64() : v && v->is_uint64() ? static_cast<int64_t>(v->get_uint64()) : 0;
}

TokenUsage openai_usage(const bjson::object& u) {
  TokenUsage t;
  t.prompt_tokens = int_member(u, "prompt_tokens");
  t.completion_tokens = int_member(u, "completion_tokens");
  t.total_tokens = int_member(u, "total_tokens");
  if (!t.total_tokens) t.total_tokens = json::add_tokens(t.prompt_tokens, t.completion_tokens);
  if (const auto* d = object_member(u, "prompt_tokens_details")) t.cached_tokens = int_member(*d, "cached_tokens");
  if (const auto* d = object_member(u, "completion_tokens_details"))
    t.reasoning_tokens = int_member(*d, "reasoning_tokens");
  return t;
}

// OpenAI names visible reasoning reasoning_content (DeepSeek, vLLM) or reasoning (OpenRouter, Groq).
std::string_view reasoning_of(const bjson::object& o) {
  auto r = string_member(o, "reasoning_content");
  return r.empty() ? string_member(o, "reasoning") : r;
}

}  // namespace

void append_unescaped(std::string_view s, std::string& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' || i + 1 >= s.size()) {
      out += c;
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'u': {
        int32_t cp = hex4(s, i + 1);
        if (cp < 0) {
          out += "\\u";
          break;
        }
        i += 4;
        // A high surrogate followed by its low half is one code point; a lone half is U+FFFD.
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 2 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
          int32_t low = hex4(s, i + 3);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        append_utf8(static_cast<uint32_t>(cp), out);
        break;
      }
      default: out += e;  // \" \\ \/
    }
  }
}

TokenUsage token_usage(const json::Usage& u) {
  return {u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens, u.reasoning_tokens};
}

// --- assembling a stream -------------------------------------------------------------------------

ToolCall& AnswerAssembler::call_at(int index) {
  if (index < 0) index = 0;
  if (out_.tool_calls.size() <= static_cast<size_t>(index)) out_.tool_calls.resize(static_cast<size_t>(index) + 1);
  return out_.tool_calls[static_cast<size_t>(index)];
}

void AnswerAssembler::text(std::string_view piece) {
  if (piece.empty()) return;
  out_.content += piece;
  StreamEvent e;
  e.text = piece;
  on_event_(e);
}

void AnswerAssembler::reasoning(std::string_view piece) {
  if (piece.empty()) return;
  out_.reasoning += piece;
  StreamEvent e;
  e.type = StreamEvent::Type::reasoning;
  e.text = piece;
  on_event_(e);
}

void AnswerAssembler::tool_call(int index, std::string_view id, std::string_view name) {
  ToolCall& call = call_at(index);
  if (!id.empty()) call.id = id;
  if (!name.empty()) call.name = name;
  StreamEvent e;
  e.type = StreamEvent::Type::tool_call;
  e.tool_index = index;
  e.tool_call_id = call.id;
  e.tool_name = call.name;
  on_event_(e);
}

void AnswerAssembler::tool_arguments(int index, std::string_view piece) {
  if (piece.empty()) return;
  call_at(index).arguments += piece;
  StreamEvent e;
  e.type = StreamEvent::Type::tool_arguments;
  e.tool_index = index;
  e.text = piece;
  on_event_(e);
}

void AnswerAssembler::finish(std::string_view reason) {
  out_.finish_reason = reason;
  StreamEvent e;
  e.type = StreamEvent::Type::finish;
  e.text = out_.finish_reason;
  on_event_(e);
}

void AnswerAssembler::usage(const TokenUsage& usage) {
  out_.usage = usage;
  StreamEvent e;
  e.type = StreamEvent::Type::usage;
  e.usage = usage;
  on_event_(e);
}

void CanonicalStreamReader::on_event(const providers::StreamEvent& e) {
  using Kind = providers::StreamEvent::Kind;
  auto unescaped = [&](std::string_view text) -> std::string_view {
    scratch_.clear();
    append_unescaped(text, scratch_);
    return scratch_;
  };
  switch (e.kind) {
    case Kind::start:
      if (out_.id.empty()) out_.id = e.id;
      if (out_.model.empty()) out_.model = e.model;
      break;
    case Kind::text: assembler_.text(unescaped(e.text)); break;
    case Kind::reasoning: assembler_.reasoning(unescaped(e.text)); break;
    case Kind::reasoning_signature:
    case Kind::redacted_reasoning: break;  // the library's answer carries visible reasoning only
    case Kind::tool_call: {
      std::string name;
      append_unescaped(e.name, name);
      assembler_.tool_call(e.tool_index, e.id, name);
      break;
    }
    case Kind::tool_arguments: assembler_.tool_arguments(e.tool_index, unescaped(e.text)); break;
    case Kind::finish: assembler_.finish(providers::finish_reason_name(e.finish)); break;
    case Kind::usage: assembler_.usage(token_usage(e.usage)); break;
    case Kind::done: done_ = true; break;
    case Kind::error: {
      std::string message;
      append_unescaped(e.text, message);
      error_.emplace(std::string(e.error_type), std::move(message));
      break;
    }
  }
}

bool read_openai_chunk(std::string_view data, ChatResponse& out, AnswerAssembler& assembler) {
  boost::system::error_code ec;
  auto v = bjson::parse(data, ec);
  const auto* chunk = ec ? nullptr : v.if_object();
  if (!chunk) return true;  // an unreadable event carries nothing to keep
  if (chunk->contains("error")) return false;
  if (out.id.empty()) out.id = string_member(*chunk, "id");
  if (out.model.empty()) out.model = string_member(*chunk, "model");
  if (const auto* choices = chunk->if_contains("choices"); choices && choices->is_array() && !choices->get_array().empty())
    if (const auto* choice = choices->get_array()[0].if_object()) {
      if (const auto* delta = object_member(*choice, "delta")) {
        assembler.reasoning(reasoning_of(*delta));
        assembler.text(string_member(*delta, "content"));
        if (const auto* calls = delta->if_contains("tool_calls"); calls && calls->is_array())
          for (const auto& item : calls->get_array()) {
            const auto* call = item.if_object();
            if (!call) continue;
            int index = static_cast<int>(int_member(*call, "index"));
            const auto* function = object_member(*call, "function");
            std::string_view id = string_member(*call, "id");
            std::string_view name = function ? string_member(*function, "name") : std::string_view();
            if (!id.empty() || !name.empty()) assembler.tool_call(index, id, name);
            if (function) assembler.tool_arguments(index, string_member(*function, "arguments"));
          }
      }
      if (auto finish = string_member(*choice, "finish_reason"); !finish.empty()) assembler.finish(finish);
    }
  if (const auto* usage = object_member(*chunk, "usage")) assembler.usage(openai_usage(*usage));
  return true;
}

bool read_openai_completion(std::string_view body, ChatResponse& out) {
  boost::system::error_code ec;
  auto v = bjson::parse(body, ec);
  const auto* root = ec ? nullptr : v.if_object();
  if (!root) return false;
  out.id = string_member(*root, "id");
  out.model = string_member(*root, "model");
  if (const auto* choices = root->if_contains("choices"); choices && choices->is_array() && !choices->get_array().empty())
    if (const auto* choice = choices->get_array()[0].if_object()) {
      out.finish_reason = string_member(*choice, "finish_reason");
      if (const auto* message = object_member(*choice, "message")) {
        out.content = string_member(*message, "content");
        out.reasoning = reasoning_of(*message);
        if (const auto* calls = message->if_contains("tool_calls"); calls && calls->is_array())
          for (const auto& item : calls->get_array()) {
            const auto* call = item.if_object();
            if (!call) continue;
            ToolCall c;
            c.id = string_member(*call, "id");
            if (const auto* function = object_member(*call, "function")) {
              c.name = string_member(*function, "name");
              c.arguments = string_member(*function, "arguments");
            }
            out.tool_calls.push_back(std::move(c));
          }
      }
    }
  if (const auto* usage = object_member(*root, "usage")) out.usage = openai_usage(*usage);
  return true;
}

void read_canonical_completion(const providers::ChatResponse& in, ChatResponse& out) {
  out.id = in.id;
  out.model.clear();
  append_unescaped(in.model, out.model);
  for (auto piece : in.text) append_unescaped(piece, out.content);
  for (auto piece : in.reasoning) append_unescaped(piece, out.reasoning);
  for (const auto& call : in.tool_calls) {
    ToolCall c;
    c.id = call.id;
    append_unescaped(call.name, c.name);
    c.arguments = call.arguments_json;
    out.tool_calls.push_back(std::move(c));
  }
  out.finish_reason = providers::finish_reason_name(in.finish);
  out.usage = token_usage(in.usage);
}

}  // namespace llmux::client_detail
