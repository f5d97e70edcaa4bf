// provider test NAME: authentication, model listing, chat, streaming, error handling.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "providers/provider.hpp"

namespace llmux::cli {

namespace bjson = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

const std::vector<std::string>& all_checks() {
  static const std::vector<std::string> names = {"auth", "models", "chat", "streaming", "errors"};
  return names;
}

struct Check {
  std::string name;
  bool pass = false;
  bool skipped = false;  // not run: an earlier check found the server unreachable
  std::chrono::microseconds latency{0};
  std::string detail;
  std::string hint;
};

// Loopback answers take well under a millisecond: whole milliseconds would show them all as 0.
std::string format_latency(std::chrono::microseconds latency) {
  double ms = static_cast<double>(latency.count()) / 1000.0;
  if (ms >= 10.0) return format_ms(std::chrono::duration_cast<std::chrono::milliseconds>(latency));
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 1.0 ? "%.2f ms" : "%.1f ms", ms);
  return buf;
}

double latency_ms(std::chrono::microseconds latency) {
  return std::round(static_cast<double>(latency.count()) / 10.0) / 100.0;
}

constexpr const char* kBogusModel = "llmux-selftest-no-such-model";

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

// GET with the provider's own headers (credentials included), for GET /models/{id}.
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
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &p.body);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(easy);
  if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &p.status);
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

class Tester {
 public:
  Tester(const Picked& picked, std::string model) : picked_(picked), model_(std::move(model)) {}

  store::Result<void> start() { return register_provider(client_, picked_); }

  // Set once a check could not reach the server: the later checks would only say it again.
  const std::optional<Error>& unreachable() const { return unreachable_; }

  Check skip(const std::string& name) const {
    Check c;
    c.name = name;
    c.skipped = true;
    c.detail = "not run: " + picked_.config.base_url + " did not answer";
    return c;
  }

