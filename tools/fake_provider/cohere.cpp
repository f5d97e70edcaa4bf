#include "cohere.hpp"

#include <algorithm>
#include <optional>

#include <boost/json.hpp>

#include "anthropic.hpp"

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kStreamType = "text/event-stream";
constexpr std::string_view kId = "e7592632-1e3d-424f-b129-bd5f9f980f7b";
constexpr std::string_view kMalformedEvent = "event: content-delta\ndata: {\"type\":\"content-delta\",\"delta\":\n\n";

const json::array* array_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

std::optional<std::string> invalid(const json::object& req) {
  auto* messages = array_field(req, "messages");
  if (!messages || messages->empty()) return "invalid request: messages must not be empty";
  for (auto& m : *messages) {
    auto* o = m.if_object();
    if (!o) return "invalid request: each message must be an object";
    auto role = str_field(*o, "role");
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      return "invalid request: role must be one of system, user, assistant, tool";
    if (role == "tool" && str_field(*o, "tool_call_id").empty()) return "invalid request: tool messages need a tool_call_id";
  }
  return std::nullopt;
}

struct Conversation {
  std::size_t prompt_chars = 0;
  std::string said;
  bool after_tool_result = false;
};

Conversation read_conversation(const json::object& req) {
  Conversation c;
  for (auto& m : req.at("messages").get_array()) {
    auto& o = m.get_object();
    auto role = str_field(o, "role");
    std::string text;
    if (auto* content = o.if_contains("content")) text = joined_text(*content);
    c.prompt_chars += code_points(text);
    if (role == "user") c.said = text;
    c.after_tool_result = role == "tool";
  }
  return c;
}

struct Call {
  std::string_view name;
  std::string args;
};

std::optional<Call> tool_call(const json::object& req, const Conversation& c) {
  auto* tools = array_field(req, "tools");
  if (!tools || tools->empty() || c.after_tool_result || str_field(req, "tool_choice") == "NONE") return std::nullopt;
  auto* tool = tools->front().if_object();
  auto* function = tool ? tool->if_contains("function") : nullptr;
  if (!function || !function->is_object()) return std::nullopt;
  Call call;
  call.name = str_field(function->get_object(), "name");
  const json::value* schema = function->get_object().if_contains("parameters");
  append_object_sample(call.args, schema ? schema->if_object() : nullptr);
  return call;
}

void append_usage(std::string& out, std::uint64_t prompt, std::uint64_t output) {
  out += "\"usage\":{\"billed_units\":{\"input_tokens\":";
  append_num(out, prompt);
  out += ",\"output_tokens\":";
  append_num(out, output);
  out += "},\"tokens\":{\"input_tokens\":";
  append_num(out, prompt + 7);  // the system preamble Cohere adds is processed, not billed
  out += ",\"output_tokens\":";
  append_num(out, output + 1);
  out += "}}";
}

std::string event(std::string_view type, std::string_view rest) {
  std::string e = "event: ";
  e += type;
  e += "\ndata: {\"type\":\"";
  e += type;
  e += '"';
  e += rest;
  e += "}\n\n";
  return e;
}

Reply chat(const json::object& req, const Script& s) {
  const Conversation c = read_conversation(req);
  Answer a = answer(s, c.said, c.prompt_chars, positive_int(req.if_contains("max_tokens")));
  const auto call = tool_call(req, c);
  std::uint64_t output_tokens = a.completion_tokens;
  std::string_view finish = call ? "TOOL_CALL" : a.length ? "MAX_TOKENS" : "COMPLETE";
  const std::string call_id = call ? std::string(call->name) + "_dqgshstja6p9" : std::string();
  const std::string plan = call ? "I will use the " + std::string(call->name) + " tool." : std::string();
  if (call) output_tokens = std::max<std::uint64_t>(token_estimate(code_points(call->args)), 1);
  output_tokens += a.reasoning_tokens;
  const bool stream = req.if_contains("stream") && req.at("stream").is_bool() && req.at("stream").get_bool();

  if (!stream) {
    Reply r;
    r.body = "{\"id\":\"";
    r.body += kId;
    r.body += "\",\"message\":{\"role\":\"assistant\",";
    if (call) {
      r.body += "\"tool_plan\":";
      append_str(r.body, plan);
      r.body += ",\"tool_calls\":[{\"id\":";
      append_str(r.body, call_id);
      r.body += ",\"type\":\"function\",\"function\":{\"name\":";
      append_str(r.body, call->name);
      r.body += ",\"arguments\":";
      append_str(r.body, call->args);
      r.body += "}}]";
    } else {
      r.body += "\"content\":[";
      if (!a.reasoning.empty()) {  // a reasoning model's thinking part comes first
        r.body += "{\"type\":\"thinking\",\"thinking\":";
        append_str(r.body, a.reasoning);
        r.body += "},";
      }
      r.body += "{\"type\":\"text\",\"text\":";
      append_str(r.body, a.text);
      r.body += "}]";
    }
    r.body += "},\"finish_reason\":\"";
    r.body += finish;
    r.body += "\",";
    append_usage(r.body, a.prompt_tokens, output_tokens);
    r.body += '}';
    return r;
  }
  Reply r = stream_reply(kStreamType);
  r.events.push_back(event("message-start", std::string(",\"id\":\"") + std::string(kId) +
                                                "\",\"delta\":{\"message\":{\"role\":\"assistant\",\"content\":[],"
                                                "\"tool_plan\":\"\",\"tool_calls\":[],\"citations\":[]}}"));
  r.first_content = 1;
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  auto delta = [](std::string_view field_path_open, std::string_view value, std::string_view close) {
    std::string rest(field_path_open);
    append_str(rest, value);
    rest += close;
    return rest;
  };
  if (call) {
    for (auto piece : split_pieces(plan, 3))
      r.events.push_back(event("tool-plan-delta", delta(",\"delta\":{\"message\":{\"tool_plan\":", piece, "}}")));
    std::string start = ",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"id\":";
    append_str(start, call_id);
    start += ",\"type\":\"function\",\"function\":{\"name\":";
    append_str(start, call->name);
    start += ",\"arguments\":\"\"}}}}";
    r.events.push_back(event("tool-call-start", start));
    for (auto piece : split_pieces(call->args, 3))
      r.events.push_back(event("tool-call-delta", delta(",\"index\":0,\"delta\":{\"message\":{\"tool_calls\":{\"function\":{\"arguments\":",
                                                        piece, "}}}}")));
    r.events.push_back(event("tool-call-end", ",\"index\":0"));
  } else {
    // Each content block by its index: the thinking block (when there is reasoning), then the text.
    std::string index = "0";
    if (!a.reasoning.empty()) {
      r.events.push_back(event("content-start", ",\"index\":0,\"delta\":{\"message\":{\"content\":{\"type\":\"thinking\",\"thinking\":\"\"}}}"));
      for (auto piece : split_pieces(a.reasoning, 2))
        r.events.push_back(event("content-delta", delta(",\"index\":0,\"delta\":{\"message\":{\"content\":{\"thinking\":", piece, "}}}")));
      r.events.push_back(event("content-end", ",\"index\":0"));
      index = "1";
    }
    r.events.push_back(event("content-start", ",\"index\":" + index + ",\"delta\":{\"message\":{\"content\":{\"type\":\"text\",\"text\":\"\"}}}"));
    for (auto piece : split_pieces(a.text, s.chunks))
      r.events.push_back(event("content-delta", delta(",\"index\":" + index + ",\"delta\":{\"message\":{\"content\":{\"text\":", piece, "}}}")));
    r.events.push_back(event("content-end", ",\"index\":" + index));
  }
  std::string end = ",\"delta\":{\"finish_reason\":\"";
  end += s.stream_error ? std::string_view("ERROR") : finish;
  end += "\",";
  append_usage(end, a.prompt_tokens, output_tokens);
  end += '}';
  r.events.push_back(event("message-end", end));
  return r;
}

