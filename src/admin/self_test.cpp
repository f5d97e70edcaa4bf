#include "admin/self_test.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <boost/json.hpp>

#include "config/upstream_policy.hpp"
#include "http/upstream_guard.hpp"
#include "llmux/client.hpp"
#include "providers/provider.hpp"

namespace llmux::admin {

namespace bjson = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kBogusModel = "llmux-selftest-no-such-model";
constexpr const char* kNotAllowed = "upstream_not_allowed";

std::string snippet(std::string text, size_t max = 40) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

size_t collect(char* data, size_t size, size_t count, void* userp) {
  auto* body = static_cast<std::string*>(userp);
  if (body->size() < (64 << 10)) body->append(data, size * count);
  return size * count;
}

struct Probe {
  long status = 0;
  std::string body;
  std::string error;
};

// GET with the provider's own headers (credentials included), for GET /models/{id}. Through the
// upstream guard; a redirect is an answer, never followed.
Probe http_get(const std::string& url, const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  Probe p;
  CURL* easy = curl_easy_init();
  if (!easy) {
    p.error = "curl_easy_init failed";
    return p;
  }
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  char error[CURL_ERROR_SIZE] = {};
  http::CurlGuard guard{std::string(url_host(url)), {}};
  http::guard_curl_handle(easy, guard);
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &p.body);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  CURLcode rc = curl_easy_perform(easy);
  if (!guard.refused.empty()) p.error = guard.refused;
  else if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &p.status);
  else p.error = error[0] ? error : curl_easy_strerror(rc);
  curl_slist_free_all(list);
  curl_easy_cleanup(easy);
  return p;
}

bool clean_error_body(const std::string& body) {
  boost::system::error_code ec;
  auto v = bjson::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.as_object();
  return o.contains("error") || o.contains("message") || o.contains("detail");
}

Expected<void, Error> register_with(Client& client, ProviderConfig config) {
  config.enabled = true;
  std::string id = config.id;
  if (auto added = client.add_provider(std::move(config)); !added) return unexpected(added.error());
  (void)client.set_default_provider(id);
  return {};
}

// Replaces every occurrence of `secret` (when long enough to be one) with ****.
void mask(std::string& text, std::string_view secret) {
  if (secret.size() < 4) return;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 4))
    text.replace(at, secret.size(), "****");
}

}  // namespace

std::string_view check_name(SelfCheck check) {
  switch (check) {
    case SelfCheck::authentication: return "authentication";
    case SelfCheck::model_listing: return "model listing";
    case SelfCheck::basic_chat: return "basic chat";
    case SelfCheck::streaming: return "streaming";
    case SelfCheck::error_handling: return "error handling";
  }
  return "";
}

std::string_view check_short_name(SelfCheck check) {
  switch (check) {
    case SelfCheck::authentication: return "auth";
    case SelfCheck::model_listing: return "models";
    case SelfCheck::basic_chat: return "chat";
    case SelfCheck::streaming: return "streaming";
    case SelfCheck::error_handling: return "errors";
  }
  return "";
}

std::string_view status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::pass: return "pass";
    case CheckStatus::fail: return "fail";
    case CheckStatus::skip: return "skip";
  }
  return "";
}

double latency_ms(std::chrono::microseconds latency) {
  return std::round(static_cast<double>(latency.count()) / 10.0) / 100.0;
}

struct SelfTest::State {
  State(ProviderConfig c, SelfTestOptions o) : config(std::move(c)), options(std::move(o)) {
    if (options.request_timeout) config.timeout = *options.request_timeout;
    if (options.max_retries) config.max_retries = *options.max_retries;
  }

  ProviderConfig config;
  SelfTestOptions options;
  Client client;
  std::vector<std::string> live;
  std::optional<Error> unreachable;

  // Neither the key nor a header value (they may carry credentials) is ever part of a reason.
  void scrub(std::string& text) const {
    mask(text, config.api_key.reveal());
    for (const auto& h : config.headers) mask(text, h.value);
  }

  void fail(CheckResult& c, Error e) {
    c.status = CheckStatus::fail;
    scrub(e.message);
    c.reason = e.message;
    if (e.kind == ErrorKind::upstream_unreachable || e.kind == ErrorKind::upstream_timeout) unreachable = e;
    c.error = std::move(e);
  }

