#include "anthropic.hpp"

#include <algorithm>
#include <optional>

#include <boost/json.hpp>

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kStreamType = "text/event-stream; charset=utf-8";
constexpr std::string_view kMalformedBody = R"({"id": "msg_x", "type": "message", "content": [)";
constexpr std::string_view kMalformedEvent =
    "event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": \n\n";
// Byte for byte what the API sends when it fails after the stream has begun (the space before
// the last brace included); the stream then ends without message_delta and message_stop.
constexpr std::string_view kOverloadedEvent =
    "event: error\ndata: {\"type\":\"error\",\"error\":{\"details\":null,\"type\":\"overloaded_error\","
    "\"message\":\"Overloaded\"} }\n\n";

std::string event(std::string_view name, std::string_view data) {
  std::string e = "event: ";
  e += name;
  e += "\ndata: ";
  e += data;
  e += "\n\n";
  return e;
}

// ---- extended thinking ---------------------------------------------------------------------
// A thinking answer starts with a thinking block signed over its text (FNV-1a here, an opaque
// token at Anthropic); a later turn must give it back unchanged, as the API checks.

bool thinking_enabled(const json::object& req) {
  auto* thinking = req.if_contains("thinking");
  return thinking && thinking->is_object() && str_field(thinking->get_object(), "type") == "enabled";
}

std::string thinking_signature(std::string_view thinking) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : thinking) h = (h ^ c) * 1099511628211ull;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string sig = "fakesig";
  for (int shift = 60; shift >= 0; shift -= 4) sig += kHex[(h >> shift) & 15];
  return sig;
}

std::string thinking_text(std::string_view said) { return "The user asked: " + std::string(said); }

// What the API says of thinking given back in the messages: a signature that does not match, and
// (in a tool loop) a last assistant turn that does not start with its thinking.
std::optional<std::string> invalid_thinking(const json::array& msgs) {
  std::size_t last_assistant = msgs.size();
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    auto& o = msgs[i].get_object();
    if (str_field(o, "role") != "assistant") continue;
    last_assistant = i;
    auto* blocks = o.at("content").if_array();
    if (!blocks) continue;
    for (std::size_t k = 0; k < blocks->size(); ++k) {
      auto* b = (*blocks)[k].if_object();
      if (!b || str_field(*b, "type") != "thinking") continue;
      if (str_field(*b, "signature") != thinking_signature(str_field(*b, "thinking")))
        return "messages." + std::to_string(i) + ".content." + std::to_string(k) + ": Invalid `signature` in `thinking` block";
    }
  }
  if (last_assistant == msgs.size() || last_assistant + 1 >= msgs.size()) return std::nullopt;
  auto& content = msgs[last_assistant].get_object().at("content");
  auto* blocks = content.if_array();
  bool uses_tool = blocks && std::any_of(blocks->begin(), blocks->end(), [](auto& b) {
                     auto* o = b.if_object();
                     return o && str_field(*o, "type") == "tool_use";
                   });
  if (!uses_tool) return std::nullopt;
  auto first = str_field(blocks->front().get_object(), "type");
  if (first == "thinking" || first == "redacted_thinking") return std::nullopt;
  return "messages." + std::to_string(last_assistant) + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found `" +
         std::string(first) + "`. When `thinking` is enabled, a final `assistant` message must start with a thinking block "
         "(preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks "
         "from previous turns. To avoid this requirement, disable `thinking`.";
}

// ---- request checks ------------------------------------------------------------------------
// Messages follow the API's own (pydantic-style "field: problem") so that a client's error
// handling sees what it would see from the real service.

std::optional<std::string> invalid_model(const json::object& req) {
  auto* model = req.if_contains("model");
  if (!model) return "model: Field required";
  if (!model->is_string()) return "model: Input should be a valid string";
  return std::nullopt;
}

