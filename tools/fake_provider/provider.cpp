#include "provider.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

#include "azure.hpp"

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

// Everything but /v1 (or an Azure deployment prefix) is dropped; "" when the path is not an API path.
std::string_view api_path(std::string_view path, std::string_view& deployment) {
  if (path.starts_with("/v1/")) return path.substr(3);
  if (path.starts_with("/openai/v1/")) return path.substr(10);
  if (path == "/openai/models" || path == "/openai/responses") return path.substr(7);
  constexpr std::string_view azure = "/openai/deployments/";
  if (path.starts_with(azure)) {
    path.remove_prefix(azure.size());
    auto slash = path.find('/');
    if (slash == std::string_view::npos) return {};
    deployment = path.substr(0, slash);
    return path.substr(slash);
  }
  return path;
}

bool bearer_matches(std::string_view value, std::string_view key) {
  if (value.size() < 7 || !iequals(value.substr(0, 7), "bearer ")) return false;
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value == key;
}

// ---- Stateful faults (the router's fault matrix) ----------------------------------------------

// An error reply as the provider would word it: OpenAI's messages for the codes the router treats
// specially, a plain scripted message otherwise.
Reply scripted_error(const Script& s, bool anthropic, std::uint64_t id) {
  const unsigned status = s.status >= 400 ? unsigned(s.status) : 400u;
  std::string message = "fake provider scripted status " + std::to_string(status);
  std::string_view param;
  if (s.error_code == "context_length_exceeded") {
    message = anthropic ? "prompt is too long: 210000 tokens > 200000 maximum"
                        : "This model's maximum context length is 8192 tokens. However, your messages resulted in "
                          "9000 tokens. Please reduce the length of the messages.";
    param = "messages";
  } else if (s.error_code == "content_policy_violation") {
    message = "Your request was rejected as a result of our safety system. Your prompt may contain text that is "
              "not allowed by our safety system.";
  }
  if (anthropic) return anthropic_error(status, message, id);
  Reply r = error_reply(status, message, s.error_code);
  if (!param.empty()) {
    constexpr std::string_view kNoParam = "\"param\":null";
    if (auto at = r.body.find(kNoParam); at != std::string::npos)
      r.body.replace(at, kNoParam.size(), "\"param\":\"" + std::string(param) + "\"");
  }
  return r;
}

// The stream-repair knobs, on a stream already built.
void apply_repair_knobs(const Script& s, Reply& r) {
  r.first_content_delay_ms = s.first_token_delay_ms;
  if (s.no_done && !r.events.empty() && r.events.back() == "data: [DONE]\n\n") r.events.pop_back();
  if (s.malformed_event_at >= 0) {
    std::size_t at = std::min(r.events.size(), r.first_content + std::size_t(s.malformed_event_at));
    r.events.insert(r.events.begin() + std::ptrdiff_t(at), "data: {\"id\": \"chatcmpl-x\", \"choices\": [{\"delta\": \n\n");
    if (r.end != Reply::End::normal && r.cut >= at) ++r.cut;
  }
  if (s.bad_text_events_at > 0) {
    std::size_t at = std::min(r.events.size(), r.first_content + std::size_t(s.bad_text_events_at));
    const std::string model = r.events[at - 1];  // a content event: its text is replaced
    constexpr std::string_view kKey = "\"content\":\"";
    std::size_t open = model.find(kKey);
    std::size_t close = open == std::string::npos ? open : model.find('"', open + kKey.size());
    if (close != std::string::npos) {
      std::vector<std::string> bad;
      for (std::string_view text : {"bad \\q escape", "bad \x01 control", "bad \xC3\x28 utf-8"})
        bad.push_back(model.substr(0, open + kKey.size()) + std::string(text) + model.substr(close));
      r.events.insert(r.events.begin() + std::ptrdiff_t(at), bad.begin(), bad.end());
      if (r.end != Reply::End::normal && r.cut >= at) r.cut += bad.size();
    }
  }
  if (s.stall_after_chunks >= 0) {
    r.end = Reply::End::stall;
    r.cut = std::min(r.events.size(), r.first_content + std::size_t(s.stall_after_chunks));
  }
}

}  // namespace

bool Provider::in_failing_phase(const Script& s) const {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(faults_mu_);
  auto it = faults_.find(s.fault_key);
  if (it == faults_.end()) it = faults_.emplace(s.fault_key, FaultCounter{0, now}).first;
  FaultCounter& c = it->second;
  ++c.requests;
  if (s.fail_first > 0 && c.requests <= s.fail_first) return true;
  return s.down_for_ms > 0 && now - c.first < std::chrono::milliseconds(s.down_for_ms);
}

