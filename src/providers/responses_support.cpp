#include "providers/responses_support.hpp"

#include <boost/json.hpp>

#include "core/json_text.hpp"
#include "core/text.hpp"

namespace llmux::providers {

namespace {

// The value of the first "type" member of an event's data: the event's own type, which OpenAI
// writes first. Only for streams that send no `event:` lines.
std::string_view data_type(std::string_view data) {
  constexpr std::string_view kKey = "\"type\"";
  size_t at = data.find(kKey);
  if (at == std::string_view::npos) return {};
  size_t i = at + kKey.size();
  while (i < data.size() && (data[i] == ' ' || data[i] == ':')) ++i;
  if (i >= data.size() || data[i] != '"') return {};
  size_t end = data.find('"', i + 1);
  return end == std::string_view::npos ? std::string_view() : data.substr(i + 1, end - i - 1);
}

ResponsesEventRole role_of(std::string_view type) {
  using Role = ResponsesEventRole;
  if (type == "response.completed" || type == "response.incomplete") return Role::completed;
  if (type == "response.failed" || type == "error") return Role::failed;
  if (type.empty() || type == "response.created" || type == "response.in_progress" || type == "response.queued" ||
      type == "response.output_item.added" || type == "response.content_part.added")
    return Role::preamble;
  return Role::content;
}

}  // namespace

ResponsesEventRole responses_event_role(const http::SseEvent& event) {
  return role_of(event.event.empty() ? data_type(event.data) : event.event);
}

json::Usage responses_usage_of(simdjson::dom::object usage) {
  json::Usage u;
  int64_t n;
  if (!usage["input_tokens"].get_int64().get(n)) u.prompt_tokens = n;
  if (!usage["output_tokens"].get_int64().get(n)) u.completion_tokens = n;
  if (!usage["total_tokens"].get_int64().get(n)) u.total_tokens = n;
  else u.total_tokens = json::add_tokens(u.prompt_tokens, u.completion_tokens);
  simdjson::dom::object details;
  if (!usage["input_tokens_details"].get_object().get(details) && !details["cached_tokens"].get_int64().get(n))
    u.cached_tokens = n;
  if (!usage["output_tokens_details"].get_object().get(details) && !details["reasoning_tokens"].get_int64().get(n))
    u.reasoning_tokens = n;
  u.reported = true;
  return u;
}

std::optional<json::Usage> read_responses_usage(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  thread_local std::string pad;
  simdjson::dom::object root, usage;
  if (parser.parse(json::padded_copy(body, pad)).get_object().get(root)) return std::nullopt;
  if (root["usage"].get_object().get(usage)) return std::nullopt;
  return responses_usage_of(usage);
}

ResponsesEventFacts responses_event_facts(const http::SseEvent& event, simdjson::dom::element parsed) {
  ResponsesEventFacts facts;
  facts.role = responses_event_role(event);
  if (facts.role == ResponsesEventRole::content || facts.role == ResponsesEventRole::preamble) return facts;
  simdjson::dom::object response, usage;
  bool has_response = !parsed["response"].get_object().get(response);
  if (has_response && !response["usage"].get_object().get(usage)) facts.usage = responses_usage_of(usage);
  if (facts.role == ResponsesEventRole::failed) {
    // `error` events carry code and message at the top; response.failed inside response.error.
    simdjson::dom::element holder = parsed, inner;
    if (has_response && !response["error"].get(inner) && inner.is_object()) holder = inner;
    if (holder["code"].get_string().get(facts.error_code) || facts.error_code.empty()) facts.error_code = "upstream_error";
  }
  return facts;
}

Error responses_event_error(const Provider& provider, std::string_view data) {
  std::string code, message;
  boost::system::error_code ec;
  auto value = boost::json::parse(data, ec);
  if (const auto* root = ec ? nullptr : value.if_object()) {
    const boost::json::object* error = root;
    if (const auto* response = root->if_contains("response"); response && response->is_object())
      if (const auto* inner = response->get_object().if_contains("error"); inner && inner->is_object())
        error = &inner->get_object();
    if (const auto* c = error->if_contains("code"); c && c->is_string()) code = c->get_string().c_str();
    if (const auto* m = error->if_contains("message"); m && m->is_string()) message = m->get_string().c_str();
  }
  if (message.empty()) message = "an error event without a message";
  Error e = Error::make(ErrorKind::upstream_error, "provider '" + provider.id() + "' failed before answering: " + message,
                        {}, code.empty() ? "upstream_error" : code);
  bool rate_limited = code == "rate_limit_exceeded";
  e.kind = rate_limited ? ErrorKind::rate_limited : ErrorKind::upstream_error;
  e.http_status = rate_limited ? 429 : 502;
  e.type = rate_limited ? "rate_limit_error" : "upstream_error";
  e.provider = provider.id();
  e.retryable = true;
  return provider.scrubbed(std::move(e));
}

std::string stream_error_event(Endpoint endpoint, const Error& error) {
  if (endpoint != Endpoint::responses) return "data: " + to_openai_json(error) + "\n\n";
  // The Responses API's own error event: type, code, message, param.
  std::string out = "event: error\ndata: {\"type\":\"error\",\"code\":";
  const std::string& code = error.code.empty() ? error.type : error.code;
  if (code.empty()) out += "null";
  else append_json_string(out, code);
  out += ",\"message\":";
  append_json_string(out, error.message);
  out += ",\"param\":";
  if (error.param.empty()) out += "null";
  else append_json_string(out, error.param);
  out += "}\n\n";
  return out;
}

Error unsupported_responses(const Provider& provider) {
  Error e = unsupported_endpoint(provider, Endpoint::responses);
  if (provider.config().type == "openai-compatible" || provider.config().type == "azure-openai")
    e.message += " (set `responses: true` on the provider if its server speaks OpenAI's Responses API)";
  else
    e.message += " (the Responses API passes through only to OpenAI, Azure OpenAI and openai-compatible providers "
                 "marked `responses: true`)";
  return e;
}

}  // namespace llmux::providers