// All but the model, which a Vertex AI request has in its URL.
std::optional<std::string> invalid(const json::object& req) {
  auto* max = req.if_contains("max_tokens");
  if (!max) return "max_tokens: Field required";
  if (!max->is_int64() && !max->is_uint64()) return "max_tokens: Input should be a valid integer";
  if (!positive_int(max)) return "max_tokens: Input should be greater than or equal to 1";
  // Extended thinking, with the rules Anthropic's API enforces for it.
  if (auto* thinking = req.if_contains("thinking"); thinking && thinking->is_object() &&
                                                     str_field(thinking->get_object(), "type") == "enabled") {
    auto budget = positive_int(thinking->get_object().if_contains("budget_tokens"));
    if (!budget || *budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
    if (*positive_int(max) <= *budget) return "`max_tokens` must be greater than `thinking.budget_tokens`.";
    if (auto* t = req.if_contains("temperature"); t && !(t->is_number() && t->to_number<double>() == 1.0))
      return "`temperature` may only be set to 1 when thinking is enabled.";
    if (req.contains("top_k")) return "`top_k` cannot be set when thinking is enabled.";
  }

  auto* msgs = req.if_contains("messages");
  if (!msgs) return "messages: Field required";
  if (!msgs->is_array()) return "messages: Input should be a valid list";
  if (msgs->get_array().empty()) return "messages: at least one message is required";
  std::size_t i = 0;
  for (auto& m : msgs->get_array()) {
    const std::string at = "messages." + std::to_string(i++);
    auto* o = m.if_object();
    if (!o) return at + ": Input should be a valid dictionary";
    auto role = str_field(*o, "role");
    if (role != "user" && role != "assistant") return at + ".role: Input should be 'user' or 'assistant'";
    auto* content = o->if_contains("content");
    if (!content) return at + ".content: Field required";
    if (!content->is_string() && !content->is_array()) return at + ".content: Input should be a valid list";
  }

  if (thinking_enabled(req))
    if (auto problem = invalid_thinking(msgs->get_array())) return problem;
  if (auto* system = req.if_contains("system"); system && !system->is_string() && !system->is_array())
    return "system: Input should be a valid list";
  if (auto* tools = req.if_contains("tools")) {
    if (!tools->is_array()) return "tools: Input should be a valid list";
    i = 0;
    for (auto& t : tools->get_array()) {
      auto* o = t.if_object();
      if (!o || !o->if_contains("name") || !o->at("name").is_string())
        return "tools." + std::to_string(i) + ".name: Field required";
      ++i;
    }
  }
  return std::nullopt;
}

// ---- the conversation ----------------------------------------------------------------------

bool is_block(const json::value& v, std::string_view type) {
  auto* o = v.if_object();
  return o && str_field(*o, "type") == type;
}

// Code points of every text the model would read. Tool results count like the content of an
// OpenAI "tool" message, which is what they become in an OpenAI conversation.
std::size_t text_chars(const json::value& content) {
  std::size_t n = 0;
  for_each_text(content, [&](std::string_view t) { n += code_points(t); });
  if (auto* blocks = content.if_array())
    for (auto& b : *blocks)
      if (is_block(b, "tool_result"))
        if (auto* inner = b.get_object().if_contains("content")) n += text_chars(*inner);
  return n;
}

// A user turn of nothing but tool results is an OpenAI "tool" message, not something the user said.
bool only_tool_results(const json::value& content) {
  auto* blocks = content.if_array();
  return blocks && !blocks->empty() &&
         std::all_of(blocks->begin(), blocks->end(), [](auto& b) { return is_block(b, "tool_result"); });
}

struct Conversation {
  std::size_t prompt_chars = 0;
  std::string said;  // the last thing the user said
  bool after_tool_result = false;
};

Conversation read_conversation(const json::object& req) {
  Conversation c;
  if (auto* system = req.if_contains("system")) c.prompt_chars += text_chars(*system);
  const json::value* last_user = nullptr;
  for (auto& m : req.at("messages").get_array()) {
    auto& o = m.get_object();
    auto& content = o.at("content");
    c.prompt_chars += text_chars(content);
    const bool user = str_field(o, "role") == "user";
    if (user && !only_tool_results(content)) last_user = &content;
    c.after_tool_result = false;
    if (auto* blocks = content.if_array(); user && blocks)
      c.after_tool_result = std::any_of(blocks->begin(), blocks->end(),
                                        [](auto& b) { return is_block(b, "tool_result"); });
  }
  if (last_user) c.said = joined_text(*last_user);
  return c;
}

// ---- tool use ------------------------------------------------------------------------------

struct ToolCall {
  std::string_view name;
  std::string input;  // a JSON object
};

// The model calls a tool when it is offered one and not told otherwise, except right after a
// tool result: that turn is answered in text, so that a tool loop ends.
std::optional<ToolCall> tool_call(const json::object& req, const Conversation& c) {
  auto* tools = req.if_contains("tools");
  if (!tools || !tools->is_array() || tools->get_array().empty() || c.after_tool_result) return std::nullopt;
  std::string_view wanted;
  if (auto* choice = req.if_contains("tool_choice"); choice && choice->is_object()) {
    auto type = str_field(choice->get_object(), "type");
    if (type == "none") return std::nullopt;
    if (type == "tool") wanted = str_field(choice->get_object(), "name");
  }
  const json::object* tool = nullptr;
  for (auto& t : tools->get_array()) {
    auto& o = t.get_object();
    if (wanted.empty() || str_field(o, "name") == wanted) {
      tool = &o;
      break;
    }
  }
  ToolCall call;
  call.name = tool ? str_field(*tool, "name") : wanted;
  auto* schema = tool ? tool->if_contains("input_schema") : nullptr;
  append_object_sample(call.input, schema ? schema->if_object() : nullptr, 0);
  return call;
}

// ---- the response --------------------------------------------------------------------------

// Anthropic counts the cache apart: input_tokens leaves out what was read from or written to it.
void append_usage(std::string& out, std::uint64_t input, std::uint64_t output, const Script& s) {
  out += "\"usage\":{\"input_tokens\":";
  append_num(out, input);
  out += ",\"cache_creation_input_tokens\":";
  append_num(out, std::uint64_t(s.cache_write_tokens));
  out += ",\"cache_read_input_tokens\":";
  append_num(out, std::uint64_t(s.cached_tokens));
  out += ",\"output_tokens\":";
  append_num(out, output);
  out += '}';
}

std::string message_head(std::uint64_t id, std::string_view model) {
  std::string m = "{\"id\":\"";
  m += anthropic_id("msg_", id);
  m += "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":";
  append_str(m, model);
  return m;
}

Reply message(const json::object& req, std::string_view model, const Script& s, std::uint64_t id) {
  const Conversation c = read_conversation(req);
  Answer a = answer(s, c.said, c.prompt_chars, positive_int(req.if_contains("max_tokens")));
  continue_prefill(req, a);
  const auto call = tool_call(req, c);
  std::uint64_t output_tokens = a.completion_tokens;
  std::string_view stop = a.length ? "max_tokens" : "end_turn";
  if (call) {
    output_tokens = std::max<std::uint64_t>(token_estimate(code_points(call->input)), 1);
    stop = "tool_use";
  }
  const bool with_usage = s.usage.value_or(true);

  // Both shapes of the tool_use block: in full, and as a stream opens it with empty input.
  auto tool_block = [&](std::string& out, std::string_view input) {
    out += "{\"type\":\"tool_use\",\"id\":\"";
    out += anthropic_id("toolu_", id);
    out += "\",\"name\":";
    append_str(out, call->name);
    out += ",\"input\":";
    out += input;
    out += '}';
  };

  if (!bool_field(req, "stream")) {
    Reply r;
    r.body = message_head(id, model);
    r.body += ",\"content\":[";
    if (thinking_enabled(req)) {
      std::string thought = thinking_text(c.said);
      r.body += "{\"type\":\"thinking\",\"thinking\":";
      append_str(r.body, thought);
      r.body += ",\"signature\":";
      append_str(r.body, thinking_signature(thought));
      r.body += "},";
    }
    if (call) {
      tool_block(r.body, call->input);
    } else {
      r.body += "{\"type\":\"text\",\"text\":";
      append_str(r.body, a.text);
      r.body += '}';
    }
    r.body += "],\"stop_reason\":\"";
    r.body += stop;
    r.body += "\",\"stop_sequence\":null";
    if (with_usage) {
      r.body += ',';
      append_usage(r.body, a.prompt_tokens, output_tokens, s);
    }
    r.body += '}';
    return r;
  }

  Reply r = stream_reply(kStreamType);
  std::string start = "{\"type\":\"message_start\",\"message\":";
  start += message_head(id, model);
  start += ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null";
  if (with_usage) {
    start += ',';
    append_usage(start, a.prompt_tokens, 1, s);
  }
  start += "}}";
  r.events.push_back(event("message_start", start));

  std::string block = "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":";
  if (call) tool_block(block, "{}");
  else block += "{\"type\":\"text\",\"text\":\"\"}";
  block += '}';
  r.events.push_back(event("content_block_start", block));
  r.events.push_back(event("ping", "{\"type\": \"ping\"}"));

  r.first_content = r.events.size();
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  const std::string_view delta_head = call ? R"({"type":"input_json_delta","partial_json":)"
                                           : R"({"type":"text_delta","text":)";
  for (auto piece : split_pieces(call ? std::string_view(call->input) : std::string_view(a.text), s.chunks)) {
    std::string delta = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":";
    delta += delta_head;
    append_str(delta, piece);
    delta += "}}";
    r.events.push_back(event("content_block_delta", delta));
  }
  if (s.stream_error) {
    r.events.emplace_back(kOverloadedEvent);
    return r;
  }
  r.events.push_back(event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"));

  std::string end = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"";
  end += stop;
  end += "\",\"stop_sequence\":null}";
  if (with_usage) {
    end += ",\"usage\":{\"output_tokens\":";
    append_num(end, output_tokens);
    end += '}';
  }
  end += '}';
  r.events.push_back(event("message_delta", end));
  r.events.push_back(event("message_stop", "{\"type\":\"message_stop\"}"));
  return r;
}

// "fake-model-2" -> "Fake Model 2", after the way the API names "claude-…" models.
std::string display_name(std::string_view id) {
  std::string name(id);
  bool word_start = true;
  for (auto& ch : name) {
    if (ch == '-' || ch == '_') {
      ch = ' ';
      word_start = true;
    } else {
      if (word_start && ch >= 'a' && ch <= 'z') ch = char(ch - 'a' + 'A');
      word_start = false;
    }
  }
  return name;
}

std::string model_object(std::string_view id) {
  std::string m = "{\"type\":\"model\",\"id\":";
  append_str(m, id);
  m += ",\"display_name\":";
  append_str(m, display_name(id));
  m += ",\"created_at\":\"2025-02-19T00:00:00Z\"}";
  return m;
}

}  // namespace

static std::string_view schema_type(const json::object& schema) {
  auto* t = schema.if_contains("type");
  if (!t) return {};
  if (auto* s = t->if_string()) return *s;
  if (auto* list = t->if_array())
    for (auto& v : *list)
      if (v.is_string() && v.get_string() != "null") return v.get_string();
  return {};
}

void append_object_sample(std::string& out, const json::object* schema, int depth) {
  out += '{';
  const json::value* props = schema ? schema->if_contains("properties") : nullptr;
  if (props && props->is_object() && depth < 4) {
    bool first = true;
    for (auto& [name, sub] : props->get_object()) {
      if (!first) out += ',';
      first = false;
      append_str(out, name);
      out += ':';
      append_sample(out, sub, depth + 1);
    }
  }
  out += '}';
}

// A small value that the schema accepts, so clients that validate tool input take it; the same
// schema always gives the same value.
void append_sample(std::string& out, const json::value& schema, int depth) {
  auto* o = schema.if_object();
  if (!o) {
    out += "\"fake\"";
    return;
  }
  if (auto* e = o->if_contains("enum"); e && e->is_array() && !e->get_array().empty()) {
    out += json::serialize(e->get_array().front());
    return;
  }
  if (auto* c = o->if_contains("const")) {
    out += json::serialize(*c);
    return;
  }
  auto type = schema_type(*o);
  if (type == "object" || (type.empty() && o->contains("properties"))) append_object_sample(out, o, depth);
  else if (type == "array") out += "[]";
  else if (type == "integer" || type == "number") out += '1';
  else if (type == "boolean") out += "true";
  else if (type == "null") out += "null";
  else out += "\"fake\"";
}

std::string anthropic_id(std::string_view prefix, std::uint64_t id) {
  std::string digits = std::to_string(id);
  std::string out(prefix);
  out += "fake";
  out.append(digits.size() < 20 ? 20 - digits.size() : 0, '0');
  out += digits;
  return out;
}

Reply anthropic_error(unsigned status, std::string_view message, std::uint64_t id) {
  std::string_view type = status >= 500 ? "api_error" : "invalid_request_error";
  switch (status) {
    case 401: type = "authentication_error"; break;
    case 402: type = "billing_error"; break;
    case 403: type = "permission_error"; break;
    case 404: type = "not_found_error"; break;
    case 413: type = "request_too_large"; break;
    case 429: type = "rate_limit_error"; break;
    case 504: type = "timeout_error"; break;
    case 529: type = "overloaded_error"; break;
  }
  Reply r;
  r.status = status;
  r.body = "{\"type\":\"error\",\"error\":{\"type\":\"";
  r.body += type;
  r.body += "\",\"message\":";
  append_str(r.body, message);
  r.body += "},\"request_id\":\"";
  r.body += anthropic_id("req_", id);
  r.body += "\"}";
  return r;
}

AnthropicApi::AnthropicApi(const std::vector<std::string>& models) {
  models_body_ = "{\"data\":[";
  for (auto& id : models) {
    models_.emplace_back(id, model_object(id));
    if (models_.size() > 1) models_body_ += ',';
    models_body_ += models_.back().second;
  }
  models_body_ += "],\"has_more\":false,\"first_id\":";
  if (models.empty()) {
    models_body_ += "null,\"last_id\":null}";
  } else {
    append_str(models_body_, models.front());
    models_body_ += ",\"last_id\":";
    append_str(models_body_, models.back());
    models_body_ += '}';
  }
}

bool AnthropicApi::serves(std::string_view path, bool versioned) {
  // /v1/models is OpenAI's too; only the version header tells an Anthropic client apart.
  return path == "/messages" || path.starts_with("/messages/") ||
         (versioned && (path == "/models" || path.starts_with("/models/")));
}

Reply AnthropicApi::answer_for_model(const json::object& o, std::string_view model, const Script& s,
                                     std::uint64_t id) const {
  if (auto problem = invalid(o)) return anthropic_error(400, *problem, id);
  if (!known(model)) return anthropic_error(404, "model: " + std::string(model), id);
  if (s.malformed && !bool_field(o, "stream")) {
    Reply r;
    r.body = kMalformedBody;
    return r;
  }
  return message(o, model, s, id);
}

bool AnthropicApi::known(std::string_view model) const {
  return std::any_of(models_.begin(), models_.end(), [&](auto& m) { return m.first == model; });
}

Reply AnthropicApi::answer(const Request& req, std::string_view path, const json::value& body,
                           bool bad_json, bool versioned, const Script& s, std::uint64_t id) const {
  const auto method = req.method();
  if (method == http::verb::post && path == "/messages") {
    if (!versioned) return anthropic_error(400, "anthropic-version: header is required", id);
    if (bad_json || !body.is_object()) return anthropic_error(400, "The request body is not valid JSON", id);
    const auto& o = body.get_object();
    if (auto problem = invalid_model(o)) return anthropic_error(400, *problem, id);
    return answer_for_model(o, str_field(o, "model"), s, id);
  }
  if (method == http::verb::post && path == "/messages/count_tokens") {
    if (!versioned) return anthropic_error(400, "anthropic-version: header is required", id);
    if (bad_json || !body.is_object()) return anthropic_error(400, "The request body is not valid JSON", id);
    const auto& o = body.get_object();
    // As Anthropic's: max_tokens is not a count_tokens field.
    if (o.contains("max_tokens")) return anthropic_error(400, "max_tokens: Extra inputs are not permitted", id);
    auto* msgs = o.if_contains("messages");
    if (!msgs || !msgs->is_array() || msgs->get_array().empty()) return anthropic_error(400, "messages: Field required", id);
    if (!known(str_field(o, "model"))) return anthropic_error(404, "model: " + std::string(str_field(o, "model")), id);
    Reply r;
    r.body = "{\"input_tokens\":";
    append_num(r.body, token_estimate(read_conversation(o).prompt_chars));
    r.body += '}';
    return r;
  }
  if (method == http::verb::get && path == "/models") {
    Reply r;
    r.body = models_body_;
    return r;
  }
  if (method == http::verb::get && path.starts_with("/models/")) {
    auto id_asked = path.substr(8);
    for (auto& [name, object] : models_) {
      if (name == id_asked) {
        Reply r;
        r.body = object;
        return r;
      }
    }
    return anthropic_error(404, "model: " + std::string(id_asked), id);
  }
  return anthropic_error(404, "Not Found", id);
}

}  // namespace llmux::fake