  void pass(CheckResult& c, std::string reason) {
    c.status = CheckStatus::pass;
    c.reason = std::move(reason);
  }

  // The model for chat checks: the chosen one, the default model, the first configured or live one.
  std::optional<std::string> model() {
    if (!options.model.empty()) return options.model;
    if (!config.default_model.empty()) return config.default_model;
    if (!config.models.empty()) return config.models.front().id;
    if (live.empty()) {
      auto listed = client.list_models(config.id);
      if (listed)
        for (const auto& m : *listed)
          if (m.live) live.push_back(m.id);
    }
    if (!live.empty()) return live.front();
    return std::nullopt;
  }

  ChatRequest request(const std::string& model) const {
    ChatRequest r;
    r.provider = config.id;
    r.model = model;
    r.messages = {{"user", "Reply with the single word: pong"}};
    r.max_tokens = 16;
    r.temperature = 0.0;
    return r;
  }

  void authentication(CheckResult& c) {
    auto h = client.check_health(config.id);
    bool sent_key = !config.api_key.empty() && config.auth != AuthStyle::none;
    if (h.healthy) {
      std::string source = options.key_source.empty() ? "" : " (" + options.key_source + ")";
      return pass(c, "GET /models answered " + std::to_string(h.http_status) +
                         (sent_key ? " with the key" + source : " (no key sent)"));
    }
    if (h.http_status == 401 || h.http_status == 403) {
      Error e = Error::make(ErrorKind::authentication, h.message);
      e.upstream_status = h.http_status;
      return fail(c, std::move(e));
    }
    if (h.http_status == 404 || h.http_status == 405 || h.http_status == 501) {
      // No model listing here: judge the credentials by a one-token chat instead.
      auto m = model();
      if (!m) {
        c.reason = "GET /models answered " + std::to_string(h.http_status) + " and there is no model to chat with";
        return;
      }
      auto r = request(*m);
      r.max_tokens = 1;
      auto reply = client.chat(r);
      int status = reply ? 200 : reply.error().upstream_status;
      if (status == 401 || status == 403) return fail(c, reply.error());
      return pass(c, "no GET /models; a chat request was not refused for credentials");
    }
    Error e = Error::make(h.http_status ? ErrorKind::upstream_error : ErrorKind::upstream_unreachable, h.message);
    if (h.message.find("did not respond within") != std::string::npos) e.kind = ErrorKind::upstream_timeout;
    if (h.message.find(kNotAllowed) != std::string::npos) e.code = kNotAllowed;
    fail(c, std::move(e));
  }

