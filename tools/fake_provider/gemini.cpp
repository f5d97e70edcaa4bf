#include "gemini.hpp"

#include <algorithm>
#include <optional>

#include <boost/json.hpp>

#include "anthropic.hpp"

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kStreamType = "text/event-stream";
constexpr std::string_view kMalformedBody = R"({"candidates": [{"content": {"parts": [{"text": )";
constexpr std::string_view kMalformedEvent = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \r\n\r\n";
// What the API sends when the model fails after the stream has begun; the stream then ends.
constexpr std::string_view kOverloadedEvent =
    "data: {\"error\": {\"code\": 503,\"message\": \"The model is overloaded. Please try again later.\",\"status\": "
    "\"UNAVAILABLE\"}}\r\n\r\n";

std::string_view google_status(unsigned status) {
  switch (status) {
    case 400: return "INVALID_ARGUMENT";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "NOT_FOUND";
    case 409: return "ABORTED";
    case 429: return "RESOURCE_EXHAUSTED";
    case 499: return "CANCELLED";
    case 501: return "UNIMPLEMENTED";
    case 503: return "UNAVAILABLE";
    case 504: return "DEADLINE_EXCEEDED";
  }
  return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
}

std::string sse(std::string_view data) {
  std::string e = "data: ";
  e += data;
  e += "\r\n\r\n";  // as Google sends them
  return e;
}

const json::array* array_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

std::optional<std::string> invalid(const json::object& req) {
  auto* contents = array_field(req, "contents");
  if (!contents) return "* GenerateContentRequest.contents: contents is not specified";
  std::size_t i = 0;
  for (auto& c : *contents) {
    const std::string at = "* GenerateContentRequest.contents[" + std::to_string(i++) + "]";
    auto* o = c.if_object();
    if (!o) return at + ": must be an object";
    auto role = str_field(*o, "role");
    if (!role.empty() && role != "user" && role != "model") return at + ".role: must be user or model";
    auto* parts = array_field(*o, "parts");
    if (!parts || parts->empty()) return at + ".parts: contents.parts must not be empty";
  }
  return std::nullopt;
}

struct Conversation {
  std::size_t prompt_chars = 0;
  std::string said;  // the last thing the user said
  bool after_tool_result = false;
};

// Code points of the text parts, and of function responses as the JSON text they carry.
std::size_t parts_chars(const json::array& parts, bool& function_response) {
  std::size_t n = 0;
  function_response = false;
  for (auto& p : parts) {
    auto* o = p.if_object();
    if (!o) continue;
    if (auto* t = o->if_contains("text"); t && t->is_string()) n += code_points(t->get_string());
    if (auto* r = o->if_contains("functionResponse"); r && r->is_object()) {
      function_response = true;
      if (auto* body = r->get_object().if_contains("response")) n += code_points(json::serialize(*body));
    }
  }
  return n;
}

Conversation read_conversation(const json::object& req) {
  Conversation c;
  bool ignored = false;
  if (auto* system = req.if_contains("systemInstruction"); system && system->is_object())
    if (auto* parts = array_field(system->get_object(), "parts")) c.prompt_chars += parts_chars(*parts, ignored);
  const json::array* last_user = nullptr;
  for (auto& content : req.at("contents").get_array()) {
    auto& o = content.get_object();
    auto& parts = o.at("parts").get_array();
    bool results = false;
    c.prompt_chars += parts_chars(parts, results);
    const bool user = str_field(o, "role") != "model";
    if (user && !results) last_user = &parts;
    c.after_tool_result = user && results;
  }
  if (last_user) {
    for (auto& p : *last_user)
      if (auto* t = p.is_object() ? p.get_object().if_contains("text") : nullptr; t && t->is_string())
        c.said += t->get_string();
  }
  return c;
}

struct ToolCall {
  std::string_view name;
  std::string args;  // a JSON object
};

