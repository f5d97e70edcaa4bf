// Provider types and their factories. Adding a provider: one directory plus one line here.
#include <functional>
#include <map>

#include <boost/json.hpp>

#include "providers/anthropic/anthropic.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"
#include "providers/provider.hpp"

namespace llmux::providers {

namespace {

using Factory = std::function<std::unique_ptr<Provider>(const ProviderConfig&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"openai-compatible", [](const ProviderConfig& c) { return std::make_unique<OpenAICompatibleProvider>(c); }},
      {"anthropic", [](const ProviderConfig& c) { return std::make_unique<AnthropicProvider>(c); }},
  };
  return table;
}

}  // namespace

Expected<std::unique_ptr<Provider>, std::string> make_provider(const ProviderConfig& config) {
  auto it = factories().find(config.type);
  if (it == factories().end()) {
    std::string known;
    for (const auto& name : known_provider_types()) known += (known.empty() ? "" : ", ") + name;
    return unexpected("unknown provider type '" + config.type + "' (known: " + known + ")");
  }
  return it->second(config);
}

void Provider::begin_post(const EncodeInput& in, const std::string& url, const std::vector<std::string>& fixed_headers,
                          http::UpstreamRequest& out) const {
  out.method.assign("POST");
  out.url.assign(url);
  out.timeout = config_.timeout;
  out.connect_timeout = http::UpstreamRequest::kDefaultConnectTimeout;
  out.common_headers = &fixed_headers;
  out.headers.resize(in.request_id.empty() ? 1 : 2);
  out.headers[0].assign(in.stream ? "Accept: text/event-stream" : "Accept: application/json");
  if (!in.request_id.empty()) {
    out.headers[1].assign("x-request-id: ");
    out.headers[1].append(in.request_id);
  }
  out.body.clear();
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Error transfer_error(const Provider& provider, std::string_view url, const http::TransferResult& result,
                     std::chrono::milliseconds timeout) {
  Error e;
  if (result.failure == http::TransferFailure::timeout) {
    e = Error::make(ErrorKind::upstream_timeout,
                    "provider '" + provider.id() + "' did not respond within " + format_duration(timeout) +
                        " (" + std::string(url) + ")",
                    {}, "upstream_timeout");
  } else {
    e = Error::make(ErrorKind::upstream_unreachable,
                    "provider '" + provider.id() + "' is unreachable at " + std::string(url) + ": " + result.detail,
                    {}, "upstream_unreachable");
    e.retryable = true;
  }
  e.provider = provider.id();
  return e;
}

Error decode_json_error(const Provider& provider, int status, std::string_view body,
                        std::string_view retry_after) {
  Error e;
  e.kind = status == 429 ? ErrorKind::rate_limited : ErrorKind::upstream_error;
  e.http_status = status;
  e.provider = provider.id();
  e.upstream_status = status;
  e.retryable = status == 429 || status >= 500;
  if (!retry_after.empty()) e.retry_after = std::string(retry_after);
  std::string upstream_message;
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.as_object();
    auto text = [](const boost::json::value* x) -> std::string {
      if (!x) return {};
      if (x->is_string()) return std::string(x->as_string());
      if (x->is_null()) return {};
      return boost::json::serialize(*x);
    };
    if (const auto* err = o.if_contains("error")) {
      if (err->is_object()) {
        const auto& eo = err->as_object();
        upstream_message = text(eo.if_contains("message"));
        e.type = text(eo.if_contains("type"));
        e.code = text(eo.if_contains("code"));
        e.param = text(eo.if_contains("param"));
      } else {
        upstream_message = text(err);
      }
    } else if (const auto* m = o.if_contains("message")) {
      upstream_message = text(m);
    } else if (const auto* d = o.if_contains("detail")) {
      upstream_message = text(d);
    }
  }
  if (upstream_message.empty()) {
    upstream_message = std::string(body.substr(0, 200));
    if (upstream_message.empty()) upstream_message = "HTTP " + std::to_string(status);
  }
  if (e.type.empty()) {
    switch (status) {
      case 400: e.type = "invalid_request_error"; break;
      case 401: e.type = "authentication_error"; break;
      case 403: e.type = "permission_error"; break;
      case 404: e.type = "not_found_error"; break;
      case 429: e.type = "rate_limit_error"; break;
      default: e.type = status >= 500 ? "upstream_error" : "invalid_request_error";
    }
  }
  e.message = "provider '" + provider.id() + "' returned HTTP " + std::to_string(status) + ": " + upstream_message;
  return e;
}

Error unsupported_endpoint(const Provider& provider, Endpoint endpoint) {
  Error e = Error::make(ErrorKind::unsupported,
                        "provider '" + provider.id() + "' (type " + provider.config().type + ") does not serve /v1" +
                            endpoint_path(endpoint),
                        {}, "unsupported_endpoint");
  e.provider = provider.id();
  return e;
}

std::vector<std::string> known_provider_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  return names;
}

}  // namespace llmux::providers
