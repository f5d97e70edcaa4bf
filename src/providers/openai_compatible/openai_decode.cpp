// OpenAI chat completions (chunks and bodies) into canonical form (chat_events.hpp), for a client
// whose own wire format is another one (the inbound /v1/messages): OpenAI and every upstream of
// its shape (Azure, Groq, Mistral, OpenRouter, vLLM, …). Strings are read as raw tokens, so text
// reaches the client still escaped, as the upstream wrote it.
#include <deque>

#include <simdjson.h>

#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"
#include "providers/decode_support.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::providers {

namespace {

namespace od = simdjson::ondemand;
using decode::escaped_string;
using decode::for_each_item;
using decode::for_each_member;
using decode::integer;

Error malformed(std::string_view what) {
  Error e = Error::make(ErrorKind::upstream_error, "the provider sent a malformed " + std::string(what), {},
                        "upstream_malformed_response");
  e.http_status = 502;
  return e;
}

FinishReason finish_reason(std::string_view name) {
  if (name == "length") return FinishReason::length;
  if (name == "tool_calls" || name == "function_call") return FinishReason::tool_calls;
  if (name == "content_filter") return FinishReason::content_filter;
  return FinishReason::stop;
}

simdjson::error_code read_usage(od::value value, json::Usage& u) {
  od::json_type type;
  if (value.type().get(type) || type != od::json_type::object) return simdjson::SUCCESS;  // "usage":null
  bool total = false;
  auto ec = for_each_member(value, [&](std::string_view key, od::value v) -> simdjson::error_code {
    if (key == "prompt_tokens") u.prompt_tokens = integer(v);
    else if (key == "completion_tokens") u.completion_tokens = integer(v);
    else if (key == "total_tokens") total = true, u.total_tokens = integer(v);
    else if (key == "prompt_cache_hit_tokens") u.cached_tokens = integer(v);  // DeepSeek's spelling
    else if (key == "prompt_tokens_details" || key == "completion_tokens_details") {
      od::json_type t;
      if (v.type().get(t) || t != od::json_type::object) return simdjson::SUCCESS;
      bool prompt = key == "prompt_tokens_details";
      return for_each_member(v, [&](std::string_view k, od::value n) {
        if (prompt && k == "cached_tokens") u.cached_tokens = integer(n);
        else if (!prompt && k == "reasoning_tokens") u.reasoning_tokens = integer(n);
        return simdjson::SUCCESS;
      });
    }
    return simdjson::SUCCESS;
  });
  if (!total) u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
  u.reported = true;
  return ec;
}

// One tool call's piece in a chunk (or the whole call in a body).
struct ToolPiece {
  int64_t index = -1;
  std::string_view id, name, arguments;  // escaped
};

// Content given as parts (Mistral's reasoning models): text parts and thinking parts, whose own
// "thinking" holds text parts.
template <typename OnText>
simdjson::error_code read_content_parts(od::value parts, OnText&& on_text) {
  return for_each_item(parts, [&](od::value part) {
    std::string_view type, text;
    simdjson::error_code nested = simdjson::SUCCESS;
    auto ec = for_each_member(part, [&](std::string_view key, od::value v) -> simdjson::error_code {
      if (key == "type") json::read_optional(v.get_string(), type);
      else if (key == "text") return escaped_string(v, text);
      else if (key == "thinking") {
        od::json_type t;
        if (v.type().get(t)) return simdjson::TAPE_ERROR;
        if (t == od::json_type::string) return escaped_string(v, text);
        nested = for_each_item(v, [&](od::value inner) {
          std::string_view piece;
          auto e = for_each_member(inner, [&](std::string_view k, od::value iv) {
            return k == "text" ? escaped_string(iv, piece) : simdjson::SUCCESS;
          });
          if (!e && !piece.empty()) on_text(true, piece);
          return e;
        });
        return nested;
      }
      return simdjson::SUCCESS;
    });
    if (ec) return ec;
    if (!text.empty()) on_text(type == "thinking", text);
    return simdjson::SUCCESS;
  });
}

class OpenAIDecoder final : public ResponseDecoder {
 public:
  void reset() override {
    started_ = false;
    tools_seen_.clear();
    usage_ = {};
  }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    std::string_view data = event.data;
    if (data.empty()) return {};
    using Kind = StreamEvent::Kind;
    StreamEvent out;
    if (data == "[DONE]") {
      start(sink, {}, {});
      if (usage_.reported) {
        out.kind = Kind::usage;
        out.usage = usage_;
        sink.on_event(out);
      }
      out.kind = Kind::done;
      sink.on_event(out);
      return {};
    }
    if (read_chunk(data)) return unexpected(malformed("stream chunk"));
    if (!error_message_.empty() || !error_type_.empty()) {
      out.kind = Kind::error;
      out.error_type = error_type_;
      out.text = error_message_.empty() ? std::string_view("the provider reported an error") : error_message_;
      sink.on_event(out);
      return {};
    }
    if (!id_.empty() || !model_.empty() || has_choice_) start(sink, id_, model_);
    for (auto [reasoning, text] : texts_) {
      out = {};
      out.kind = reasoning ? Kind::reasoning : Kind::text;
      out.text = text;
      sink.on_event(out);
    }
    for (const ToolPiece& piece : tools_) {
      int index = piece.index >= 0 && piece.index < 4096 ? static_cast<int>(piece.index) : 0;
      if (tools_seen_.size() <= static_cast<size_t>(index)) tools_seen_.resize(static_cast<size_t>(index) + 1, false);
      if (!tools_seen_[static_cast<size_t>(index)] && (!piece.id.empty() || !piece.name.empty())) {
        tools_seen_[static_cast<size_t>(index)] = true;
        out = {};
        out.kind = Kind::tool_call;
        out.tool_index = index;
        out.id = piece.id;
        out.name = piece.name;
        sink.on_event(out);
      }
      if (!piece.arguments.empty() && tools_seen_[static_cast<size_t>(index)]) {
        out = {};
        out.kind = Kind::tool_arguments;
        out.tool_index = index;
        out.text = piece.arguments;
        sink.on_event(out);
      }
    }
    if (!finish_.empty()) {
      out = {};
      out.kind = Kind::finish;
      out.finish = finish_reason(finish_);
      sink.on_event(out);
    }
    if (chunk_usage_.reported) usage_ = chunk_usage_;  // sent with [DONE]: the last one wins
    return {};
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    out.clear();
    od::document doc;
    od::value root;
    if (parser_.iterate(json::padded_copy(body, buffer_)).get(doc) || doc.get_value().get(root))
      return unexpected(malformed("response (not JSON)"));
    tools_.clear();
    std::string_view finish;
    bool first_choice = true;
    auto ec = for_each_member(root, [&](std::string_view key, od::value v) -> simdjson::error_code {
      if (key == "id") return escaped_string(v, out.id);
      if (key == "model") return escaped_string(v, out.model);
      if (key == "usage") return read_usage(v, out.usage);
      if (key != "choices") return simdjson::SUCCESS;
      return for_each_item(v, [&](od::value choice) -> simdjson::error_code {
        if (!first_choice) return simdjson::SUCCESS;
        first_choice = false;
        return for_each_member(choice, [&](std::string_view k, od::value cv) -> simdjson::error_code {
          if (k == "finish_reason") json::read_optional(cv.get_string(), finish);
          else if (k == "message") return read_delta(cv, [&](bool reasoning, std::string_view text) {
              (reasoning ? out.reasoning : out.text).push_back(text);
            });
          return simdjson::SUCCESS;
        });
      });
    });
    if (ec) return unexpected(malformed("response"));
    out.finish = finish.empty() ? FinishReason::stop : finish_reason(finish);
    // The arguments come as a JSON string; the canonical call holds the JSON text itself.
    for (size_t i = 0; i < tools_.size(); ++i) {
      if (arguments_.size() <= i) arguments_.resize(i + 1);
      std::string& args = arguments_[i];
      args.clear();
      std::string quoted = "\"" + std::string(tools_[i].arguments) + "\"";
      simdjson::dom::parser& dom = dom_parser();
      std::string_view unescaped;
      if (dom.parse(quoted).get_string().get(unescaped)) return unexpected(malformed("tool call"));
      args.assign(unescaped.empty() ? std::string_view("{}") : unescaped);
      if (json::check_json(args)) return unexpected(malformed("tool call (arguments that are not JSON)"));
      out.tool_calls.push_back(ToolCall{tools_[i].id, tools_[i].name, args});
    }
    return {};
  }

