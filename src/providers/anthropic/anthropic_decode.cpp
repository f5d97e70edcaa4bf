// Anthropic message bodies and message streams into canonical form (chat_events.hpp).
// simdjson's On-Demand API reads each event in place: string values are taken as raw tokens, so
// text reaches the client still escaped, exactly as Anthropic wrote it.
#include <algorithm>
#include <deque>

#include <simdjson.h>

#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/decode_support.hpp"

namespace llmux::providers {

namespace {

namespace od = simdjson::ondemand;
using decode::escaped_string;
using decode::for_each_member;
using decode::integer;

Error malformed(std::string_view what) {
  Error e = Error::make(ErrorKind::upstream_error, "Anthropic sent a malformed " + std::string(what), {},
                        "upstream_malformed_response");
  e.http_status = 502;
  return e;
}

FinishReason finish_reason(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") return FinishReason::length;
  if (stop_reason == "tool_use") return FinishReason::tool_calls;
  if (stop_reason == "refusal") return FinishReason::content_filter;
  return FinishReason::stop;  // end_turn, stop_sequence, pause_turn and any newer reason
}

// Anthropic counts cached input apart from input_tokens; OpenAI's prompt_tokens include it.
struct AnthropicUsage {
  int64_t input = 0, cache_creation = 0, cache_read = 0, output = 0;
  bool has_input = false, has_output = false;

  simdjson::error_code read(od::value usage) {
    return for_each_member(usage, [this](std::string_view key, od::value value) {
      if (key == "input_tokens") {
        input = integer(value);
        has_input = true;
      } else if (key == "output_tokens") {
        output = integer(value);
        has_output = true;
      } else if (key == "cache_creation_input_tokens") {
        cache_creation = integer(value);
      } else if (key == "cache_read_input_tokens") {
        cache_read = integer(value);
      }
      return simdjson::SUCCESS;
    });
  }
  json::Usage canonical() const {
    json::Usage u;
    u.prompt_tokens = json::add_tokens(json::add_tokens(input, cache_creation), cache_read);
    u.completion_tokens = output;
    u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
    u.cached_tokens = cache_read;
    u.cache_write_tokens = cache_creation;
    u.reported = has_input || has_output;
    return u;
  }
};

// What one stream event says, gathered before acting on it (members can come in any order).
struct EventFields {
  std::string_view type;
  int64_t index = -1;
  std::string_view id, model;              // message_start: message.id, message.model
  std::string_view block_type, block_id, block_name, block_text;  // content_block_start
  std::string_view delta_type, delta_text, stop_reason;           // content_block_delta, message_delta
  std::string_view partial_json;           // input_json_delta's piece unescaped: the JSON text itself
  std::string_view error_type, error_message;                     // error
  AnthropicUsage usage;
  bool has_usage = false;
};

class AnthropicDecoder final : public ResponseDecoder {
 public:
  void reset() override {
    block_tool_index_.clear();
    tool_count_ = 0;
    usage_ = {};
    open_tool_block_ = -1;
    message_started_ = false;
  }

