// Gemini GenerateContentResponse bodies and their SSE streams into canonical form
// (chat_events.hpp). A stream is a sequence of whole GenerateContentResponse objects, one per
// event, with no terminal event of its own: the event whose candidate carries a finishReason (or
// whose promptFeedback blocks the prompt) ends it. One that never comes leaves the stream without
// its done event, which the server reports as a stream that ended early.
#include <cctype>
#include <deque>

#include <simdjson.h>

#include "core/json_text.hpp"
#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"
#include "providers/decode_support.hpp"
#include "providers/gemini/gemini.hpp"

namespace llmux::providers {

namespace {

namespace od = simdjson::ondemand;
using decode::escaped_string;
using decode::for_each_item;
using decode::for_each_member;
using decode::integer;

Error malformed(std::string_view what) {
  Error e = Error::make(ErrorKind::upstream_error, "Gemini sent a malformed " + std::string(what), {},
                        "upstream_malformed_response");
  e.http_status = 502;
  return e;
}

FinishReason finish_reason(std::string_view reason, bool tool_calls) {
  if (reason == "MAX_TOKENS") return FinishReason::length;
  if (reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" || reason == "PROHIBITED_CONTENT" ||
      reason == "SPII" || reason == "IMAGE_SAFETY" || reason == "IMAGE_PROHIBITED_CONTENT" || reason == "LANGUAGE")
    return FinishReason::content_filter;
  // Gemini ends a turn with function calls in STOP; OpenAI clients look for tool_calls.
  return tool_calls ? FinishReason::tool_calls : FinishReason::stop;  // STOP, OTHER and newer reasons
}

// usageMetadata. Gemini counts thinking apart from candidatesTokenCount and tool-use prompts apart
// from promptTokenCount; OpenAI's completion_tokens include reasoning, its prompt_tokens all input.
// cachedContentTokenCount is part of promptTokenCount.
struct GeminiUsage {
  int64_t prompt = 0, candidates = 0, thoughts = 0, tool_prompt = 0, cached = 0;
  bool seen = false;  // a usageMetadata came: the counts are the provider's, not unknown

