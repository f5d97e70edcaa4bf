// Bedrock Converse bodies and ConverseStream events into canonical form (chat_events.hpp). The
// stream's events come framed by the event-stream decoder (StreamFraming::aws_eventstream): the
// event's name is its :event-type, its data the JSON payload. messageStop carries the finish
// reason and metadata the usage, in either order (Bedrock sends metadata last; recordings of other
// clients have it first): the stream is done once both have come. An exception message is the
// provider failing: an error event, never a clean end.
#include <deque>

#include <simdjson.h>

#include "core/json_text.hpp"
#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/bedrock/eventstream.hpp"
#include "providers/decode_support.hpp"

namespace llmux::providers {

namespace {

namespace od = simdjson::ondemand;
using decode::escaped_string;
using decode::for_each_item;
using decode::for_each_member;
using decode::integer;

Error malformed(std::string_view what) { return decode::malformed_response("Bedrock", what); }

FinishReason finish_reason(std::string_view reason) {
  if (reason == "max_tokens" || reason == "model_context_window_exceeded") return FinishReason::length;
  if (reason == "tool_use") return FinishReason::tool_calls;
  if (reason == "content_filtered" || reason == "guardrail_intervened") return FinishReason::content_filter;
  return FinishReason::stop;  // end_turn, stop_sequence and newer reasons
}

simdjson::error_code read_usage(od::value value, json::Usage& usage) {
  usage.reported = true;
  return for_each_member(value, [&](std::string_view key, od::value v) -> simdjson::error_code {
    if (key == "inputTokens") usage.prompt_tokens = integer(v);
    else if (key == "outputTokens") usage.completion_tokens = integer(v);
    else if (key == "totalTokens") usage.total_tokens = integer(v);
    else if (key == "cacheReadInputTokens") usage.cached_tokens = integer(v);
    else if (key == "cacheWriteInputTokens") usage.cache_write_tokens = integer(v);
    return simdjson::SUCCESS;
  });
}

// Bedrock's inputTokens leave out the cached ones; OpenAI's prompt_tokens include them.
json::Usage canonical(json::Usage u) {
  u.prompt_tokens = json::add_tokens(json::add_tokens(u.prompt_tokens, u.cached_tokens), u.cache_write_tokens);
  u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
  return u;
}

// What one stream event says.
struct EventFields {
  int64_t block = -1;                          // contentBlockIndex
  std::string_view text, reasoning;            // escaped
  std::string_view signature, redacted;        // reasoningContent's signature and redactedContent, escaped
  std::string_view tool_id, tool_name;         // contentBlockStart.start.toolUse, escaped
  std::string_view tool_input;                 // delta.toolUse.input, unescaped JSON text
  bool has_tool_start = false, has_tool_input = false;
  std::string_view stop_reason;
  std::string_view message;                    // an exception's, escaped
  json::Usage usage;
  bool has_usage = false;
};

class BedrockDecoder final : public ResponseDecoder {
 public:
  StreamFraming stream_framing() const override { return StreamFraming::aws_eventstream; }

