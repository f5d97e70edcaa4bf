#include "ollama.hpp"

#include <algorithm>
#include <optional>

#include <boost/json.hpp>

#include "anthropic.hpp"

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kStreamType = "application/x-ndjson";
constexpr std::string_view kCreatedAt = "2025-10-26T17:15:24.097767Z";
constexpr std::string_view kMalformedLine = "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\n";
constexpr std::string_view kMidStreamError = "{\"error\":\"an error was encountered while running the model\"}\n";

const json::array* array_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

std::optional<std::string> invalid(const json::object& req) {
  auto* messages = array_field(req, "messages");
  if (!messages) return "messages is required";
  for (auto& m : *messages) {
    auto* o = m.if_object();
    if (!o) return "invalid message: must be an object";
    auto role = str_field(*o, "role");
    if (role != "system" && role != "user" && role != "assistant" && role != "tool")
      return "invalid role: " + std::string(role);
    if (auto* content = o->if_contains("content"); content && !content->is_string())
      return "invalid message content type: content must be a string";
    if (auto* images = o->if_contains("images"); images && !images->is_array()) return "images must be an array";
    if (auto* calls = array_field(*o, "tool_calls"))
      for (auto& c : *calls) {
        auto* f = c.is_object() ? c.get_object().if_contains("function") : nullptr;
        auto* args = f && f->is_object() ? f->get_object().if_contains("arguments") : nullptr;
        if (!args || !args->is_object()) return "tool call arguments must be an object";
      }
  }
  return std::nullopt;
}

struct Conversation {
  std::size_t prompt_chars = 0;
  std::string said;  // the last thing the user said
  bool after_tool_result = false;
};

Conversation read_conversation(const json::object& req) {
  Conversation c;
  for (auto& m : req.at("messages").get_array()) {
    auto& o = m.get_object();
    auto role = str_field(o, "role");
    auto text = str_field(o, "content");
    c.prompt_chars += code_points(text);
    if (role == "user") c.said = std::string(text);
    c.after_tool_result = role == "tool";
  }
  return c;
}

// The model calls the first tool it is offered, except right after a tool result: that turn is
// answered in text, so that a tool loop ends.
std::optional<std::string> tool_call(const json::object& req, const Conversation& c, std::string_view& name) {
  auto* tools = array_field(req, "tools");
  if (!tools || tools->empty() || c.after_tool_result) return std::nullopt;
  auto* tool = tools->front().if_object();
  auto* function = tool ? tool->if_contains("function") : nullptr;
  if (!function || !function->is_object()) return std::nullopt;
  name = str_field(function->get_object(), "name");
  const json::value* schema = function->get_object().if_contains("parameters");
  std::string args;
  append_object_sample(args, schema ? schema->if_object() : nullptr);
  return args;
}

std::string message_object(std::string_view model, std::string_view content, std::string_view tool_calls,
                           std::string_view thinking = {}) {
  std::string r = "{\"model\":";
  append_str(r, model);
  r += ",\"created_at\":\"";
  r += kCreatedAt;
  r += "\",\"message\":{\"role\":\"assistant\",\"content\":";
  append_str(r, content);
  if (!thinking.empty()) {  // what a thinking model (think: true) says before its answer
    r += ",\"thinking\":";
    append_str(r, thinking);
  }
  if (!tool_calls.empty()) {
    r += ",\"tool_calls\":";
    r += tool_calls;
  }
  r += '}';
  return r;
}

void append_done(std::string& r, std::string_view reason, std::uint64_t prompt, std::uint64_t output, bool counts) {
  r += ",\"done_reason\":\"";
  r += reason;
  r += "\",\"done\":true,\"total_duration\":4883583458,\"load_duration\":1334875";
  if (counts) {
    r += ",\"prompt_eval_count\":";
    append_num(r, prompt);
    r += ",\"prompt_eval_duration\":342546000,\"eval_count\":";
    append_num(r, output);
    r += ",\"eval_duration\":4535599000";
  }
  r += '}';
}