  simdjson::error_code read(od::value usage) {
    seen = true;
    return for_each_member(usage, [this](std::string_view key, od::value value) {
      if (key == "promptTokenCount") prompt = integer(value);
      else if (key == "candidatesTokenCount") candidates = integer(value);
      else if (key == "thoughtsTokenCount") thoughts = integer(value);
      else if (key == "toolUsePromptTokenCount") tool_prompt = integer(value);
      else if (key == "cachedContentTokenCount") cached = integer(value);
      return simdjson::SUCCESS;
    });
  }
  json::Usage canonical() const {
    json::Usage u;
    u.prompt_tokens = json::add_tokens(prompt, tool_prompt);
    u.completion_tokens = json::add_tokens(candidates, thoughts);
    u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
    u.cached_tokens = cached;
    u.reasoning_tokens = thoughts;
    u.reported = seen;
    return u;
  }
};

// One streamed argument of a function call (functionCall.partialArgs[]).
struct PartialArg {
  std::string_view path;          // "$.location"
  std::string_view string_value;  // escaped
  std::string_view other_value;   // a number, true, false or null as JSON text
  bool is_string = false;
  bool will_continue = false;
};

// One part of a candidate's content.
struct Part {
  std::string_view text, signature;  // escaped
  bool thought = false;
  bool function_call = false;
  std::string_view call_name, call_id;  // escaped
  std::string_view call_args;           // the args object as JSON text, checked
  bool will_continue = false;
  std::vector<PartialArg>* partial_args = nullptr;
};

// What one response (a body, or one stream event) says, gathered before acting on it.
struct ResponseFields {
  std::string_view id, model, finish, block_reason;
  std::string_view error_status, error_message;
  int64_t error_code = 0;
  bool has_error = false;
  GeminiUsage usage;
  bool has_usage = false;
};

class GeminiDecoder final : public ResponseDecoder {
 public:
  void reset() override {
    started_ = finished_ = false;
    tool_count_ = 0;
    usage_ = {};
    streamed_call_ = -1;
  }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    if (event.data.empty() || finished_) return {};
    ResponseFields f;
    parts_.clear();
    if (read_response(event.data, f)) return unexpected(malformed("stream event"));
    StreamEvent out;
    using Kind = StreamEvent::Kind;
    if (f.has_error) {
      out.kind = Kind::error;
      out.error_type = gemini_error_type(f.error_status, static_cast<int>(f.error_code));
      out.text = f.error_message.empty() ? std::string_view("the provider reported an error") : f.error_message;
      sink.on_event(out);
      finished_ = true;
      return {};
    }
    if (!started_) {
      started_ = true;
      out.kind = Kind::start;
      out.id = f.id;
      out.model = f.model;
      sink.on_event(out);
    }
    if (f.has_usage) usage_ = f.usage;
    for (const Part& part : parts_)
      if (auto done = stream_part(part, sink); !done) return done;
    if (f.finish.empty() && f.block_reason.empty()) return {};
    if (streamed_call_ >= 0) return unexpected(malformed("stream (it finished inside a function call)"));
    out = {};
    out.kind = Kind::finish;
    out.finish = f.finish.empty() ? FinishReason::content_filter : finish_reason(f.finish, tool_count_ > 0);
    sink.on_event(out);
    out.kind = Kind::usage;
    out.usage = usage_.canonical();
    sink.on_event(out);
    out.kind = Kind::done;
    sink.on_event(out);
    finished_ = true;
    return {};
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    out.clear();
    ResponseFields f;
    parts_.clear();
    if (read_response(body, f) || f.has_error) return unexpected(malformed("response"));
    out.id = f.id;
    out.model = f.model;
    size_t tools = 0;
    for (const Part& part : parts_) {
      if (part.partial_args || part.will_continue) return unexpected(malformed("response (a streamed function call)"));
      if (part.function_call) {
        if (arguments_.size() <= tools) {
          arguments_.resize(tools + 1);
          ids_.resize(tools + 1);
        }
        std::string& args = arguments_[tools];
        // A function without parameters may come without args; its arguments are "{}", as OpenAI's.
        std::string_view given = part.call_args.empty() ? std::string_view("{}") : part.call_args;
        args.resize(given.size());
        size_t length = 0;
        if (simdjson::minify(given.data(), given.size(), args.data(), length))
          return unexpected(malformed("function call arguments"));
        args.resize(length);
        out.tool_calls.push_back(ToolCall{call_id(part, tools, ids_[tools]), part.call_name, args});
        ++tools;
      } else {
        if (!part.text.empty()) (part.thought ? out.reasoning : out.text).push_back(part.text);
        if (!part.signature.empty() && out.reasoning_signature.empty()) out.reasoning_signature = part.signature;
      }
    }
    if (!f.block_reason.empty() && f.finish.empty()) out.finish = FinishReason::content_filter;
    else out.finish = finish_reason(f.finish, tools > 0);
    out.usage = f.usage.canonical();
    return {};
  }

 private:
  // Gemini's own id, or one made from the call's position and thought signature (gemini.hpp).
  static std::string_view call_id(const Part& part, int position, std::string& storage) {
    if (!part.call_id.empty()) return part.call_id;
    storage.assign(GeminiProvider::kGeneratedIdPrefix);
    storage += std::to_string(position);
    if (!part.signature.empty()) {
      storage += '_';
      storage += part.signature;
    }
    return storage;
  }

  Expected<void, Error> stream_part(const Part& part, StreamSink& sink) {
    StreamEvent out;
    if (!part.function_call) {
      if (streamed_call_ >= 0 && !part.text.empty()) return unexpected(malformed("stream (text inside a function call)"));
      // A thoughtSignature on a part that is no function call signs the thoughts before it: it
      // follows a thought part's text, and comes before the answer text it arrived with.
      StreamEvent signature;
      signature.kind = StreamEvent::Kind::reasoning_signature;
      signature.text = part.signature;
      if (!part.thought && !signature.text.empty()) sink.on_event(signature);
      out.kind = part.thought ? StreamEvent::Kind::reasoning : StreamEvent::Kind::text;
      out.text = part.text;
      if (!out.text.empty()) sink.on_event(out);
      if (part.thought && !signature.text.empty()) sink.on_event(signature);
      return {};
    }
    const bool streamed = part.will_continue || part.partial_args;
    if (streamed_call_ < 0) {
      // A new call: whole, or the first piece of one whose arguments stream (partialArgs).
      if (part.call_name.empty()) return unexpected(malformed("function call (no name)"));
      out.kind = StreamEvent::Kind::tool_call;
      out.tool_index = tool_count_++;
      out.id = call_id(part, out.tool_index, id_);
      out.name = part.call_name;
      sink.on_event(out);
      if (!streamed) return emit_arguments(out.tool_index, part.call_args.empty() ? "{}" : part.call_args, sink);
      streamed_call_ = out.tool_index;
      args_.clear();
      in_string_ = arguments_started_ = false;
      checker_.reset();
    }
    if (part.partial_args)
      for (const PartialArg& arg : *part.partial_args)
        if (auto done = stream_argument(arg); !done) return done;
    if (!part.will_continue) {
      // The call's closing piece (an empty functionCall).
      if (in_string_) args_ += '"';
      args_ += arguments_started_ ? "}" : "{}";
      in_string_ = arguments_started_ = false;
      int index = streamed_call_;
      streamed_call_ = -1;
      if (!checker_.feed(args_) || !checker_.finish()) return unexpected(malformed("function call arguments"));
      auto done = emit_arguments(index, args_, sink);
      args_.clear();
      return done;
    }
    return flush_arguments(sink);
  }

