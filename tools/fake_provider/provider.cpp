#include "provider.hpp"

#include <algorithm>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

// Everything but /v1 (or an Azure deployment prefix) is dropped; "" when the path is not an API path.
std::string_view api_path(std::string_view path, std::string_view& deployment) {
  if (path.starts_with("/v1/")) return path.substr(3);
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

}  // namespace

Provider::Provider(Options opt) : opt_(std::move(opt)), openai_(opt_.models), anthropic_(opt_.models), gemini_(opt_.models) {}

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
  const bool gemini = GeminiApi::serves(path);
  const bool anthropic = !gemini && AnthropicApi::serves(path, versioned);
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

  Reply r;
  if (s.hang) {
    r.hang = true;
    return r;
  }
  if (gemini) {
    if (!gemini_key)
      r = goog_key_sent ? gemini_error(400, "API key not valid. Please pass a valid API key.")
                        : gemini_error(403, "Method doesn't allow unregistered callers. Please use API Key.");
    else if (s.status >= 400) r = gemini_error(s.status, "fake provider scripted status " + std::to_string(s.status));
    else r = gemini_.answer(req, path, body, bad_json, s);
    if (s.status && r.status == 200) r.status = s.status;
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
  } else if (s.status >= 400) {
    auto message = "fake provider scripted status " + std::to_string(s.status);
    r = anthropic ? anthropic_error(s.status, message, id) : error_reply(s.status, message);
  } else {
    r = anthropic ? anthropic_.answer(req, path, body, bad_json, versioned, s, id)
                  : openai_.answer(req, path, deployment, body, bad_json, s);
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
  r.latency_ms = s.latency_ms;
  r.early_hints = s.early_hints;
  r.interval_ms = s.chunk_interval_ms;
  if (s.reset_after_chunks >= 0 || s.truncate_after_chunks >= 0) {
    r.end = s.reset_after_chunks >= 0 ? Reply::End::reset : Reply::End::truncate;
    int n = s.reset_after_chunks >= 0 ? s.reset_after_chunks : s.truncate_after_chunks;
    r.cut = std::min(r.events.size(), r.first_content + std::size_t(n));
  }
  return r;
}

}  // namespace llmux::fake
