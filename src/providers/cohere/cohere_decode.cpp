// Cohere v2 chat bodies and SSE streams into canonical form (chat_events.hpp), and v2 embed bodies
// into OpenAI's embeddings answer. A stream's events carry their kind in "type"; message-end ends it
// with the finish reason and usage. A finish reason ERROR or TIMEOUT is the provider failing: an
// error event, never a clean end. A stream that stops before message-end is reported by the server
// as a stream that ended early.
#include <simdjson.h>

#include "core/json_text.hpp"
#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"
#include "providers/cohere/cohere.hpp"
#include "providers/decode_support.hpp"

namespace llmux::providers {

namespace {

namespace od = simdjson::ondemand;
using decode::escaped_string;
using decode::for_each_item;
using decode::for_each_member;
using decode::integer;

Error malformed(std::string_view what) {
  Error e = Error::make(ErrorKind::upstream_error, "Cohere sent a malformed " + std::string(what), {},
                        "upstream_malformed_response");
  e.http_status = 502;
  return e;
}

FinishReason finish_reason(std::string_view reason) {
  if (reason == "MAX_TOKENS") return FinishReason::length;
  if (reason == "TOOL_CALL") return FinishReason::tool_calls;
  return FinishReason::stop;  // COMPLETE, STOP_SEQUENCE and newer reasons
}

bool is_failure(std::string_view reason) { return reason == "ERROR" || reason == "TIMEOUT"; }

// usage: billed_units when present (what Cohere charges for), else tokens; cached_tokens (prompt
// tokens that hit Cohere's cache) as prompt_tokens_details.cached_tokens.
struct CohereUsage {
  int64_t billed_in = 0, billed_out = 0, tokens_in = 0, tokens_out = 0, cached = 0;
  bool billed = false, tokens = false;

  simdjson::error_code read(od::value usage) {
    return for_each_member(usage, [this](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "cached_tokens") {
        cached = integer(value);
        return simdjson::SUCCESS;
      }
      bool is_billed = key == "billed_units";
      if (!is_billed && key != "tokens") return simdjson::SUCCESS;
      (is_billed ? billed : tokens) = true;
      return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
        if (k == "input_tokens") (is_billed ? billed_in : tokens_in) = integer(v);
        if (k == "output_tokens") (is_billed ? billed_out : tokens_out) = integer(v);
        return simdjson::SUCCESS;
      });
    });
  }
  json::Usage canonical() const {
    json::Usage u;
    u.prompt_tokens = billed ? billed_in : tokens_in;
    u.completion_tokens = billed ? billed_out : tokens_out;
    u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
    u.cached_tokens = cached;
    u.reported = billed || tokens;
    return u;
  }
};

struct CohereCall {
  std::string_view id, name;  // escaped
  std::string_view arguments;  // unescaped JSON text (a string value in Cohere's JSON)
  bool has_arguments = false;
};

// What one event (or a whole body) says.
struct EventFields {
  std::string_view type, id, finish, text, thinking, tool_plan;  // escaped but type, finish
  CohereCall call;
  bool has_call = false;
  CohereUsage usage;
};