// The model calls a function when it is offered one and not told otherwise, except right after a
// function response: that turn is answered in text, so that a tool loop ends.
std::optional<ToolCall> tool_call(const json::object& req, const Conversation& c) {
  auto* tools = array_field(req, "tools");
  if (!tools || c.after_tool_result) return std::nullopt;
  std::string_view mode = "AUTO", wanted;
  if (auto* config = req.if_contains("toolConfig"); config && config->is_object()) {
    if (auto* fc = config->get_object().if_contains("functionCallingConfig"); fc && fc->is_object()) {
      if (auto m = str_field(fc->get_object(), "mode"); !m.empty()) mode = m;
      if (auto* names = array_field(fc->get_object(), "allowedFunctionNames"); names && !names->empty() &&
                                                                                names->front().is_string())
        wanted = names->front().get_string();
    }
  }
  if (mode == "NONE") return std::nullopt;
  for (auto& t : *tools) {
    auto* declarations = t.is_object() ? array_field(t.get_object(), "functionDeclarations") : nullptr;
    if (!declarations) continue;
    for (auto& d : *declarations) {
      auto* o = d.if_object();
      if (!o || (!wanted.empty() && str_field(*o, "name") != wanted)) continue;
      ToolCall call;
      call.name = str_field(*o, "name");
      const json::value* schema = o->if_contains("parametersJsonSchema");
      if (!schema) schema = o->if_contains("parameters");
      append_object_sample(call.args, schema ? schema->if_object() : nullptr);
      return call;
    }
  }
  return std::nullopt;
}

// Gemini's promptTokenCount includes the cached tokens; thoughts are counted beside the candidates.
void append_usage(std::string& out, std::uint64_t prompt, std::uint64_t output, std::uint64_t cached,
                  std::uint64_t thoughts) {
  out += ",\"usageMetadata\":{\"promptTokenCount\":";
  append_num(out, prompt + cached);
  out += ",\"candidatesTokenCount\":";
  append_num(out, output);
  out += ",\"totalTokenCount\":";
  append_num(out, prompt + cached + output + thoughts);
  if (cached) {
    out += ",\"cachedContentTokenCount\":";
    append_num(out, cached);
  }
  if (thoughts) {
    out += ",\"thoughtsTokenCount\":";
    append_num(out, thoughts);
  }
  out += '}';
}

// A thought summary part (what includeThoughts returns).
std::string thought_part(std::string_view text) {
  std::string part = "{\"text\":";
  append_str(part, text);
  part += ",\"thought\":true}";
  return part;
}

// {"candidates":[{"content":{"parts":[<parts>],"role":"model"}[,"finishReason":…],"index":0}]
std::string response(std::string_view parts, std::string_view finish) {
  std::string r = "{\"candidates\":[{\"content\":{\"parts\":[";
  r += parts;
  r += "],\"role\":\"model\"}";
  if (!finish.empty()) {
    r += ",\"finishReason\":\"";
    r += finish;
    r += '"';
  }
  r += ",\"index\":0}]";
  return r;
}

void append_tail(std::string& r, std::string_view model) {
  r += ",\"modelVersion\":";
  append_str(r, model);
  r += ",\"responseId\":\"fakeResponseId0001\"}";
}