  Expected<void, Error> decode_event(const http::SseEvent& event, StreamSink& sink) override {
    if (event.data.empty()) return {};  // a bare "data:" line carries nothing to decode
    EventFields f;
    if (read_event(event.data, f)) return unexpected(malformed("stream event"));
    StreamEvent out;
    using Kind = StreamEvent::Kind;
    if (f.type == "content_block_delta") {
      int tool = tool_index_of(f.index);
      if (f.delta_type == "text_delta") {
        out.kind = Kind::text;
      } else if (f.delta_type == "thinking_delta") {
        out.kind = Kind::reasoning;
      } else if (f.delta_type == "signature_delta") {
        out.kind = Kind::reasoning_signature;
      } else if (f.delta_type == "input_json_delta" && tool >= 0) {
        if (!check_tool_input_piece(f)) return unexpected(malformed("tool input (not a JSON object)"));
        out.kind = Kind::tool_arguments;
        out.tool_index = tool;
      } else {
        return {};  // citations, server tools' input
      }
      out.text = f.delta_text;
      sink.on_event(out);
    } else if (f.type == "content_block_start") {
      if (!end_tool_input(sink)) return unexpected(malformed("tool input (not a JSON object)"));
      if (!start_block(f, sink)) return unexpected(malformed("stream (a content block index started twice)"));
    } else if (f.type == "content_block_stop") {
      if (f.index == open_tool_block_ && !end_tool_input(sink))
        return unexpected(malformed("tool input (not a JSON object)"));
    } else if (f.type == "message_start") {
      // One stream carries one message. Nothing is reset here, and a second one is refused: either
      // would number tool calls from 0 again, and the client would join two calls' arguments.
      if (message_started_) return unexpected(malformed("stream (a second message_start)"));
      message_started_ = true;
      if (f.has_usage) usage_ = f.usage;
      out.kind = Kind::start;
      out.id = f.id;
      out.model = f.model;
      sink.on_event(out);
    } else if (f.type == "message_delta") {
      if (f.has_usage) {
        // Output tokens are cumulative; input counts are repeated only by newer API versions.
        if (f.usage.has_output) {
          usage_.output = f.usage.output;
          usage_.has_output = true;
        }
        if (f.usage.has_input) {
          usage_.has_input = true;
          usage_.input = f.usage.input;
          usage_.cache_creation = f.usage.cache_creation;
          usage_.cache_read = f.usage.cache_read;
        }
      }
      if (!f.stop_reason.empty()) {
        out.kind = Kind::finish;
        out.finish = finish_reason(f.stop_reason);
        sink.on_event(out);
      }
    } else if (f.type == "message_stop") {
      if (!end_tool_input(sink)) return unexpected(malformed("tool input (not a JSON object)"));
      out.kind = Kind::usage;
      out.usage = usage_.canonical();
      sink.on_event(out);
      out.kind = Kind::done;
      sink.on_event(out);
    } else if (f.type == "error") {
      out.kind = Kind::error;
      out.error_type = f.error_type;
      out.text = f.error_message.empty() ? std::string_view("the provider reported an error") : f.error_message;
      sink.on_event(out);
    }
    // ping and event types newer than this code carry nothing to pass on.
    return {};
  }

  Expected<void, Error> decode_body(std::string_view body, ChatResponse& out) override {
    out.clear();
    od::document doc;
    od::value message;
    if (parser_.iterate(json::padded_copy(body, buffer_)).get(doc) || doc.get_value().get(message))
      return unexpected(malformed("response (not JSON)"));
    size_t tools = 0;
    AnthropicUsage usage;
    auto read = [&]() -> simdjson::error_code {
      return for_each_member(message, [&](std::string_view key, od::value value) -> simdjson::error_code {
        if (key == "id") {
          return escaped_string(value, out.id);
        } else if (key == "model") {
          return escaped_string(value, out.model);
        } else if (key == "stop_reason") {
          std::string_view reason;
          if (!value.get_string().get(reason)) out.finish = finish_reason(reason);
        } else if (key == "usage") {
          return usage.read(value);
        } else if (key == "content") {
          od::array blocks;
          if (auto ec = value.get_array().get(blocks)) return ec;
          for (auto item : blocks) {
            od::value block;
            if (auto ec = item.get(block)) return ec;
            if (auto ec = read_block(block, out, tools)) return ec;
          }
        }
        return simdjson::SUCCESS;
      });
    };
    if (read()) return unexpected(malformed("response"));
    out.usage = usage.canonical();
    return {};
  }