  void reset() override {
    started_ = stopped_ = metered_ = finished_ = false;
    tool_count_ = 0;
    open_call_ = -1;
    open_block_ = -1;
  }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    if (finished_) return {};
    using Kind = StreamEvent::Kind;
    std::string_view name = event.event;
    if (name == bedrock::kCorruptStreamEvent) return unexpected(malformed("event stream: " + std::string(event.data)));
    bool exception = name.starts_with(bedrock::kExceptionEventPrefix);
    if (exception || name.starts_with(bedrock::kErrorEventPrefix)) {
      EventFields f;
      if (exception) {
        name.remove_prefix(bedrock::kExceptionEventPrefix.size());
        if (read_event(event.data, f)) f.message = {};
      } else {
        name.remove_prefix(bedrock::kErrorEventPrefix.size());
      }
      message_.assign(name.empty() ? std::string_view("error") : name);
      message_ += ": ";
      if (exception) message_ += f.message.empty() ? std::string_view("(no message)") : f.message;
      else append_escaped(message_, event.data);
      finished_ = true;
      StreamEvent out;
      out.kind = Kind::error;
      out.error_type = bedrock_error_type(name, 0);
      out.text = message_;
      sink.on_event(out);
      return {};
    }
    EventFields f;
    if (read_event(event.data, f)) return unexpected(malformed("stream event"));
    // messageStart opens the answer; a stream whose first event is another (clients' trimmed
    // recordings) is opened by that one.
    if (!started_) {
      started_ = true;
      StreamEvent out;
      out.kind = Kind::start;
      sink.on_event(out);
    }
    if (name == "messageStart") return {};
    if (name == "contentBlockStart") {
      if (!f.has_tool_start) return {};
      if (open_call_ >= 0 || f.tool_name.empty()) return unexpected(malformed("contentBlockStart"));
      StreamEvent out;
      out.kind = Kind::tool_call;
      open_call_ = out.tool_index = tool_count_++;
      open_block_ = f.block;
      out.id = f.tool_id;
      out.name = f.tool_name;
      sink.on_event(out);
      checker_.reset();
    } else if (name == "contentBlockDelta") {
      if (f.has_tool_input) {
        if (open_call_ < 0 || f.block != open_block_) return unexpected(malformed("toolUse delta (no tool call open)"));
        return emit_arguments(f.tool_input, sink);
      }
      if (!f.reasoning.empty()) emit(Kind::reasoning, f.reasoning, sink);
      if (!f.signature.empty()) emit(Kind::reasoning_signature, f.signature, sink);
      if (!f.redacted.empty()) emit(Kind::redacted_reasoning, f.redacted, sink);
      if (!f.text.empty()) emit(Kind::text, f.text, sink);
    } else if (name == "contentBlockStop") {
      if (open_call_ < 0 || f.block != open_block_) return {};
      // Arguments that never came are an empty object, as OpenAI sends for a call without any.
      if (checker_.blank()) {
        if (auto done = emit_arguments("{}", sink); !done) return done;
      }
      if (!checker_.finish()) return unexpected(malformed("toolUse input"));
      open_call_ = open_block_ = -1;
    } else if (name == "messageStop") {
      if (open_call_ >= 0) return unexpected(malformed("stream (it stopped inside a tool call)"));
      if (stopped_) return {};
      stopped_ = true;
      StreamEvent out;
      out.kind = Kind::finish;
      out.finish = finish_reason(f.stop_reason);
      sink.on_event(out);
    } else if (name == "metadata") {
      if (f.has_usage) {
        StreamEvent out;
        out.kind = Kind::usage;
        out.usage = canonical(f.usage);
        sink.on_event(out);
      }
      metered_ = true;
    }
    if (stopped_ && metered_) {
      finished_ = true;
      StreamEvent out;
      out.kind = Kind::done;
      sink.on_event(out);
    }
    return {};  // newer event kinds carry nothing to translate
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    out.clear();
    arguments_count_ = 0;
    if (read_body(body, out)) return unexpected(malformed("response"));
    out.finish = finish_reason(stop_reason_);
    out.usage = canonical(out.usage);
    return {};
  }

 private:
  static void emit(StreamEvent::Kind kind, std::string_view text, StreamSink& sink) {
    StreamEvent out;
    out.kind = kind;
    out.text = text;
    sink.on_event(out);
  }

  // Unescaped text appended JSON-escaped (without quotes).
  static void append_escaped(std::string& out, std::string_view text) {
    size_t at = out.size();
    append_json_string(out, text);
    out.erase(at, 1);
    out.pop_back();
  }

  // A piece of a call's arguments (unescaped JSON text) → an escaped piece of OpenAI's string,
  // checked as part of one JSON object.
  Expected<void, Error> emit_arguments(std::string_view piece, StreamSink& sink) {
    if (piece.empty()) return {};
    if (!checker_.feed(piece)) return unexpected(malformed("toolUse input"));
    escaped_.clear();
    append_escaped(escaped_, piece);
    StreamEvent out;
    out.kind = StreamEvent::Kind::tool_arguments;
    out.tool_index = open_call_;
    out.text = escaped_;
    sink.on_event(out);
    return {};
  }