  // Streamed arguments of top-level members ("$.name"): each becomes JSON text as it comes.
  Expected<void, Error> stream_argument(const PartialArg& arg) {
    std::string_view key = arg.path;
    if (!key.starts_with("$.") || key.size() < 3 || key.find_first_of(".[", 2) != std::string_view::npos)
      return unexpected(malformed("function call argument path (only top-level members are read)"));
    key.remove_prefix(2);
    const bool same_string = in_string_ && key == open_key_;
    if (!same_string) {
      if (in_string_) args_ += '"';
      in_string_ = false;
      args_ += arguments_started_ ? "," : "{";
      arguments_started_ = true;
      append_json_string(args_, key);
      args_ += ':';
      open_key_.assign(key);
      if (arg.is_string) {
        args_ += '"';
        in_string_ = true;
      }
    }
    if (arg.is_string) {
      args_ += arg.string_value;
      if (!arg.will_continue) {
        args_ += '"';
        in_string_ = false;
      }
    } else {
      if (same_string) return unexpected(malformed("function call argument (a string continued by another value)"));
      args_ += arg.other_value;
    }
    return {};
  }

  // The arguments text gathered so far goes to the client and is checked as a JSON object's start.
  Expected<void, Error> flush_arguments(StreamSink& sink) {
    if (args_.empty()) return {};
    if (!checker_.feed(args_)) return unexpected(malformed("function call arguments"));
    auto done = emit_arguments(streamed_call_, args_, sink);
    args_.clear();
    return done;
  }

  // Arguments as JSON text → an escaped piece of OpenAI's arguments string.
  Expected<void, Error> emit_arguments(int index, std::string_view json_text, StreamSink& sink) {
    escaped_.clear();
    append_json_string(escaped_, json_text);
    StreamEvent out;
    out.kind = StreamEvent::Kind::tool_arguments;
    out.tool_index = index;
    out.text = std::string_view(escaped_).substr(1, escaped_.size() - 2);
    sink.on_event(out);
    return {};
  }