 private:
  simdjson::error_code read_event(std::string_view data, EventFields& f) {
    od::document doc;
    od::value event;
    if (auto ec = parser_.iterate(json::padded_copy(data, buffer_)).get(doc)) return ec;
    if (auto ec = doc.get_value().get(event)) return ec;
    return for_each_member(event, [&f](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "type") return value.get_string().get(f.type);
      if (key == "index") {
        f.index = integer(value);
      } else if (key == "delta") {
        return for_each_member(value, [&f](std::string_view k, od::value v) -> simdjson::error_code {
          if (k == "type") json::read_optional(v.get_string(), f.delta_type);
          else if (k == "text" || k == "thinking" || k == "signature") return escaped_string(v, f.delta_text);
          else if (k == "stop_reason") json::read_optional(v.get_string(), f.stop_reason);
          if (k != "partial_json") return simdjson::SUCCESS;
          // Passed on escaped, as it came; checked unescaped, as the client will read it.
          if (auto ec = escaped_string(v, f.delta_text)) return ec;
          return v.get_string().get(f.partial_json);
        });
      } else if (key == "content_block") {
        return for_each_member(value, [&f](std::string_view k, od::value v) {
          if (k == "type") json::read_optional(v.get_string(), f.block_type);
          else if (k == "id") return escaped_string(v, f.block_id);
          else if (k == "name") return escaped_string(v, f.block_name);
          else if (k == "text" || k == "thinking" || k == "data") return escaped_string(v, f.block_text);
          return simdjson::SUCCESS;
        });
      } else if (key == "message") {
        return for_each_member(value, [&f](std::string_view k, od::value v) {
          if (k == "id") return escaped_string(v, f.id);
          else if (k == "model") return escaped_string(v, f.model);
          else if (k == "usage" && !f.usage.read(v)) f.has_usage = true;
          return simdjson::SUCCESS;
        });
      } else if (key == "usage") {
        if (!f.usage.read(value)) f.has_usage = true;
      } else if (key == "error") {
        return for_each_member(value, [&f](std::string_view k, od::value v) {
          if (k == "type") return escaped_string(v, f.error_type);
          else if (k == "message") return escaped_string(v, f.error_message);
          return simdjson::SUCCESS;
        });
      }
      return simdjson::SUCCESS;
    });
  }

  // Block indexes are unique within a message: a second start at an index would append a second
  // tool call's input to the first's arguments ("{}{}"), so it ends the stream as malformed.
  bool start_block(const EventFields& f, StreamSink& sink) {
    if (f.index < 0 || f.index > 4096) return true;
    auto index = static_cast<size_t>(f.index);
    if (block_tool_index_.size() <= index) block_tool_index_.resize(index + 1, kBlockUnused);
    if (block_tool_index_[index] != kBlockUnused) return false;
    block_tool_index_[index] = kBlockNotTool;
    StreamEvent out;
    if (f.block_type == "tool_use") {
      open_tool_block_ = f.index;
      tool_input_.reset();
      block_tool_index_[index] = tool_count_;
      out.kind = StreamEvent::Kind::tool_call;
      out.tool_index = tool_count_++;
      out.id = f.block_id;
      out.name = f.block_name;
      sink.on_event(out);
    } else if (f.block_type == "text" || f.block_type == "thinking") {
      // A block may start with text of its own (it normally starts empty).
      out.kind = f.block_type == "text" ? StreamEvent::Kind::text : StreamEvent::Kind::reasoning;
      out.text = f.block_text;
      if (!out.text.empty()) sink.on_event(out);
    } else if (f.block_type == "redacted_thinking") {
      out.kind = StreamEvent::Kind::redacted_reasoning;  // whole in its start; no deltas follow
      out.text = f.block_text;
      if (!out.text.empty()) sink.on_event(out);
    }
    // server_tool_use and the server tools' result blocks run at Anthropic; the client has
    // nothing to execute, so they are not tool calls for it.
    return true;
  }