  void model_listing(CheckResult& c) {
    auto listed = client.list_models(config.id);
    if (!listed) return fail(c, listed.error());
    std::vector<std::string> found, missing;
    for (const auto& m : *listed) {
      if (m.live) found.push_back(m.id);
      else if (m.configured) missing.push_back(m.id);
    }
    live = found;
    if (found.empty()) {
      c.reason = "GET /models answered, but with no models";
      return;
    }
    std::string shown;
    for (size_t i = 0; i < found.size() && i < 3; ++i) shown += (i ? ", " : "") + found[i];
    if (found.size() > 3) shown += ", …";
    std::string reason =
        std::to_string(found.size()) + " live model" + (found.size() == 1 ? "" : "s") + ": " + shown;
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      reason += "; configured but not listed: " + list;
    }
    pass(c, std::move(reason));
  }

  void basic_chat(CheckResult& c) {
    auto m = model();
    if (!m) {
      c.reason = "no model to test with: " + options.no_model_advice;
      return;
    }
    auto reply = client.chat(request(*m));
    if (!reply) return fail(c, reply.error());
    std::string reason = *m + " replied \"" + snippet(reply->content) + "\"";
    if (reply->usage.total_tokens) reason += " (" + std::to_string(reply->usage.total_tokens) + " tokens)";
    scrub(reason);
    pass(c, std::move(reason));
  }

  void streaming(CheckResult& c) {
    auto m = model();
    if (!m) {
      c.reason = "no model to test with: " + options.no_model_advice;
      return;
    }
    size_t pieces = 0;
    auto begin = Clock::now();
    std::chrono::milliseconds first{0};
    auto reply = client.chat_stream(request(*m), [&](std::string_view) {
      if (pieces++ == 0) first = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
    });
    if (!reply) return fail(c, reply.error());
    if (pieces == 0) {
      c.reason = "the stream ended without any text";
      return;
    }
    char after[32];
    if (first.count() >= 10000) std::snprintf(after, sizeof after, "%.1fs", static_cast<double>(first.count()) / 1000.0);
    else std::snprintf(after, sizeof after, "%lld ms", static_cast<long long>(first.count()));
    pass(c, std::to_string(pieces) + " chunk" + (pieces == 1 ? "" : "s") + ", first after " + after);
  }

  void error_handling(CheckResult& c) {
    // Ask the provider itself for a model it cannot have: a clean 4xx error is expected.
    Client raw;
    ProviderConfig passthrough = config;
    passthrough.models.clear();
    passthrough.default_model.clear();
    passthrough.max_retries = 0;
    if (auto ok = register_with(raw, passthrough); !ok) {
      c.reason = ok.error().message;
      return;
    }
    auto reply = raw.chat(request(kBogusModel));
    if (!reply) {
      const Error& e = reply.error();
      int status = e.upstream_status;
      if (status >= 400 && status < 500 && status != 401 && status != 403)
        return pass(c, "an unknown model is refused cleanly (HTTP " + std::to_string(status) + " with an error message)");
      fail(c, e);
      if (status >= 500) c.reason = "unknown model -> HTTP " + std::to_string(status) + " (a server error, not a clean 4xx)";
      return;
    }
    // It served a model it does not have (common for local servers): the model lookup must
    // still fail cleanly.
    auto provider = providers::make_provider(passthrough);
    if (!provider) {
      c.reason = provider.error();
      return;
    }
    auto listing = (*provider)->list_models_request();
    auto probe = http_get((*provider)->endpoint_url(providers::Endpoint::models) + "/" + kBogusModel,
                          listing.all_headers(), config.timeout);
    if (probe.status >= 400 && probe.status < 500 && clean_error_body(probe.body))
      return pass(c, "chat serves any model name; looking up an unknown model is refused cleanly (GET /models/{id}: HTTP " +
                         std::to_string(probe.status) + " with an error message)");
    c.reason = "the provider answered a request for an unknown model without an error";
    if (!probe.error.empty()) c.reason += " (and GET /models/{id} failed: " + probe.error + ")";
    scrub(c.reason);
  }
};

SelfTest::SelfTest(ProviderConfig config, SelfTestOptions options)
    : state_(std::make_unique<State>(std::move(config), std::move(options))) {}

SelfTest::~SelfTest() = default;

Expected<void, Error> SelfTest::start() { return register_with(state_->client, state_->config); }

CheckResult SelfTest::run(SelfCheck check) {
  CheckResult c;
  c.check = check;
  auto begin = Clock::now();
  switch (check) {
    case SelfCheck::authentication: state_->authentication(c); break;
    case SelfCheck::model_listing: state_->model_listing(c); break;
    case SelfCheck::basic_chat: state_->basic_chat(c); break;
    case SelfCheck::streaming: state_->streaming(c); break;
    case SelfCheck::error_handling: state_->error_handling(c); break;
  }
  c.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin);
  return c;
}

CheckResult SelfTest::skip(SelfCheck check) const {
  CheckResult c;
  c.check = check;
  c.status = CheckStatus::skip;
  const auto& cause = state_->unreachable;
  bool refused = cause && (cause->code == kNotAllowed || cause->message.find(kNotAllowed) != std::string::npos);
  c.reason = refused ? "not run: the upstream guard refused " + state_->config.base_url
                     : "not run: " + state_->config.base_url + " did not answer";
  return c;
}

const std::optional<Error>& SelfTest::unreachable() const { return state_->unreachable; }

const ProviderConfig& SelfTest::config() const { return state_->config; }

bool SelfTestReport::passed() const {
  return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.status == CheckStatus::pass; });
}

Expected<SelfTestReport, Error> run_self_test(const ProviderConfig& config, const SelfTestOptions& options,
                                              std::span<const SelfCheck> checks) {
  if (checks.empty()) checks = kSelfChecks;
  SelfTest test(config, options);
  if (auto ok = test.start(); !ok) return unexpected(ok.error());
  SelfTestReport report{config.id, config.base_url, {}};
  for (SelfCheck check : checks) report.checks.push_back(test.unreachable() ? test.skip(check) : test.run(check));
  return report;
}

}  // namespace llmux::admin