  simdjson::error_code read_response(std::string_view text, ResponseFields& f) {
    od::document doc;
    od::value response;
    if (auto ec = parser_.iterate(json::padded_copy(text, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(response)) return ec;
    partial_used_ = 0;
    return for_each_member(response, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "responseId") return escaped_string(value, f.id);
      if (key == "modelVersion") return escaped_string(value, f.model);
      if (key == "usageMetadata") {
        if (auto ec = f.usage.read(value)) return ec;
        f.has_usage = true;
      } else if (key == "promptFeedback") {
        return for_each_member(value, [&f](std::string_view k, od::value v) -> simdjson::error_code {
          if (k == "blockReason") return v.get_string().get(f.block_reason);
          return simdjson::SUCCESS;
        });
      } else if (key == "candidates") {
        bool first = true;
        return for_each_item(value, [&](od::value candidate) -> simdjson::error_code {
          // One candidate is asked for (n must be 1); any other is not read.
          if (!first) return simdjson::SUCCESS;
          first = false;
          return read_candidate(candidate, f);
        });
      } else if (key == "error") {
        f.has_error = true;
        return for_each_member(value, [&f](std::string_view k, od::value v) -> simdjson::error_code {
          if (k == "status") return escaped_string(v, f.error_status);
          if (k == "message") return escaped_string(v, f.error_message);
          if (k == "code") f.error_code = integer(v);
          return simdjson::SUCCESS;
        });
      }
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code read_candidate(od::value candidate, ResponseFields& f) {
    return for_each_member(candidate, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "finishReason") return value.get_string().get(f.finish);
      if (key != "content") return simdjson::SUCCESS;
      return for_each_member(value, [&](std::string_view k, od::value v) -> simdjson::error_code {
        if (k != "parts") return simdjson::SUCCESS;
        return for_each_item(v, [&](od::value part) { return read_part(part); });
      });
    });
  }

  simdjson::error_code read_part(od::value value) {
    Part& part = parts_.emplace_back();
    return for_each_member(value, [&](std::string_view key, od::value v) -> simdjson::error_code {
      if (key == "text") return escaped_string(v, part.text);
      if (key == "thought") {
        json::read_optional(v.get_bool(), part.thought);
      } else if (key == "thoughtSignature") {
        return escaped_string(v, part.signature);
      } else if (key == "functionCall") {
        part.function_call = true;
        return for_each_member(v, [&](std::string_view k, od::value c) -> simdjson::error_code {
          if (k == "name") return escaped_string(c, part.call_name);
          if (k == "id") return escaped_string(c, part.call_id);
          if (k == "willContinue") json::read_optional(c.get_bool(), part.will_continue);
          if (k == "args") {
            od::object object;
            if (auto ec = c.get_object().get(object)) return ec;
            if (auto ec = object.raw_json().get(part.call_args)) return ec;
            // On-Demand skips the object without reading its values: check them.
            if (json::check_json(part.call_args)) return simdjson::TAPE_ERROR;
          }
          if (k == "partialArgs") return read_partial_args(c, part);
          return simdjson::SUCCESS;
        });
      }
      return simdjson::SUCCESS;
    });
  }

  simdjson::error_code read_partial_args(od::value list, Part& part) {
    if (partial_used_ >= partial_lists_.size()) partial_lists_.emplace_back();
    std::vector<PartialArg>& args = partial_lists_[partial_used_++];
    args.clear();
    part.partial_args = &args;
    return for_each_item(list, [&](od::value item) -> simdjson::error_code {
      PartialArg& arg = args.emplace_back();
      return for_each_member(item, [&](std::string_view k, od::value v) -> simdjson::error_code {
        if (k == "jsonPath") return v.get_string().get(arg.path);
        if (k == "willContinue") json::read_optional(v.get_bool(), arg.will_continue);
        if (k == "stringValue") {
          arg.is_string = true;
          return escaped_string(v, arg.string_value);
        }
        if (k == "numberValue") {
          double number;
          if (auto ec = v.get_double().get(number)) return ec;
          arg.other_value = v.raw_json_token();
          while (!arg.other_value.empty() && std::isspace(static_cast<unsigned char>(arg.other_value.back())))
            arg.other_value.remove_suffix(1);
        } else if (k == "boolValue") {
          bool b;
          if (auto ec = v.get_bool().get(b)) return ec;
          arg.other_value = b ? "true" : "false";
        } else if (k == "nullValue") {
          arg.other_value = "null";
        }
        return simdjson::SUCCESS;
      });
    });
  }

  od::parser parser_;
  std::string buffer_;  // the padded copy of the text being read
  std::vector<Part> parts_;                     // the parts of the response being read
  std::deque<std::vector<PartialArg>> partial_lists_;  // their partialArgs; a deque, so parts' pointers stay
  size_t partial_used_ = 0;
  bool started_ = false, finished_ = false;
  int tool_count_ = 0;
  GeminiUsage usage_;
  // A function call whose arguments stream in pieces: its index, the JSON text not yet sent, the
  // member whose string is open, and the checker of all the text sent.
  int streamed_call_ = -1;
  std::string args_;
  std::string open_key_;
  bool in_string_ = false;
  bool arguments_started_ = false;
  json::JsonChecker checker_{json::JsonChecker::kUnlimitedDepth, json::JsonChecker::Root::object};
  std::string id_, escaped_;
  // Minified arguments and made ids of the last body. Deques: growing them must not move strings
  // that earlier tool calls of the same body already point into.
  std::deque<std::string> arguments_, ids_;
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_gemini_decoder() { return std::make_unique<GeminiDecoder>(); }

}  // namespace llmux::providers