  simdjson::error_code read_event(std::string_view text, EventFields& f) {
    od::document doc;
    od::value root;
    if (auto ec = parser_.iterate(json::padded_copy(text, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(root)) return ec;
    return for_each_member(root, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "contentBlockIndex") return value.get_int64().get(f.block);
      if (key == "stopReason") return value.get_string().get(f.stop_reason);
      if (key == "message") return escaped_string(value, f.message);
      if (key == "usage") {
        f.has_usage = true;
        return read_usage(value, f.usage);
      }
      if (key == "start") {
        return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
          if (k != "toolUse") return simdjson::SUCCESS;
          f.has_tool_start = true;
          return for_each_member(v, [&](std::string_view tk, od::value tv) -> simdjson::error_code {
            if (tk == "toolUseId") return escaped_string(tv, f.tool_id);
            if (tk == "name") return escaped_string(tv, f.tool_name);
            return simdjson::SUCCESS;
          });
        });
      }
      if (key != "delta") return simdjson::SUCCESS;
      return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
        if (k == "text") return escaped_string(v, f.text);
        if (k == "toolUse") {
          return for_each_member(v, [&](std::string_view tk, od::value tv) -> simdjson::error_code {
            if (tk != "input") return simdjson::SUCCESS;
            f.has_tool_input = true;
            return tv.get_string().get(f.tool_input);
          });
        }
        if (k == "reasoningContent") {
          // text pieces are visible reasoning; the signature closes it; redactedContent is
          // reasoning sent encrypted (base64), whole
          return for_each_member(v, [&](std::string_view rk, od::value rv) -> simdjson::error_code {
            if (rk == "text") return escaped_string(rv, f.reasoning);
            if (rk == "signature") return escaped_string(rv, f.signature);
            if (rk == "redactedContent") return escaped_string(rv, f.redacted);
            return simdjson::SUCCESS;
          });
        }
        return simdjson::SUCCESS;
      });
    });
  }

  // One entry of output.message.content.
  simdjson::error_code read_block(od::value block, ChatResponse& out) {
    return for_each_member(block, [&](std::string_view key, od::value value) -> simdjson::error_code {
      std::string_view text;
      if (key == "text") {
        if (auto ec = escaped_string(value, text)) return ec;
        if (!text.empty()) out.text.push_back(text);
        return simdjson::SUCCESS;
      }
      if (key == "reasoningContent") {
        return for_each_member(value, [&](std::string_view rk, od::value rv) -> simdjson::error_code {
          if (rk == "redactedContent") {
            if (auto ec = escaped_string(rv, text)) return ec;
            if (!text.empty()) out.redacted_reasoning.push_back(text);
            return simdjson::SUCCESS;
          }
          if (rk != "reasoningText") return simdjson::SUCCESS;
          return for_each_member(rv, [&](std::string_view tk, od::value tv) -> simdjson::error_code {
            if (tk == "signature") return escaped_string(tv, out.reasoning_signature);
            if (tk != "text") return simdjson::SUCCESS;
            if (auto ec = escaped_string(tv, text)) return ec;
            if (!text.empty()) out.reasoning.push_back(text);
            return simdjson::SUCCESS;
          });
        });
      }
      if (key != "toolUse") return simdjson::SUCCESS;
      ToolCall call;
      auto ec = for_each_member(value, [&](std::string_view tk, od::value tv) -> simdjson::error_code {
        if (tk == "toolUseId") return escaped_string(tv, call.id);
        if (tk == "name") return escaped_string(tv, call.name);
        if (tk != "input") return simdjson::SUCCESS;
        od::object input;
        if (auto e = tv.get_object().get(input)) return e;
        std::string_view raw;
        if (auto e = input.raw_json().get(raw)) return e;
        if (json::check_json(raw)) return simdjson::TAPE_ERROR;
        if (arguments_.size() <= arguments_count_) arguments_.resize(arguments_count_ + 1);
        std::string& args = arguments_[arguments_count_++];
        args.resize(raw.size());
        size_t length = 0;
        if (auto e = simdjson::minify(raw.data(), raw.size(), args.data(), length)) return e;
        args.resize(length);
        call.arguments_json = args;
        return simdjson::SUCCESS;
      });
      if (ec) return ec;
      if (call.name.empty()) return simdjson::INCORRECT_TYPE;
      if (call.arguments_json.empty()) call.arguments_json = "{}";
      out.tool_calls.push_back(call);
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code read_body(std::string_view text, ChatResponse& out) {
    od::document doc;
    od::value root;
    stop_reason_ = {};
    if (auto ec = parser_.iterate(json::padded_copy(text, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(root)) return ec;
    bool has_output = false;
    auto ec = for_each_member(root, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "stopReason") return value.get_string().get(stop_reason_);
      if (key == "usage") return read_usage(value, out.usage);
      if (key != "output") return simdjson::SUCCESS;
      return for_each_member(value, [&](std::string_view k, od::value message) -> simdjson::error_code {
        if (k != "message") return simdjson::SUCCESS;
        has_output = true;
        return for_each_member(message, [&](std::string_view mk, od::value mv) -> simdjson::error_code {
          if (mk != "content") return simdjson::SUCCESS;
          return for_each_item(mv, [&](od::value block) { return read_block(block, out); });
        });
      });
    });
    if (ec) return ec;
    return has_output ? simdjson::SUCCESS : simdjson::NO_SUCH_FIELD;
  }

  od::parser parser_;
  std::string buffer_;
  bool started_ = false, stopped_ = false, metered_ = false, finished_ = false;
  int tool_count_ = 0;
  int open_call_ = -1;        // the tool call whose arguments are streaming
  int64_t open_block_ = -1;   // its contentBlockIndex
  json::JsonChecker checker_{json::JsonChecker::kUnlimitedDepth, json::JsonChecker::Root::object};
  std::string escaped_;
  std::string message_;       // an error event's text
  std::string_view stop_reason_;
  std::deque<std::string> arguments_;  // a body's minified toolUse inputs (stable, kept warm)
  size_t arguments_count_ = 0;
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_bedrock_decoder() { return std::make_unique<BedrockDecoder>(); }

}  // namespace llmux::providers