Reply chat(const json::object& req, std::string_view model, const Script& s) {
  const Conversation c = read_conversation(req);
  std::optional<std::uint64_t> max_tokens;
  if (auto* options = req.if_contains("options"); options && options->is_object())
    max_tokens = positive_int(options->get_object().if_contains("num_predict"));
  Answer a = answer(s, c.said, c.prompt_chars, max_tokens);
  std::string_view name;
  const auto args = tool_call(req, c, name);
  std::string calls;
  std::uint64_t output_tokens = a.completion_tokens;
  if (args) {
    output_tokens = std::max<std::uint64_t>(token_estimate(code_points(*args)), 1);
    calls = "[{\"function\":{\"name\":";
    append_str(calls, name);
    calls += ",\"arguments\":";
    calls += *args;
    calls += "}}]";
  }
  const std::string_view reason = a.length ? "length" : "stop";
  const bool counts = s.usage.value_or(true);
  const auto* stream_flag = req.if_contains("stream");
  const bool stream = !stream_flag || !stream_flag->is_bool() || stream_flag->get_bool();

  if (!stream) {
    Reply r;
    r.body = message_object(model, args ? std::string_view() : std::string_view(a.text), calls, a.reasoning);
    append_done(r.body, reason, a.prompt_tokens, output_tokens + a.reasoning_tokens, counts);
    return r;
  }
  Reply r = stream_reply(kStreamType);
  r.first_content = 0;
  if (s.malformed) r.events.emplace_back(kMalformedLine);
  auto line = [&](std::string text) {
    text += '\n';
    r.events.push_back(std::move(text));
  };
  for (auto piece : split_pieces(a.reasoning, a.reasoning.empty() ? 0 : 2))
    line(message_object(model, {}, {}, piece) + ",\"done\":false}");
  if (args) {
    line(message_object(model, {}, calls) + ",\"done\":false}");
  } else {
    for (auto piece : split_pieces(a.text, s.chunks)) line(message_object(model, piece, {}) + ",\"done\":false}");
  }
  if (s.stream_error) {
    r.events.emplace_back(kMidStreamError);
    return r;
  }
  std::string last = message_object(model, {}, {});
  append_done(last, reason, a.prompt_tokens, output_tokens + a.reasoning_tokens, counts);
  line(std::move(last));
  return r;
}

// A vector per input of a few numbers derived from its text, so that different inputs differ.
Reply embed(const json::object& req, std::string_view model) {
  const json::value* input = req.if_contains("input");
  std::vector<std::string_view> texts;
  if (input && input->is_string()) texts.push_back(input->get_string());
  if (input && input->is_array())
    for (auto& item : input->get_array())
      if (item.is_string()) texts.push_back(item.get_string());
  if (texts.empty()) return ollama_error(400, "invalid input type");
  Reply r;
  r.body = "{\"model\":";
  append_str(r.body, model);
  r.body += ",\"embeddings\":[";
  std::size_t chars = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    chars += code_points(texts[i]);
    if (i) r.body += ',';
    r.body += '[';
    for (int d = 0; d < 4; ++d) {
      if (d) r.body += ',';
      std::size_t n = texts[i].size() * 31 + static_cast<std::size_t>(d) * 7 + i;
      r.body += "0.";
      append_num(r.body, 1000 + n % 9000);
    }
    r.body += ']';
  }
  r.body += "],\"total_duration\":14143917,\"load_duration\":1019500,\"prompt_eval_count\":";
  append_num(r.body, token_estimate(chars));
  r.body += '}';
  return r;
}

}  // namespace

Reply ollama_error(unsigned status, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = "{\"error\":";
  append_str(r.body, message);
  r.body += '}';
  return r;
}

OllamaApi::OllamaApi(const std::vector<std::string>& models) : models_(models) {
  tags_body_ = "{\"models\":[";
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (i) tags_body_ += ',';
    tags_body_ += "{\"name\":";
    append_str(tags_body_, models[i]);
    tags_body_ += ",\"model\":";
    append_str(tags_body_, models[i]);
    tags_body_ += ",\"modified_at\":\"2025-05-04T17:37:44.706015396-07:00\",\"size\":2019393189,"
                  "\"digest\":\"a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72\","
                  "\"details\":{\"format\":\"gguf\",\"family\":\"llama\",\"parameter_size\":\"3.2B\","
                  "\"quantization_level\":\"Q4_K_M\"}}";
  }
  tags_body_ += "]}";
}

bool OllamaApi::known(std::string_view model) const {
  return std::find(models_.begin(), models_.end(), model) != models_.end();
}

Reply OllamaApi::answer(const Request& req, std::string_view path, const json::value& body, bool bad_json,
                        const Script& s) const {
  if (req.method() == http::verb::get && path == "/api/tags") {
    Reply r;
    r.body = tags_body_;
    return r;
  }
  if (req.method() != http::verb::post || (path != "/api/chat" && path != "/api/embed"))
    return ollama_error(404, "404 page not found");
  if (bad_json || !body.is_object()) return ollama_error(400, "invalid character in request body");
  const auto& o = body.get_object();
  auto model = str_field(o, "model");
  if (model.empty()) return ollama_error(400, "model is required");
  if (!known(model)) return ollama_error(404, "model \"" + std::string(model) + "\" not found, try pulling it first");
  if (path == "/api/embed") return embed(o, model);
  if (auto problem = invalid(o)) return ollama_error(400, *problem);
  if (s.malformed && o.if_contains("stream") && o.at("stream").is_bool() && !o.at("stream").get_bool()) {
    Reply r;
    r.body = kMalformedLine;
    return r;
  }
  return chat(o, model, s);
}

}  // namespace llmux::fake
