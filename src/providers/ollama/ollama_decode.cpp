// Ollama /api/chat bodies and NDJSON streams into canonical form (chat_events.hpp), and /api/embed
// bodies into OpenAI's embeddings answer. A stream is a sequence of whole message objects, one per
// line; the one whose "done" is true carries the finish reason and the token counts and ends it. A
// line {"error":"…"} is the provider failing mid-stream (its HTTP status stays 200). A stream that
// stops before its done line is reported by the server as a stream that ended early.
#include <cstdio>
#include <random>

#include <simdjson.h>

#include "core/json_text.hpp"
#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"
#include "providers/decode_support.hpp"
#include "providers/ollama/ollama.hpp"

namespace llmux::providers {

namespace {

namespace od = simdjson::ondemand;
using decode::escaped_string;
using decode::for_each_item;
using decode::for_each_member;
using decode::integer;

Error malformed(std::string_view what) {
  Error e = Error::make(ErrorKind::upstream_error, "Ollama sent a malformed " + std::string(what), {},
                        "upstream_malformed_response");
  e.http_status = 502;
  return e;
}

FinishReason finish_reason(std::string_view reason, bool tool_calls) {
  if (reason == "length") return FinishReason::length;
  // Ollama ends a turn with tool calls in "stop"; OpenAI clients look for tool_calls.
  return tool_calls ? FinishReason::tool_calls : FinishReason::stop;  // stop, load, unload, newer reasons
}

struct OllamaCall {
  std::string_view id, name;  // escaped; id empty when Ollama sent none
  std::string_view arguments;  // the arguments object as JSON text, checked
};

// What one message object (a body, or one stream line) says.
struct MessageFields {
  std::string_view model, content, thinking, done_reason, error;  // escaped
  bool done = false;
  bool has_error = false;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool has_counts = false;
};

class OllamaDecoder final : public ResponseDecoder {
 public:
  void reset() override {
    started_ = finished_ = false;
    tool_count_ = 0;
  }

  StreamFraming stream_framing() const override { return StreamFraming::ndjson; }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    if (event.data.empty() || finished_) return {};
    MessageFields f;
    calls_.clear();
    if (read_message(event.data, f)) return unexpected(malformed("stream line"));
    using Kind = StreamEvent::Kind;
    StreamEvent out;
    if (f.has_error) {
      out.kind = Kind::error;
      out.error_type = "upstream_error";
      out.text = f.error.empty() ? std::string_view("the provider reported an error") : f.error;
      sink.on_event(out);
      finished_ = true;
      return {};
    }
    if (!started_) {
      started_ = true;
      out.kind = Kind::start;
      out.id = new_id();
      out.model = f.model;
      sink.on_event(out);
    }
    if (!f.thinking.empty()) emit_text(Kind::reasoning, f.thinking, sink);
    if (!f.content.empty()) emit_text(Kind::text, f.content, sink);
    for (const OllamaCall& call : calls_) {
      if (call.name.empty()) return unexpected(malformed("tool call (no name)"));
      out = {};
      out.kind = Kind::tool_call;
      out.tool_index = tool_count_++;
      out.id = call_id(call, out.tool_index, id_storage_);
      out.name = call.name;
      sink.on_event(out);
      if (!minify(call.arguments, minified_)) return unexpected(malformed("tool call arguments"));
      escaped_.clear();
      append_json_string(escaped_, minified_);
      out = {};
      out.kind = Kind::tool_arguments;
      out.tool_index = tool_count_ - 1;
      out.text = std::string_view(escaped_).substr(1, escaped_.size() - 2);
      sink.on_event(out);
    }
    if (!f.done) return {};
    out = {};
    out.kind = Kind::finish;
    out.finish = finish_reason(f.done_reason, tool_count_ > 0);
    sink.on_event(out);
    out.kind = Kind::usage;
    out.usage = usage_of(f);
    sink.on_event(out);
    out.kind = Kind::done;
    sink.on_event(out);
    finished_ = true;
    return {};
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    out.clear();
    MessageFields f;
    calls_.clear();
    if (read_message(body, f) || f.has_error) return unexpected(malformed("response"));
    out.id = new_id();
    out.model = f.model;
    if (!f.content.empty()) out.text.push_back(f.content);
    if (!f.thinking.empty()) out.reasoning.push_back(f.thinking);
    // Sized before any view into them is taken: growing would move the strings.
    if (body_ids_.size() < calls_.size()) {
      body_ids_.resize(calls_.size());
      body_args_.resize(calls_.size());
    }
    for (size_t i = 0; i < calls_.size(); ++i) {
      const OllamaCall& call = calls_[i];
      if (call.name.empty()) return unexpected(malformed("tool call (no name)"));
      if (!minify(call.arguments, body_args_[i])) return unexpected(malformed("tool call arguments"));
      out.tool_calls.push_back(ToolCall{call_id(call, static_cast<int>(i), body_ids_[i]), call.name, body_args_[i]});
    }
    out.finish = finish_reason(f.done_reason, !calls_.empty());
    out.usage = usage_of(f);
    return {};
  }