Reply generate(const json::object& req, std::string_view model, bool stream, const Script& s) {
  const Conversation c = read_conversation(req);
  std::optional<std::uint64_t> max_tokens;
  if (auto* config = req.if_contains("generationConfig"); config && config->is_object())
    max_tokens = positive_int(config->get_object().if_contains("maxOutputTokens"));
  Answer a = answer(s, c.said, c.prompt_chars, max_tokens);
  const auto call = tool_call(req, c);
  std::uint64_t output_tokens = a.completion_tokens;
  std::string_view finish = a.length ? "MAX_TOKENS" : "STOP";
  std::string call_part;
  if (call) {
    output_tokens = std::max<std::uint64_t>(token_estimate(code_points(call->args)), 1);
    call_part = "{\"functionCall\":{\"name\":";
    append_str(call_part, call->name);
    call_part += ",\"args\":";
    call_part += call->args;
    call_part += "},\"thoughtSignature\":\"ZmFrZS1zaWduYXR1cmU=\"}";
  }
  const bool with_usage = s.usage.value_or(true);

  if (!stream) {
    Reply r;
    std::string text_part = "{\"text\":";
    append_str(text_part, a.text);
    text_part += '}';
    std::string parts = a.reasoning.empty() ? std::string() : thought_part(a.reasoning) + ",";
    parts += call ? call_part : text_part;
    r.body = response(parts, finish);
    if (with_usage) append_usage(r.body, a.prompt_tokens, output_tokens, s.cached_tokens, a.reasoning_tokens);
    append_tail(r.body, model);
    return r;
  }

  // Every event is a whole response; the last carries the finishReason. A function call comes
  // whole in one event, as Gemini sends it.
  Reply r = stream_reply(kStreamType);
  r.first_content = 0;
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  auto push = [&](std::string_view part, std::string_view reason, std::uint64_t output) {
    std::string e = response(part, reason);
    if (with_usage) append_usage(e, a.prompt_tokens, output, s.cached_tokens, a.reasoning_tokens);
    append_tail(e, model);
    r.events.push_back(sse(e));
  };
  for (auto piece : split_pieces(a.reasoning, a.reasoning.empty() ? 0 : 2)) push(thought_part(piece), {}, 0);
  if (call) {
    push(call_part, {}, output_tokens);
  } else {
    std::uint64_t words = 0;
    for (auto piece : split_pieces(a.text, s.chunks)) {
      std::string part = "{\"text\":";
      append_str(part, piece);
      part += '}';
      push(part, {}, ++words);
    }
  }
  if (s.stream_error) {
    r.events.emplace_back(kOverloadedEvent);
    return r;
  }
  push("{\"text\":\"\"}", finish, output_tokens);
  return r;
}

}  // namespace

Reply gemini_error(unsigned status, std::string_view message) {
  Reply r;
  r.status = status;
  r.content_type = "application/json; charset=UTF-8";
  r.body = "{\"error\":{\"code\":";
  append_num(r.body, status);
  r.body += ",\"message\":";
  append_str(r.body, message);
  r.body += ",\"status\":\"";
  r.body += google_status(status);
  r.body += "\"}}";
  return r;
}

GeminiApi::GeminiApi(const std::vector<std::string>& models) : models_(models) {
  models_body_ = "{\"models\":[";
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (i) models_body_ += ',';
    models_body_ += "{\"name\":";
    append_str(models_body_, "models/" + models[i]);
    models_body_ += ",\"displayName\":";
    append_str(models_body_, models[i]);
    models_body_ += ",\"supportedGenerationMethods\":[\"generateContent\",\"countTokens\"]}";
  }
  models_body_ += "]}";
}

bool GeminiApi::known(std::string_view model) const {
  return std::find(models_.begin(), models_.end(), model) != models_.end();
}

Reply GeminiApi::answer(const Request& req, std::string_view path, const json::value& body, bool bad_json,
                        const Script& s) const {
  constexpr std::string_view models = "/v1beta/models";
  if (req.method() == http::verb::get && path == models) {
    Reply r;
    r.body = models_body_;
    return r;
  }
  if (req.method() != http::verb::post || !path.starts_with(models) || path.size() <= models.size() ||
      path[models.size()] != '/')
    return gemini_error(404, "Not Found");
  std::string_view target = path.substr(models.size() + 1);
  auto colon = target.rfind(':');
  std::string_view model = target.substr(0, colon), method = colon == std::string_view::npos ? "" : target.substr(colon + 1);
  if (method != "generateContent" && method != "streamGenerateContent") return gemini_error(404, "Not Found");
  const bool stream = method == "streamGenerateContent";
  if (stream && req.target().find("alt=sse") == std::string_view::npos)
    return gemini_error(400, "the fake provider streams only with alt=sse");
  if (bad_json || !body.is_object()) return gemini_error(400, "Invalid JSON payload received.");
  if (auto problem = invalid(body.get_object())) return gemini_error(400, *problem);
  if (!known(model))
    return gemini_error(404, "models/" + std::string(model) +
                                 " is not found for API version v1beta, or is not supported for generateContent.");
  if (s.malformed && !stream) {
    Reply r;
    r.body = kMalformedBody;
    return r;
  }
  return generate(body.get_object(), model, stream, s);
}

}  // namespace llmux::fake