 private:
  static simdjson::dom::parser& dom_parser() {
    thread_local simdjson::dom::parser parser;
    return parser;
  }

  void start(StreamSink& sink, std::string_view id, std::string_view model) {
    if (started_) return;
    started_ = true;
    StreamEvent out;
    out.kind = StreamEvent::Kind::start;
    out.id = id;
    out.model = model;
    sink.on_event(out);
  }

  // A delta (stream) or a message (body): text, reasoning and tool call pieces.
  template <typename OnText>
  simdjson::error_code read_delta(od::value delta, OnText&& on_text) {
    return for_each_member(delta, [&](std::string_view key, od::value v) -> simdjson::error_code {
      if (key == "content") {
        od::json_type type;
        if (v.type().get(type)) return simdjson::TAPE_ERROR;
        if (type == od::json_type::array) return read_content_parts(v, on_text);
        std::string_view text;
        if (auto ec = escaped_string(v, text)) return ec;
        if (!text.empty()) on_text(false, text);
      } else if (key == "refusal") {  // a refusal's text is the answer the client sees
        std::string_view text;
        if (auto ec = escaped_string(v, text)) return ec;
        if (!text.empty()) on_text(false, text);
      } else if (key == "reasoning_content" || key == "reasoning") {
        std::string_view text;
        if (auto ec = escaped_string(v, text)) return ec;
        if (!text.empty()) on_text(true, text);
      } else if (key == "tool_calls") {
        od::json_type type;
        if (v.type().get(type) || type != od::json_type::array) return simdjson::SUCCESS;
        return for_each_item(v, [&](od::value call) {
          ToolPiece piece;
          piece.index = static_cast<int64_t>(tools_.size());
          auto ec = for_each_member(call, [&](std::string_view k, od::value cv) -> simdjson::error_code {
            if (k == "index") piece.index = integer(cv);
            else if (k == "id") return escaped_string(cv, piece.id);
            else if (k == "function")
              return for_each_member(cv, [&](std::string_view fk, od::value fv) {
                if (fk == "name") return escaped_string(fv, piece.name);
                if (fk == "arguments") return escaped_string(fv, piece.arguments);
                return simdjson::SUCCESS;
              });
            return simdjson::SUCCESS;
          });
          if (!ec) tools_.push_back(piece);
          return ec;
        });
      }
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code read_chunk(std::string_view data) {
    id_ = model_ = finish_ = error_type_ = error_message_ = {};
    texts_.clear();
    tools_.clear();
    chunk_usage_ = {};
    has_choice_ = false;
    od::document doc;
    od::value root;
    if (auto ec = parser_.iterate(json::padded_copy(data, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(root)) return ec;
    return for_each_member(root, [&](std::string_view key, od::value v) -> simdjson::error_code {
      if (key == "id") return escaped_string(v, id_);
      if (key == "model") return escaped_string(v, model_);
      if (key == "usage") return read_usage(v, chunk_usage_);
      if (key == "error") {
        od::json_type type;
        if (v.type().get(type)) return simdjson::TAPE_ERROR;
        if (type == od::json_type::string) return escaped_string(v, error_message_);
        return for_each_member(v, [&](std::string_view k, od::value ev) {
          if (k == "message") return escaped_string(ev, error_message_);
          if (k == "type") return escaped_string(ev, error_type_);
          return simdjson::SUCCESS;
        });
      }
      if (key != "choices") return simdjson::SUCCESS;
      od::json_type type;
      if (v.type().get(type) || type != od::json_type::array) return simdjson::SUCCESS;
      return for_each_item(v, [&](od::value choice) -> simdjson::error_code {
        int64_t index = 0;
        bool first = !has_choice_;
        has_choice_ = true;
        if (!first) return simdjson::SUCCESS;  // one choice: the clients of other formats take one
        return for_each_member(choice, [&](std::string_view k, od::value cv) -> simdjson::error_code {
          if (k == "index") index = integer(cv);
          else if (k == "finish_reason") json::read_optional(cv.get_string(), finish_);
          else if (k == "delta" && index == 0)
            return read_delta(cv, [&](bool reasoning, std::string_view text) { texts_.push_back({reasoning, text}); });
          return simdjson::SUCCESS;
        });
      });
    });
  }

  od::parser parser_;
  std::string buffer_;
  bool started_ = false;
  std::vector<bool> tools_seen_;
  json::Usage usage_, chunk_usage_;
  // One chunk's fields, gathered before acting on them (members come in any order).
  std::string_view id_, model_, finish_, error_type_, error_message_;
  bool has_choice_ = false;
  std::vector<std::pair<bool, std::string_view>> texts_;  // (reasoning?, escaped text)
  std::vector<ToolPiece> tools_;
  std::deque<std::string> arguments_;  // a deque: earlier calls point into its strings
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_openai_decoder() { return std::make_unique<OpenAIDecoder>(); }

}  // namespace llmux::providers