  // A tool call's input streams as pieces of JSON text (input_json_delta) that make a JSON object
  // only once the block ends; each piece goes to the client as it comes. A piece that cannot
  // continue a JSON object, a piece for a tool block that is no longer open (blocks stream one at
  // a time) and a block that ends with its object incomplete are malformed: the stream ends with
  // an error instead of arguments the client cannot parse. A tool without parameters streams no
  // input at all (an empty partial_json): its arguments are "{}", as OpenAI sends them, not "".
  bool check_tool_input_piece(const EventFields& f) {
    if (f.index != open_tool_block_) return false;
    return tool_input_.feed(f.partial_json);
  }
  bool end_tool_input(StreamSink& sink) {
    if (open_tool_block_ < 0) return true;
    int tool = tool_index_of(open_tool_block_);
    open_tool_block_ = -1;
    if (!tool_input_.blank()) return tool_input_.finish();
    StreamEvent out;
    out.kind = StreamEvent::Kind::tool_arguments;
    out.tool_index = tool;
    out.text = "{}";
    sink.on_event(out);
    return true;
  }

  int tool_index_of(int64_t block) const {
    if (block < 0 || static_cast<size_t>(block) >= block_tool_index_.size()) return -1;
    return std::max(block_tool_index_[static_cast<size_t>(block)], -1);
  }

  simdjson::error_code read_block(od::value block, ChatResponse& out, size_t& tools) {
    std::string_view type, text, id, name, signature;
    std::string_view input = "{}";  // as Anthropic's API defaults it, should a block leave it out
    auto read = for_each_member(block, [&](std::string_view key, od::value value) -> simdjson::error_code {
      if (key == "type") {
        if (auto ec = value.get_string().get(type)) return ec;
      } else if (key == "text" || key == "thinking" || key == "data") {
        return escaped_string(value, text);
      } else if (key == "signature") {
        return escaped_string(value, signature);
      } else if (key == "id") {
        return escaped_string(value, id);
      } else if (key == "name") {
        return escaped_string(value, name);
      } else if (key == "input") {
        od::object object;
        if (auto ec = value.get_object().get(object)) return ec;
        if (auto ec = object.raw_json().get(input)) return ec;
        // On-Demand skips the object without reading its values, and minify copies what it is
        // given: `{"a":tru}` would reach the client as its arguments.
        if (json::check_json(input)) return simdjson::TAPE_ERROR;
      }
      return simdjson::SUCCESS;
    });
    if (read) return read;
    if (type == "text") {
      out.text.push_back(text);
    } else if (type == "thinking") {
      out.reasoning.push_back(text);
      if (!signature.empty()) out.reasoning_signature = signature;
    } else if (type == "redacted_thinking") {
      if (!text.empty()) out.redacted_reasoning.push_back(text);
    } else if (type == "tool_use") {
      if (arguments_.size() <= tools) arguments_.resize(tools + 1);
      std::string& args = arguments_[tools++];
      args.resize(input.size());
      size_t length = 0;
      if (simdjson::minify(input.data(), input.size(), args.data(), length)) return simdjson::TAPE_ERROR;
      args.resize(length);
      out.tool_calls.push_back(ToolCall{id, name, args});
    }
    return simdjson::SUCCESS;
  }

  od::parser parser_;
  std::string buffer_;                   // the padded copy of the text being read
  static constexpr int kBlockUnused = -1, kBlockNotTool = -2;
  std::vector<int> block_tool_index_;    // content block index -> tool call index, or kBlock*
  int tool_count_ = 0;
  AnthropicUsage usage_;
  int64_t open_tool_block_ = -1;  // the streamed tool_use block whose input is being checked
  bool message_started_ = false;
  json::JsonChecker tool_input_{json::JsonChecker::kUnlimitedDepth, json::JsonChecker::Root::object};
  // Minified tool inputs of the last body. A deque: growing it must not move the strings that
  // earlier tool calls of the same body already point into (short ones hold their text inline).
  std::deque<std::string> arguments_;
};

}  // namespace

std::unique_ptr<ResponseDecoder> make_anthropic_decoder() { return std::make_unique<AnthropicDecoder>(); }

}  // namespace llmux::providers