Reply embed(const json::object& req) {
  auto* texts = array_field(req, "texts");
  if (!texts || texts->empty()) return cohere_error(400, "invalid request: texts must not be empty");
  if (str_field(req, "input_type").empty())
    return cohere_error(400, "invalid request: valid input_type must be provided with the provided model");
  Reply r;
  r.body = "{\"id\":\"f5aa3e7b-f011-4c5c-a825-f94669f760e5\",\"embeddings\":{\"float\":[";
  std::size_t chars = 0;
  for (std::size_t i = 0; i < texts->size(); ++i) {
    std::string_view text = (*texts)[i].is_string() ? std::string_view((*texts)[i].get_string()) : std::string_view();
    chars += code_points(text);
    if (i) r.body += ',';
    r.body += "[0.0";
    append_num(r.body, 1000 + text.size() % 9000);
    r.body += ",-0.0";
    append_num(r.body, 2000 + i);
    r.body += ']';
  }
  r.body += "]},\"meta\":{\"api_version\":{\"version\":\"2\"},\"billed_units\":{\"input_tokens\":";
  append_num(r.body, token_estimate(chars));
  r.body += "}},\"response_type\":\"embeddings_by_type\"}";
  return r;
}

}  // namespace

Reply cohere_error(unsigned status, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = "{\"id\":\"8bd5b608-887c-49f7-a6b3-d3bd5830c3de\",\"message\":";
  append_str(r.body, message);
  r.body += '}';
  return r;
}

CohereApi::CohereApi(const std::vector<std::string>& models) : models_(models) {
  models_body_ = "{\"models\":[";
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (i) models_body_ += ',';
    models_body_ += "{\"name\":";
    append_str(models_body_, models[i]);
    models_body_ += ",\"endpoints\":[\"chat\",\"embed\"],\"finetuned\":false,\"context_length\":256000}";
  }
  models_body_ += "]}";
}

bool CohereApi::known(std::string_view model) const {
  return std::find(models_.begin(), models_.end(), model) != models_.end();
}

Reply CohereApi::answer(const Request& req, std::string_view path, const json::value& body, bool bad_json,
                        const Script& s) const {
  path.remove_prefix(kPrefix.size());
  if (req.method() == http::verb::get && path == "/v1/models") {
    Reply r;
    r.body = models_body_;
    return r;
  }
  if (req.method() != http::verb::post || (path != "/v2/chat" && path != "/v2/embed"))
    return cohere_error(404, "Not Found");
  if (bad_json || !body.is_object()) return cohere_error(400, "invalid request: the body is not valid JSON");
  const auto& o = body.get_object();
  auto model = str_field(o, "model");
  if (!known(model))
    return cohere_error(404, "model '" + std::string(model) +
                                 "' not found, make sure the correct model ID was used and that you have access to the model.");
  if (path == "/v2/embed") return embed(o);
  if (auto problem = invalid(o)) return cohere_error(400, *problem);
  if (s.malformed && !(o.if_contains("stream") && o.at("stream").is_bool() && o.at("stream").get_bool())) {
    Reply r;
    r.body = "{\"id\":\"x\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":";
    return r;
  }
  return chat(o, s);
}

}  // namespace llmux::fake