  Check run(const std::string& name) {
    Check c;
    c.name = name;
    auto begin = Clock::now();
    {
      Spinner spinner("checking " + name + " of " + picked_.config.id + "…");
      if (name == "auth") auth(c);
      else if (name == "models") models(c);
      else if (name == "chat") chat(c);
      else if (name == "streaming") streaming(c);
      else errors(c);
    }
    c.latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - begin);
    return c;
  }

 private:
  void fail(Check& c, const Error& e) {
    c.pass = false;
    c.detail = e.message;
    if (e.kind == ErrorKind::upstream_unreachable || e.kind == ErrorKind::upstream_timeout) {
      unreachable_ = e;
      c.hint = down_hint(e);
      return;
    }
    c.hint = provider_error_hint(e, picked_);
  }

  // What to do about a server that did not answer; not "run provider test", which is running.
  std::string down_hint(const Error& e) const {
    const std::string& id = picked_.config.id;
    if (e.kind == ErrorKind::upstream_timeout)
      return "the server at " + picked_.config.base_url + " accepted the connection but did not answer within " +
             providers::format_duration(picked_.config.timeout) + ": check that it is healthy, or raise the limit with "
             "`llmux provider update " + id + " --timeout 2m`";
    return "nothing answers at " + picked_.config.base_url + ": start the server (or check the host and port), or "
           "point the provider at the right URL with `llmux provider update " + id + " --url URL`";
  }

  // The model for chat checks: --model, the default model, the first configured or live one.
  std::optional<std::string> model() {
    if (!model_.empty()) return model_;
    if (!picked_.config.default_model.empty()) return picked_.config.default_model;
    if (!picked_.config.models.empty()) return picked_.config.models.front().id;
    if (live_.empty()) {
      auto listed = client_.list_models(picked_.config.id);
      if (listed)
        for (const auto& m : *listed)
          if (m.live) live_.push_back(m.id);
    }
    if (!live_.empty()) return live_.front();
    return std::nullopt;
  }

  ChatRequest request(const std::string& model) {
    ChatRequest r;
    r.provider = picked_.config.id;
    r.model = model;
    r.messages = {{"user", "Reply with the single word: pong"}};
    r.max_tokens = 16;
    r.temperature = 0.0;
    return r;
  }

  void auth(Check& c) {
    auto h = client_.check_health(picked_.config.id);
    bool sent_key = !picked_.config.api_key.empty() && picked_.config.auth != AuthStyle::none;
    if (h.healthy) {
      c.pass = true;
      c.detail = "GET /models answered " + std::to_string(h.http_status) +
                 (sent_key ? " with the key (" + picked_.origin.key_source + ")" : " (no key sent)");
      return;
    }
    if (h.http_status == 401 || h.http_status == 403) {
      Error e = Error::make(ErrorKind::authentication, h.message);
      e.upstream_status = static_cast<int>(h.http_status);
      fail(c, e);
      return;
    }
    if (h.http_status == 404 || h.http_status == 405 || h.http_status == 501) {
      // No model listing here: judge the credentials by a one-token chat instead.
      auto m = model();
      if (!m) {
        c.detail = "GET /models answered " + std::to_string(h.http_status) + " and there is no model to chat with";
        return;
      }
      auto r = request(*m);
      r.max_tokens = 1;
      auto reply = client_.chat(r);
      int status = reply ? 200 : reply.error().upstream_status;
      if (status == 401 || status == 403) return fail(c, reply.error());
      c.pass = true;
      c.detail = "no GET /models; a chat request was not refused for credentials";
      return;
    }
    Error e = Error::make(h.http_status ? ErrorKind::upstream_error : ErrorKind::upstream_unreachable, h.message);
    if (h.message.find("did not respond within") != std::string::npos) e.kind = ErrorKind::upstream_timeout;
    fail(c, e);
  }

  void models(Check& c) {
    auto listed = client_.list_models(picked_.config.id);
    if (!listed) return fail(c, listed.error());
    std::vector<std::string> live, missing;
    for (const auto& m : *listed) {
      if (m.live) live.push_back(m.id);
      else if (m.configured) missing.push_back(m.id);
    }
    live_ = live;
    if (live.empty()) {
      c.detail = "GET /models answered, but with no models";
      return;
    }
    c.pass = true;
    std::string shown;
    for (size_t i = 0; i < live.size() && i < 3; ++i) shown += (i ? ", " : "") + live[i];
    if (live.size() > 3) shown += ", …";
    c.detail = std::to_string(live.size()) + " live model" + (live.size() == 1 ? "" : "s") + ": " + shown;
    if (!missing.empty()) {
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
      c.detail += "; configured but not listed: " + list;
    }
  }

  void chat(Check& c) {
    auto m = model();
    if (!m) {
      c.detail = "no model to test with: pass --model M or set one (llmux provider update " + picked_.config.id +
                 " --default-model M)";
      return;
    }
    auto reply = client_.chat(request(*m));
    if (!reply) return fail(c, reply.error());
    c.pass = true;
    c.detail = *m + " replied \"" + snippet(reply->content) + "\"";
    if (reply->usage.total_tokens) c.detail += " (" + std::to_string(reply->usage.total_tokens) + " tokens)";
  }

  void streaming(Check& c) {
    auto m = model();
    if (!m) {
      c.detail = "no model to test with: pass --model M";
      return;
    }
    size_t pieces = 0;
    auto begin = Clock::now();
    std::chrono::milliseconds first{0};
    auto reply = client_.chat_stream(request(*m), [&](std::string_view) {
      if (pieces++ == 0) first = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - begin);
    });
    if (!reply) return fail(c, reply.error());
    if (pieces == 0) {
      c.detail = "the stream ended without any text";
      return;
    }
    c.pass = true;
    c.detail = std::to_string(pieces) + " chunk" + (pieces == 1 ? "" : "s") + ", first after " + format_ms(first);
  }

  void errors(Check& c) {
    // Ask the provider itself for a model it cannot have: a clean 4xx error is expected.
    Client raw;
    Picked passthrough = picked_;
    passthrough.config.models.clear();
    passthrough.config.default_model.clear();
    passthrough.config.max_retries = 0;
    if (auto ok = register_provider(raw, passthrough); !ok) {
      c.detail = ok.error().messages.front();
      return;
    }
    auto reply = raw.chat(request(kBogusModel));
    if (!reply) {
      const Error& e = reply.error();
      int status = e.upstream_status;
      if (status >= 400 && status < 500 && status != 401 && status != 403) {
        c.pass = true;
        c.detail = "an unknown model is refused cleanly (HTTP " + std::to_string(status) + " with an error message)";
        return;
      }
      fail(c, e);
      if (status >= 500) c.detail = "unknown model -> HTTP " + std::to_string(status) + " (a server error, not a clean 4xx)";
      return;
    }
    // It served a model it does not have (common for local servers): the model lookup must
    // still fail cleanly.
    auto provider = providers::make_provider(passthrough.config);
    if (!provider) {
      c.detail = provider.error();
      return;
    }
    auto listing = (*provider)->list_models_request();
    auto probe = http_get((*provider)->endpoint_url(providers::Endpoint::models) + "/" + kBogusModel,
                          listing.all_headers(), picked_.config.timeout);
    if (probe.status >= 400 && probe.status < 500 && clean_error_body(probe.body)) {
      c.pass = true;
      c.detail = "chat serves any model name; looking up an unknown model is refused cleanly (GET /models/{id}: HTTP " +
                 std::to_string(probe.status) + " with an error message)";
      return;
    }
    c.detail = "the provider answered a request for an unknown model without an error";
    if (!probe.error.empty()) c.detail += " (and GET /models/{id} failed: " + probe.error + ")";
  }

  const Picked& picked_;
  std::string model_;
  Client client_;
  std::vector<std::string> live_;
  std::optional<Error> unreachable_;
};