Provider::Provider(Options opt) : opt_(std::move(opt)), openai_(opt_.models), anthropic_(opt_.models), gemini_(opt_.models), ollama_(opt_.models), cohere_(opt_.models), bedrock_(opt_.models, opt_.require_key), vertex_(opt_, gemini_, anthropic_) {}

Reply Provider::handle(const Request& req) const {
  Script s = opt_.defaults;
  const bool open = opt_.require_key.empty();
  // OpenAI-compatible servers take the key in any of their headers; Anthropic only in x-api-key.
  bool openai_key = open, anthropic_key = open, x_api_key_sent = false, versioned = false;
  bool gemini_key = open, goog_key_sent = false;  // Gemini: only x-goog-api-key
  std::string_view request_id;
  std::string credentials;  // what echo_auth quotes
  for (auto& f : req) {
    if (f.name() == http::field::authorization || iequals(f.name_string(), "x-api-key") ||
        iequals(f.name_string(), "api-key")) {
      if (!credentials.empty()) credentials += ", ";
      credentials += f.value();
    }
    auto name = f.name_string();
    if (name.size() > 7 && iequals(name.substr(0, 7), "x-fake-")) {
      s.set(name.substr(7), f.value());
    } else if (f.name() == http::field::authorization) {
      if (!openai_key) openai_key = bearer_matches(f.value(), opt_.require_key);
    } else if (iequals(name, "x-api-key")) {
      x_api_key_sent = true;
      if (!open && f.value() == opt_.require_key) openai_key = anthropic_key = true;
    } else if (iequals(name, "api-key")) {
      if (!openai_key) openai_key = f.value() == opt_.require_key;
    } else if (iequals(name, "x-goog-api-key")) {
      goog_key_sent = true;
      if (!open) gemini_key = f.value() == opt_.require_key;
    } else if (iequals(name, "anthropic-version")) {
      versioned = true;
    }
    if (iequals(name, "x-request-id")) request_id = f.value();
  }

  std::string_view target = req.target();
  std::string_view deployment;
  std::string_view path = api_path(target.substr(0, target.find('?')), deployment);
  const bool azure = azure_target(target);
  const bool vertex = VertexApi::serves(path);
  const bool gemini = !vertex && GeminiApi::serves(path);
  const bool ollama = OllamaApi::serves(path);
  const bool cohere = CohereApi::serves(path);
  const std::string_view raw_path = target.substr(0, target.find('?'));
  const bool bedrock = BedrockApi::serves(raw_path);
  const bool anthropic = !vertex && !gemini && !ollama && !cohere && !bedrock && AnthropicApi::serves(path, versioned);
  const std::uint64_t id = anthropic ? anthropic_.next_id() : 0;

  // A stack buffer holds the whole DOM of a typical request: no heap allocation to parse it.
  unsigned char scratch[8192];
  json::monotonic_resource mr(scratch, sizeof scratch);
  json::error_code ec;
  const bool post = req.method() == http::verb::post;
  json::value body = post ? json::parse(req.body(), ec, &mr) : json::value(&mr);
  const bool bad_json = post && (ec || !body.is_object());
  if (!bad_json && body.is_object())
    if (auto* f = body.get_object().if_contains("fake"); f && f->is_object()) s.apply(f->get_object());

  if (post && (s.fail_first > 0 || s.down_for_ms > 0) && in_failing_phase(s)) {
    if (s.fail_with == "hang") s.hang = true;
    else if (s.fail_with == "reset") s.reset_before_headers = true;
    else s.status = std::stoi(s.fail_with);
    s.retry_after = s.fail_retry_after;
  }
  Reply r;
  if (s.hang) {
    r.hang = true;
    return r;
  }
  if (auto wrong = azure ? azure_target_error(target) : std::nullopt) {
    r = std::move(*wrong);
  } else if (vertex) {
    // Vertex takes no key: an OAuth token the fake issued (vertex.hpp).
    r = vertex_.answer(req, path, body, bad_json, s);
    if (s.status && r.status == 200) r.status = s.status;
  } else if (gemini) {
    if (!gemini_key)
      r = goog_key_sent ? gemini_error(400, "API key not valid. Please pass a valid API key.")
                        : gemini_error(403, "Method doesn't allow unregistered callers. Please use API Key.");
    else if (s.status >= 400) r = gemini_error(s.status, "fake provider scripted status " + std::to_string(s.status));
    else r = gemini_.answer(req, path, body, bad_json, s);
    if (s.status && r.status == 200) r.status = s.status;
  } else if (ollama) {
    // Ollama itself takes no key; one behind a proxy that wants a bearer token is what is faked.
    if (!openai_key) r = ollama_error(401, "unauthorized");
    else if (s.status >= 400) r = ollama_error(s.status, "fake provider scripted status " + std::to_string(s.status));
    else r = ollama_.answer(req, path, body, bad_json, s);
    if (s.status && r.status == 200) r.status = s.status;
  } else if (cohere) {
    if (!openai_key) r = cohere_error(401, "invalid api token");
    else if (s.status >= 400) r = cohere_error(s.status, "fake provider scripted status " + std::to_string(s.status));
    else r = cohere_.answer(req, path, body, bad_json, s);
    if (s.status && r.status == 200) r.status = s.status;
  } else if (bedrock) {  // signed requests: its own authentication
    std::string_view query = raw_path.size() < target.size() ? target.substr(raw_path.size() + 1) : std::string_view();
    r = bedrock_.answer(req, raw_path, query, body, bad_json, s);
  } else if (anthropic && !anthropic_key) {
    r = anthropic_error(401, x_api_key_sent ? "invalid x-api-key" : "x-api-key header is required", id);
  } else if (!anthropic && !openai_key) {
    r = error_reply(401, "Incorrect API key provided.");
  } else if (!s.echo_auth.empty()) {
    // Like servers that quote the credential they refused.
    std::string quoted = "Incorrect API key provided: " + credentials;
    if (s.echo_auth == "json") {
      r = anthropic ? anthropic_error(401, quoted, id) : error_reply(401, quoted);
    } else if (s.echo_auth == "detail") {
      r.status = 403;
      r.body = "{\"detail\":";
      append_str(r.body, quoted);
      r.body += '}';
    } else {
      r.status = 500;
      r.content_type = "text/plain";
      r.body = "internal error while checking " + credentials;
    }
  } else if (s.reject_prefill && !bad_json && body.is_object() && !trailing_assistant_text(body.get_object()).empty()) {
    auto message = "This model does not support assistant message prefill.";
    r = anthropic ? anthropic_error(400, message, id) : error_reply(400, message, "prefill_unsupported");
  } else if (azure && s.error_code == "content_filter") {
    r = azure_content_filter_error();
  } else if (s.status >= 400 || !s.error_code.empty()) {
    r = scripted_error(s, anthropic, id);
  } else {
    r = anthropic ? anthropic_.answer(req, path, body, bad_json, versioned, s, id)
                  : openai_.answer(req, path, deployment, body, bad_json, s);
    if (azure && path != "/responses") dress_as_azure(r);  // Azure annotates chat choices only
    if (s.status && r.status == 200) r.status = s.status;
  }

  if (!s.retry_after.empty()) r.headers += "Retry-After: " + s.retry_after + "\r\n";
  if (!s.header.empty()) r.headers += s.header + "\r\n";
  r.status_line = s.status_line;
  r.chunked_body = s.chunked && !r.stream;
  if (!request_id.empty()) {
    r.headers += "x-request-id: ";
    r.headers += request_id;
    r.headers += "\r\n";
  }
  if (anthropic) {
    r.headers += "request-id: ";
    r.headers += anthropic_id("req_", id);
    r.headers += "\r\n";
  }
  if (s.reset_before_headers) {  // nothing of the answer leaves: the connection is reset at once
    r.stream = false;
    r.end = Reply::End::reset;
  }
  r.latency_ms = s.latency_ms;
  r.early_hints = s.early_hints;
  r.interval_ms = s.chunk_interval_ms;
  if (!s.reset_before_headers && (s.reset_after_chunks >= 0 || s.truncate_after_chunks >= 0)) {
    r.end = s.reset_after_chunks >= 0 ? Reply::End::reset : Reply::End::truncate;
    int n = s.reset_after_chunks >= 0 ? s.reset_after_chunks : s.truncate_after_chunks;
    r.cut = std::min(r.events.size(), r.first_content + std::size_t(n));
  }
  if (r.stream) apply_repair_knobs(s, r);
  return r;
}

}  // namespace llmux::fake