  Expected<void, Error> decode_embeddings(std::string_view body, std::string_view model, std::string& out,
                                          json::Usage& usage) override {
    od::document doc;
    od::value response;
    int64_t prompt = 0;
    bool listed = false;
    out += "{\"object\":\"list\",\"data\":[";
    size_t index = 0;
    auto ec = parser_.iterate(json::padded_copy(body, buffer_)).get(doc);
    if (!ec) ec = doc.get_value().get(response);
    if (!ec) {
      ec = for_each_member(response, [&](std::string_view key, od::value value) -> simdjson::error_code {
        if (key == "prompt_eval_count") prompt = integer(value);
        if (key != "embeddings") return simdjson::SUCCESS;
        listed = true;
        return for_each_item(value, [&](od::value vector) { return decode::append_embedding(vector, index++, out); });
      });
    }
    if (ec || !listed) return unexpected(malformed("embeddings response"));
    out += "],\"model\":";
    append_json_string(out, model);
    out += ",\"usage\":{\"prompt_tokens\":";
    out += std::to_string(prompt);
    out += ",\"total_tokens\":";
    out += std::to_string(prompt);
    out += "}}";
    usage = {};
    usage.prompt_tokens = usage.total_tokens = prompt;
    usage.reported = true;
    return {};
  }

 private:
  static json::Usage usage_of(const MessageFields& f) {
    json::Usage u;
    u.prompt_tokens = f.prompt_tokens;
    u.completion_tokens = f.completion_tokens;
    u.total_tokens = json::add_tokens(f.prompt_tokens, f.completion_tokens);
    u.reported = f.has_counts;
    return u;
  }

  // Ollama sends no response id; each answer gets one of its own, as OpenAI's would have.
  std::string_view new_id() {
    thread_local std::mt19937_64 random{std::random_device{}()};
    char text[32];
    int n = std::snprintf(text, sizeof text, "chatcmpl-%016llx", static_cast<unsigned long long>(random()));
    response_id_.assign(text, static_cast<size_t>(n));
    return response_id_;
  }

  // Ollama's own id, or one made from the call's position (ollama.hpp).
  static std::string_view call_id(const OllamaCall& call, int position, std::string& storage) {
    if (!call.id.empty()) return call.id;
    storage.assign(OllamaProvider::kGeneratedIdPrefix);
    storage += std::to_string(position);
    return storage;
  }

  // Arguments as OpenAI carries them: minified JSON text ("{}" when Ollama sent none).
  static bool minify(std::string_view json_text, std::string& out) {
    if (json_text.empty()) json_text = "{}";
    out.resize(json_text.size());
    size_t length = 0;
    if (simdjson::minify(json_text.data(), json_text.size(), out.data(), length)) return false;
    out.resize(length);
    return true;
  }

  static void emit_text(StreamEvent::Kind kind, std::string_view text, StreamSink& sink) {
    StreamEvent out;
    out.kind = kind;
    out.text = text;
    sink.on_event(out);
  }

  simdjson::error_code read_message(std::string_view text, MessageFields& f) {
    od::document doc;
    od::value root;
    if (auto ec = parser_.iterate(json::padded_copy(text, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(root)) return ec;
    return for_each_member(root, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "model") return escaped_string(value, f.model);
      if (key == "done") {
        json::read_optional(value.get_bool(), f.done);
      } else if (key == "done_reason") {
        return escaped_string(value, f.done_reason);
      } else if (key == "prompt_eval_count") {
        f.prompt_tokens = integer(value);
        f.has_counts = true;
      } else if (key == "eval_count") {
        f.completion_tokens = integer(value);
        f.has_counts = true;
      } else if (key == "error") {
        f.has_error = true;
        return escaped_string(value, f.error);
      } else if (key == "message") {
        return read_message_body(value, f);
      }
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code read_message_body(od::value message, MessageFields& f) {
    return for_each_member(message, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "content") return escaped_string(value, f.content);
      if (key == "thinking") return escaped_string(value, f.thinking);
      if (key != "tool_calls") return simdjson::SUCCESS;
      od::json_type type;
      if (auto ec = value.type().get(type)) return ec;
      if (type == od::json_type::null) return simdjson::SUCCESS;
      return for_each_item(value, [&](od::value item) -> simdjson::error_code {
        OllamaCall& call = calls_.emplace_back();
        return for_each_member(item, [&](std::string_view k, od::value v) -> simdjson::error_code {
          if (k == "id") return escaped_string(v, call.id);
          if (k != "function") return simdjson::SUCCESS;
          return for_each_member(v, [&](std::string_view fk, od::value fv) -> simdjson::error_code {
            if (fk == "name") return escaped_string(fv, call.name);
            if (fk != "arguments") return simdjson::SUCCESS;
            od::object object;
            if (auto ec = fv.get_object().get(object)) return ec;
            if (auto ec = object.raw_json().get(call.arguments)) return ec;
            while (!call.arguments.empty() && call.arguments.back() != '}') call.arguments.remove_suffix(1);
            // On-Demand skips the object without reading its values: check them.
            if (json::check_json(call.arguments)) return simdjson::TAPE_ERROR;
            return simdjson::SUCCESS;
          });
        });
      });
    });
  }

  od::parser parser_;
  std::string buffer_;  // the padded copy of the text being read
  std::vector<OllamaCall> calls_;
  bool started_ = false, finished_ = false;
  int tool_count_ = 0;
  std::string response_id_, id_storage_, escaped_, minified_;
  std::vector<std::string> body_ids_, body_args_;
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_ollama_decoder() { return std::make_unique<OllamaDecoder>(); }

}  // namespace llmux::providers