const char* result_word(const Check& c) { return c.skipped ? "SKIP" : c.pass ? "PASS" : "FAIL"; }

}  // namespace

int provider_test(const TestArgs& args) {
  std::vector<std::string> wanted;
  for (const auto& name : all_checks())
    if (args.tests.empty() || std::find(args.tests.begin(), args.tests.end(), name) != args.tests.end())
      wanted.push_back(name);
  auto session = open_session(args.config_file);
  if (!session) return report(session.error());
  auto picked = pick_provider(*session, args.name);
  if (!picked) return report(picked.error());
  warn_about(*picked);
  Tester tester(*picked, args.model);
  if (auto ok = tester.start(); !ok) return report(ok.error());
  bool on = stdout_color();
  if (!args.json)
    std::printf("%s\n", paint("testing provider " + picked->config.id + " at " + picked->config.base_url, "1", on).c_str());
  std::vector<Check> checks;
  for (const auto& name : wanted) checks.push_back(tester.unreachable() ? tester.skip(name) : tester.run(name));
  size_t passed = static_cast<size_t>(std::count_if(checks.begin(), checks.end(), [](const Check& c) { return c.pass; }));
  if (args.json) {
    bjson::array list;
    for (const auto& c : checks) {
      bjson::object o{{"name", c.name}, {"result", c.skipped ? "skip" : c.pass ? "pass" : "fail"}};
      if (c.skipped) o["latency_ms"] = nullptr;
      else o["latency_ms"] = latency_ms(c.latency);
      o["detail"] = c.detail;
      if (!c.pass && !c.hint.empty()) o["hint"] = c.hint;
      list.push_back(std::move(o));
    }
    print_json(bjson::object{{"provider", picked->config.id},
                             {"base_url", picked->config.base_url},
                             {"passed", passed == checks.size()},
                             {"checks", std::move(list)}});
  } else {
    Table table({"CHECK", "RESULT", "LATENCY", "DETAIL"});
    for (const auto& c : checks)
      table.add({c.name, result_word(c), c.skipped ? "-" : format_latency(c.latency), c.detail});
    table.print(stdout, [&](size_t row, size_t column) -> const char* {
      if (column != 1) return nullptr;
      return checks[row].skipped ? "1;33" : checks[row].pass ? "1;32" : "1;31";
    });
    // One line per distinct diagnosis, naming every check it explains.
    std::vector<std::pair<std::string, std::string>> hints;  // checks, hint
    for (const auto& c : checks) {
      if (c.pass || c.hint.empty()) continue;
      auto same = std::find_if(hints.begin(), hints.end(), [&](const auto& h) { return h.second == c.hint; });
      if (same == hints.end()) hints.emplace_back(c.name, c.hint);
      else same->first += ", " + c.name;
    }
    for (const auto& [names, hint] : hints) std::printf("%s: %s\n", names.c_str(), hint.c_str());
    size_t skipped = static_cast<size_t>(std::count_if(checks.begin(), checks.end(), [](const Check& c) { return c.skipped; }));
    std::printf("%zu/%zu checks passed%s\n", passed, checks.size(),
                skipped ? (" (" + std::to_string(skipped) + " not run)").c_str() : "");
  }
  std::fflush(stdout);
  return passed == checks.size() ? kOk : kFailed;
}

}  // namespace llmux::cli