class CohereDecoder final : public ResponseDecoder {
 public:
  void reset() override {
    finished_ = started_ = false;
    tool_count_ = 0;
    open_call_ = -1;
  }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    if (event.data.empty() || finished_) return {};
    EventFields f;
    if (read_event(event.data, f)) return unexpected(malformed("stream event"));
    using Kind = StreamEvent::Kind;
    StreamEvent out;
    if (!started_ && f.type != "message-start") return unexpected(malformed("stream (no message-start)"));
    if (f.type == "message-start") {
      if (started_) return {};
      started_ = true;
      out.kind = Kind::start;
      out.id = f.id;
      sink.on_event(out);
    } else if (f.type == "content-delta") {
      if (!f.thinking.empty()) emit(Kind::reasoning, f.thinking, sink);
      if (!f.text.empty()) emit(Kind::text, f.text, sink);
    } else if (f.type == "tool-plan-delta") {
      if (!f.tool_plan.empty()) emit(Kind::reasoning, f.tool_plan, sink);
    } else if (f.type == "tool-call-start") {
      if (open_call_ >= 0 || !f.has_call || f.call.name.empty()) return unexpected(malformed("tool-call-start"));
      out.kind = Kind::tool_call;
      open_call_ = out.tool_index = tool_count_++;
      out.id = f.call.id;
      out.name = f.call.name;
      sink.on_event(out);
      checker_.reset();
      if (f.call.has_arguments) return emit_arguments(f.call.arguments, sink);
    } else if (f.type == "tool-call-delta") {
      if (open_call_ < 0) return unexpected(malformed("tool-call-delta (no tool call open)"));
      if (f.has_call && f.call.has_arguments) return emit_arguments(f.call.arguments, sink);
    } else if (f.type == "tool-call-end") {
      if (open_call_ < 0) return unexpected(malformed("tool-call-end (no tool call open)"));
      // Arguments that never started are an empty object, as OpenAI sends for a call without any.
      if (checker_.blank()) {
        if (auto done = emit_arguments("{}", sink); !done) return done;
      }
      if (!checker_.finish()) return unexpected(malformed("tool call arguments"));
      open_call_ = -1;
    } else if (f.type == "message-end") {
      if (open_call_ >= 0) return unexpected(malformed("stream (it ended inside a tool call)"));
      finished_ = true;
      if (is_failure(f.finish)) {
        out.kind = Kind::error;
        out.error_type = "upstream_error";
        out.text = f.finish == "TIMEOUT" ? std::string_view("the provider timed out generating the answer")
                                         : std::string_view("the provider failed generating the answer");
        sink.on_event(out);
        return {};
      }
      out.kind = Kind::finish;
      out.finish = finish_reason(f.finish);
      sink.on_event(out);
      out.kind = Kind::usage;
      out.usage = f.usage.canonical();
      sink.on_event(out);
      out.kind = Kind::done;
      sink.on_event(out);
    }
    return {};  // content-start/-end, citations and newer kinds carry nothing to translate
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    out.clear();
    body_calls_.clear();
    body_text_.clear();
    body_thinking_.clear();
    EventFields f;
    if (read_body(body, f)) return unexpected(malformed("response"));
    if (is_failure(f.finish)) return unexpected(malformed("response (finish_reason " + std::string(f.finish) + ")"));
    out.id = f.id;
    for (auto piece : body_thinking_) out.reasoning.push_back(piece);
    if (!f.tool_plan.empty()) out.reasoning.push_back(f.tool_plan);
    for (auto piece : body_text_) out.text.push_back(piece);
    for (const CohereCall& call : body_calls_) {
      std::string_view arguments = call.arguments;
      if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos) arguments = "{}";
      if (call.name.empty() || !is_object_text(arguments)) return unexpected(malformed("tool call"));
      out.tool_calls.push_back(ToolCall{call.id, call.name, arguments});
    }
    out.finish = finish_reason(f.finish);
    out.usage = f.usage.canonical();
    return {};
  }

  Expected<void, Error> decode_embeddings(std::string_view body, std::string_view model, std::string& out,
                                          json::Usage& usage) override {
    od::document doc;
    od::value response;
    CohereUsage counts;
    bool listed = false;
    size_t index = 0;
    out += "{\"object\":\"list\",\"data\":[";
    auto ec = parser_.iterate(json::padded_copy(body, buffer_)).get(doc);
    if (!ec) ec = doc.get_value().get(response);
    if (!ec) {
      ec = for_each_member(response, [&](std::string_view key, od::value value) -> simdjson::error_code {
        if (key == "meta") {
          return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
            if (k != "billed_units") return simdjson::SUCCESS;
            counts.billed = true;
            return for_each_member(v, [&](std::string_view u, od::value n) -> simdjson::error_code {
              if (u == "input_tokens") counts.billed_in = integer(n);
              return simdjson::SUCCESS;
            });
          });
        }
        if (key != "embeddings") return simdjson::SUCCESS;
        return for_each_member(value, [&](std::string_view kind, od::value vectors) -> simdjson::error_code {
          if (kind != "float") return simdjson::SUCCESS;
          listed = true;
          return for_each_item(vectors, [&](od::value vector) { return decode::append_embedding(vector, index++, out); });
        });
      });
    }
    if (ec || !listed) return unexpected(malformed("embeddings response"));
    usage = counts.canonical();
    out += "],\"model\":";
    append_json_string(out, model);
    out += ",\"usage\":{\"prompt_tokens\":";
    out += std::to_string(usage.prompt_tokens);
    out += ",\"total_tokens\":";
    out += std::to_string(usage.prompt_tokens);
    out += "}}";
    return {};
  }

 private:
  static bool is_object_text(std::string_view text) {
    size_t first = text.find_first_not_of(" \t\r\n");
    return first != std::string_view::npos && text[first] == '{' && !json::check_json(text);
  }

  static void emit(StreamEvent::Kind kind, std::string_view text, StreamSink& sink) {
    StreamEvent out;
    out.kind = kind;
    out.text = text;
    sink.on_event(out);
  }

  // A piece of a call's arguments (unescaped JSON text) → an escaped piece of OpenAI's string,
  // checked as part of one JSON object.
  Expected<void, Error> emit_arguments(std::string_view piece, StreamSink& sink) {
    if (piece.empty()) return {};
    if (!checker_.feed(piece)) return unexpected(malformed("tool call arguments"));
    escaped_.clear();
    append_json_string(escaped_, piece);
    StreamEvent out;
    out.kind = StreamEvent::Kind::tool_arguments;
    out.tool_index = open_call_;
    out.text = std::string_view(escaped_).substr(1, escaped_.size() - 2);
    sink.on_event(out);
    return {};
  }

  simdjson::error_code read_call(od::value value, CohereCall& call) {
    return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
      if (k == "id") return escaped_string(v, call.id);
      if (k != "function") return simdjson::SUCCESS;
      return for_each_member(v, [&](std::string_view fk, od::value fv) -> simdjson::error_code {
        if (fk == "name") return escaped_string(fv, call.name);
        if (fk == "arguments") {
          call.has_arguments = true;
          return fv.get_string().get(call.arguments);
        }
        return simdjson::SUCCESS;
      });
    });
  }

  // delta.message of a stream event.
  simdjson::error_code read_delta_message(od::value message, EventFields& f) {
    return for_each_member(message, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "tool_plan") return escaped_string(value, f.tool_plan);
      if (key == "content") {
        od::json_type type;
        if (auto ec = value.type().get(type)) return ec;
        if (type != od::json_type::object) return simdjson::SUCCESS;  // message-start's empty list
        return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
          if (k == "text") return escaped_string(v, f.text);
          if (k == "thinking") return escaped_string(v, f.thinking);
          return simdjson::SUCCESS;
        });
      }
      if (key == "tool_calls") {
        od::json_type type;
        if (auto ec = value.type().get(type)) return ec;
        if (type != od::json_type::object) return simdjson::SUCCESS;  // message-start's empty list
        f.has_call = true;
        return read_call(value, f.call);
      }
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code read_event(std::string_view text, EventFields& f) {
    od::document doc;
    od::value root;
    if (auto ec = parser_.iterate(json::padded_copy(text, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(root)) return ec;
    return for_each_member(root, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "type") return value.get_string().get(f.type);
      if (key == "id") return escaped_string(value, f.id);
      if (key != "delta") return simdjson::SUCCESS;
      return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
        if (k == "message") return read_delta_message(v, f);
        if (k == "finish_reason") return v.get_string().get(f.finish);
        if (k == "usage") return f.usage.read(v);
        return simdjson::SUCCESS;
      });
    });
  }

  simdjson::error_code read_body(std::string_view text, EventFields& f) {
    od::document doc;
    od::value root;
    if (auto ec = parser_.iterate(json::padded_copy(text, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(root)) return ec;
    return for_each_member(root, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "id") return escaped_string(value, f.id);
      if (key == "finish_reason") return value.get_string().get(f.finish);
      if (key == "usage") return f.usage.read(value);
      if (key != "message") return simdjson::SUCCESS;
      return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
        if (k == "tool_plan") return escaped_string(v, f.tool_plan);
        if (k == "tool_calls") {
          od::json_type type;
          if (auto ec = v.type().get(type)) return ec;
          if (type == od::json_type::null) return simdjson::SUCCESS;
          return for_each_item(v, [&](od::value call) { return read_call(call, body_calls_.emplace_back()); });
        }
        if (k != "content") return simdjson::SUCCESS;
        od::json_type type;
        if (auto ec = v.type().get(type)) return ec;
        if (type == od::json_type::null) return simdjson::SUCCESS;
        return for_each_item(v, [&](od::value part) -> simdjson::error_code {
          std::string_view part_type, part_text, part_thinking;
          auto ec = for_each_member(part, [&](std::string_view pk, od::value pv) -> simdjson::error_code {
            if (pk == "type") return pv.get_string().get(part_type);
            if (pk == "text") return escaped_string(pv, part_text);
            if (pk == "thinking") return escaped_string(pv, part_thinking);
            return simdjson::SUCCESS;
          });
          if (ec) return ec;
          if (part_type == "thinking") body_thinking_.push_back(part_thinking);
          else if (!part_text.empty()) body_text_.push_back(part_text);
          return simdjson::SUCCESS;
        });
      });
    });
  }

  od::parser parser_;
  std::string buffer_;
  bool started_ = false, finished_ = false;
  int tool_count_ = 0;
  int open_call_ = -1;  // the tool call whose arguments are streaming
  json::JsonChecker checker_{json::JsonChecker::kUnlimitedDepth, json::JsonChecker::Root::object};
  std::string escaped_;
  std::vector<CohereCall> body_calls_;
  std::vector<std::string_view> body_text_, body_thinking_;
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_cohere_decoder() { return std::make_unique<CohereDecoder>(); }

}  // namespace llmux::providers
