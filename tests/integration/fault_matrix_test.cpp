// The router's fault matrix through the real binary: a chain of two fake providers (primary ->
// backup), the primary scripted to fail in one way per cell, each cell run plain and streaming.
// Every cell asserts what the README's failure table promises: the attempts per deployment (from
// x-llmux-attempts and from the fakes' own request logs), their timing where a rule bounds it,
// which deployment answered, the status and what the client saw, and that no connection or file
// descriptor is left behind.
#include <dirent.h>
#include <poll.h>

#include <cstdio>
#include <limits>
#include <ostream>

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kPrimaryText = "primary answers in five words";
constexpr const char* kBackupText = "backup answers in five words";
constexpr int kHeadersTimeoutMs = 400;
// The 1.5 s window counts from an attempt's start in llmux; the fake sees the first one a
// connection set-up later than the third (which reuses the pooled connection).
constexpr long kWindowMs = 1490;

template <typename F>
bool eventually(F&& condition, milliseconds deadline = std::chrono::seconds(5)) {
  auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (condition()) return true;
    ::poll(nullptr, 0, 10);
  }
  return condition();
}

std::string fake_url(const FakeProvider& fake, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(fake.port) + path;
}

// The completion requests a fake received, with the time each arrived (its steady clock is the
// system's monotonic clock, the same as ours).
std::vector<Clock::time_point> completion_times(const FakeProvider& fake) {
  std::vector<Clock::time_point> out;
  auto log = json::parse(http_get(fake_url(fake, "/_fake/requests")).body);
  for (auto& r : log.as_array()) {
    if (r.at("target").as_string().find("/chat/completions") == json::string::npos) continue;
    out.emplace_back(std::chrono::microseconds(r.at("at_us").to_number<int64_t>()));
  }
  return out;
}

// Connections the gateway holds open to a fake (the one asking is not counted).
long upstream_connections(const FakeProvider& fake) {
  auto r = http_get(fake_url(fake, "/_fake/connections"));
  return r.status == 200 ? json::parse(r.body).at("open").to_number<long>() - 1 : -1;
}

int open_fds(int pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

double metric(const Gateway& gw, const std::string& name) {
  auto text = http_get(gw.url("/metrics")).body;
  size_t at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

// The sum of every series of `name` whose labels start with `labels` (e.g. provider="a").
double series_sum(const Gateway& gw, const std::string& name, const std::string& labels) {
  auto text = http_get(gw.url("/metrics")).body;
  const std::string start = "\n" + name + "{" + labels;
  double sum = 0;
  for (size_t at = text.find(start); at != std::string::npos; at = text.find(start, at + 1)) {
    size_t space = text.find("} ", at);
    if (space != std::string::npos) sum += std::stod(text.substr(space + 2));
  }
  return sum;
}

long gap_ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a).count();
}

bool valid_json(const std::string& text) {
  json::error_code ec;
  json::parse(text, ec);
  return !ec;
}

// The text a client assembled from a stream's content deltas.
std::string streamed_text(const std::vector<std::string>& events) {
  std::string text;
  for (auto& e : events) {
    if (e == "[DONE]" || !valid_json(e)) continue;
    auto v = json::parse(e);
    auto* choices = v.as_object().if_contains("choices");
    if (!choices || choices->as_array().empty()) continue;
    auto* delta = choices->as_array()[0].as_object().if_contains("delta");
    if (!delta) continue;
    if (auto* c = delta->as_object().if_contains("content"); c && c->is_string()) text += c->as_string();
  }
  return text;
}

// ---- the matrix ------------------------------------------------------------------------------

enum class Seen {
  primary_answer,  // the whole answer of the primary
  backup_answer,   // the whole answer of the backup
  error,           // an OpenAI error object with `error_code` (plain JSON, nothing was streamed)
  cut_stream,      // a 200 stream with part of the primary's text, then one error event, no [DONE]
};

struct Expected {
  long status = 200;
  std::string provider;  // x-llmux-provider
  std::string attempts;  // x-llmux-attempts, with p = primary/fake-model, b = backup/fake-model
  size_t primary_requests = 0, backup_requests = 0;
  Seen seen = Seen::backup_answer;
  std::string error_code;  // "" = null
  std::string error_says;  // words the error message must contain
  // Between the primary's first two requests, when it got two.
  long min_gap_ms = 0, max_gap_ms = 1000;
  long min_total_ms = 0, max_total_ms = 1500;  // the whole request, as the client waited
};

struct Cell {
  std::string name;
  std::vector<std::string> primary_flags;
  Expected plain, stream;
  std::vector<std::string> backup_flags = {};  // the backup misbehaves too
};

std::string expand(std::string attempts) {
  std::string out;
  for (char c : attempts) {
    if (c == 'p') out += "primary/fake-model";
    else if (c == 'b') out += "backup/fake-model";
    else out += c;
  }
  return out;
}

Expected answered_by(bool primary, const std::string& attempts, size_t primary_requests) {
  Expected e;
  e.provider = primary ? "primary" : "backup";
  e.attempts = attempts;
  e.primary_requests = primary_requests;
  e.backup_requests = primary ? 0 : 1;
  e.seen = primary ? Seen::primary_answer : Seen::backup_answer;
  return e;
}
Expected answered_by_primary(const std::string& attempts, size_t primary_requests) {
  return answered_by(true, attempts, primary_requests);
}
Expected answered_by_backup(const std::string& attempts, size_t primary_requests) {
  return answered_by(false, attempts, primary_requests);
}

template <typename F>
Expected with(Expected e, F&& change) {
  change(e);
  return e;
}

std::vector<Cell> cells() {
  // Transient failures: one retry on the primary (backoff at most 50 ms), then the 2-in-1.5 s
  // window would force a wait while the backup is available, so the backup answers.
  auto twice_then_backup = [](const std::string& code) {
    return with(answered_by_backup("3; p=" + code + ",p=" + code + ",b=200", 2), [](Expected& e) {
      e.max_gap_ms = 300;  // backoff, not the window
      e.max_total_ms = 1400;
    });
  };
  std::vector<Cell> c;
  {
    auto e = with(answered_by_primary("2; p=429,p=200", 2), [](Expected& e) {
      e.min_gap_ms = 1000;  // Retry-After: 1 honoured
      e.max_gap_ms = 1800;
      e.min_total_ms = 1000;
      e.max_total_ms = 2500;
    });
    c.push_back({"RateLimitedOnceWithRetryAfter", {"--fail-first", "1", "--fail-with", "429", "--fail-retry-after", "1"}, e, e});
  }
  c.push_back({"RateLimitedWithoutRetryAfter", {"--status", "429"}, twice_then_backup("429"), twice_then_backup("429")});
  {
    auto e = with(answered_by_primary("2; p=500,p=200", 2), [](Expected& e) { e.max_gap_ms = 300; });
    c.push_back({"ServerErrorOnce", {"--fail-first", "1", "--fail-with", "500"}, e, e});
  }
  c.push_back({"UnavailablePersistently", {"--status", "503"}, twice_then_backup("503"), twice_then_backup("503")});
  c.push_back({"ResetBeforeHeaders", {"--reset-before-headers", "true"}, twice_then_backup("reset"),
               twice_then_backup("reset")});
  {
    // Timed out waiting for headers: not retried there (waiting again multiplies the wait).
    auto e = with(answered_by_backup("2; p=timeout,b=200", 1), [](Expected& e) {
      e.min_total_ms = kHeadersTimeoutMs;
      e.max_total_ms = kHeadersTimeoutMs + 1200;
    });
    c.push_back({"NoResponse", {"--hang", "true"}, e, e});
  }
  // Plain: the connection closes before any byte, a reset before headers. Stream: the role chunk
  // came, then the close: nothing with content reached the client, so it is retried and falls back.
  c.push_back({"StreamCutBeforeContent", {"--truncate-after-chunks", "0"}, twice_then_backup("reset"),
               twice_then_backup("reset")});
  {
    auto stream = answered_by_primary("1; p=200", 1);
    stream.seen = Seen::cut_stream;
    c.push_back({"StreamCutAfterContent", {"--chunks", "5", "--truncate-after-chunks", "2"}, twice_then_backup("reset"),
                 stream});
  }
  {
    // Streaming, the malformed event is dropped and the stream goes on (every event the client
    // gets is checked to be JSON); plain, a malformed body is a transient failure.
    auto stream = answered_by_primary("1; p=200", 1);
    c.push_back({"MalformedAnswer", {"--malformed", "true"}, twice_then_backup("malformed"), stream});
  }
  {
    auto e = answered_by_backup("2; p=400,b=200", 1);
    c.push_back({"ContextLengthExceeded", {"--error-code", "context_length_exceeded"}, e, e});
  }
  {
    Expected e;
    e.status = 400;
    e.provider = "primary";
    e.attempts = "1; p=400";
    e.primary_requests = 1;
    e.seen = Seen::error;
    e.error_code = "content_policy_violation";
    c.push_back({"ContentPolicyViolation", {"--error-code", "content_policy_violation"}, e, e});
  }
  {
    // Retry-After above router.max_retry_wait (10 s): not waited for, the backup at once.
    auto e = with(answered_by_backup("2; p=429,b=200", 1), [](Expected& e) { e.max_total_ms = 800; });
    c.push_back({"RetryAfterAboveTheCap", {"--status", "429", "--retry-after", "30"}, e, e});
  }
  {
    // The last meaningful error: the backup's 400 about the request does not hide the primary's 503.
    Expected e;
    e.status = 503;
    e.provider = "backup";  // the last deployment tried
    e.attempts = "3; p=503,p=503,b=400";
    e.primary_requests = 2;
    e.backup_requests = 1;
    e.seen = Seen::error;
    e.error_says = "fake provider scripted status 503";
    c.push_back({"PrimaryDownBackupRejects", {"--status", "503"}, e, e, {"--status", "400"}});
  }
  return c;
}

struct Case {
  Cell cell;
  bool stream;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  for (auto& cell : cells()) {
    out.push_back({cell, false});
    out.push_back({cell, true});
  }
  return out;
}

std::string chat_body(bool stream) {
  return std::string(R"({"model":"chain","messages":[{"role":"user","content":"hi"}])") +
         (stream ? R"(,"stream":true})" : "}");
}

// The chain primary -> backup; breakers out of the way (their own tests are elsewhere) so each
// cell sees only the retry and fallback rules.
std::string chain_config(const FakeProvider& primary, const FakeProvider& backup) {
  return "server:\n  threads: 1\n"
         "router:\n  backoff: {base: 50ms, cap: 100ms}\n"
         "  breaker: {consecutive_failures: 1000, min_requests: 1000}\n"
         "providers:\n"
         "  primary:\n    base_url: " + primary.base_url() + "\n    max_retries: 2\n"
         "    timeouts: {headers: " + std::to_string(kHeadersTimeoutMs) + "ms, idle: " +
         std::to_string(kHeadersTimeoutMs) + "ms}\n    models: [fake-model]\n"
         "  backup:\n    base_url: " + backup.base_url() + "\n    max_retries: 2\n    models: [fake-model]\n"
         "models:\n  chain:\n    deployments:\n"
         "      - {provider: primary, model: fake-model, priority: 1}\n"
         "      - {provider: backup, model: fake-model, priority: 2}\n";
}

struct Chain {
  FakeProvider primary, backup;
  Gateway gw;
  int baseline_fds = 0;  // the gateway's descriptors with no upstream connection counted
};

Chain start_chain(std::vector<std::string> primary_flags, std::vector<std::string> backup_flags = {}) {
  Chain c;
  primary_flags.insert(primary_flags.end(), {"--content", kPrimaryText});
  backup_flags.insert(backup_flags.end(), {"--content", kBackupText});
  c.primary = start_fake(primary_flags);
  c.backup = start_fake(backup_flags);
  c.gw = start_gateway(chain_config(c.primary, c.backup));
  // One request through the upstream engine first, so what it creates once (its wakeup pipe, ...)
  // is in the baseline and not taken for a leak.
  // The warm-up asks the backup to behave, whatever its flags say.
  auto warm = http_post(c.gw.url("/v1/chat/completions"),
                        R"({"model":"backup/fake-model","messages":[{"role":"user","content":"warm"}],)"
                        R"("fake":{"status":0,"error_code":""}})");
  EXPECT_EQ(warm.status, 200) << warm.body;
  http_request("DELETE", fake_url(c.backup, "/_fake/requests"));
  EXPECT_TRUE(eventually([&] { return metric(c.gw, "llmux_client_connections") == 1; }));
  // The lowest of a few readings: a client connection (the scrape's) may still be closing.
  c.baseline_fds = std::numeric_limits<int>::max();
  for (int i = 0; i < 10; ++i, ::poll(nullptr, 0, 10)) {
    int held = open_fds(c.gw.process.pid()) - int(upstream_connections(c.primary) + upstream_connections(c.backup));
    c.baseline_fds = std::min(c.baseline_fds, held);
  }
  return c;
}

// Afterwards: the client connection is gone, a hung or reset upstream connection was closed, and
// the gateway holds exactly its baseline plus the pooled upstream connections the fakes still see.
void expect_nothing_leaked(const Chain& c, bool primary_connection_must_be_gone) {
  EXPECT_TRUE(eventually([&] { return metric(c.gw, "llmux_client_connections") == 1; }))
      << "a client connection is still open";
  if (primary_connection_must_be_gone) {
    EXPECT_TRUE(eventually([&] { return upstream_connections(c.primary) == 0; }))
        << "the connection to the failed primary is still open: " << upstream_connections(c.primary);
  }
  EXPECT_LE(upstream_connections(c.primary), 1);
  EXPECT_LE(upstream_connections(c.backup), 1);
  int expected = 0, fds = 0;
  EXPECT_TRUE(eventually([&] {
    expected = c.baseline_fds + int(upstream_connections(c.primary) + upstream_connections(c.backup));
    fds = open_fds(c.gw.process.pid());
    return fds == expected;
  })) << "llmux holds " << fds << " descriptors, expected " << expected;
}

void expect_seen(const HttpResponse& r, const Expected& want, bool stream) {
  switch (want.seen) {
    case Seen::primary_answer:
    case Seen::backup_answer: {
      std::string text = want.seen == Seen::primary_answer ? kPrimaryText : kBackupText;
      if (!stream) {
        auto v = json::parse(r.body);
        EXPECT_EQ(v.at("choices").at(0).at("message").at("content").as_string(), text) << r.body;
        return;
      }
      EXPECT_EQ(r.header("content-type"), "text/event-stream");
      auto events = sse_data(r.body);
      ASSERT_FALSE(events.empty()) << r.body;
      EXPECT_EQ(events.back(), "[DONE]") << r.body;
      EXPECT_EQ(std::count(events.begin(), events.end(), "[DONE]"), 1) << r.body;
      EXPECT_EQ(r.body.find("\"error\""), std::string::npos) << r.body;
      for (auto& e : events) EXPECT_TRUE(e == "[DONE]" || valid_json(e)) << "the client got an invalid event: " << e;
      EXPECT_EQ(streamed_text(events), text) << r.body;
      return;
    }
    case Seen::error: {
      EXPECT_EQ(r.header("content-type"), "application/json");
      auto v = json::parse(r.body);
      auto& error = v.at("error").as_object();
      if (want.error_code.empty()) EXPECT_TRUE(error.at("code").is_null()) << r.body;
      else EXPECT_EQ(error.at("code"), json::value(want.error_code)) << r.body;
      EXPECT_NE(r.body.find(want.error_says), std::string::npos) << r.body;
      for (auto key : {"message", "type", "param"}) EXPECT_TRUE(error.contains(key)) << key << ": " << r.body;
      if (want.error_code == "content_policy_violation") {  // the provider's reason, as it gave it
        EXPECT_NE(r.body.find("rejected as a result of our safety system"), std::string::npos) << r.body;
      }
      return;
    }
    case Seen::cut_stream: {
      auto events = sse_data(r.body);
      ASSERT_GE(events.size(), 2u) << r.body;
      EXPECT_EQ(std::count(events.begin(), events.end(), "[DONE]"), 0) << "a cut stream ended as a success: " << r.body;
      auto last = json::parse(events.back());
      EXPECT_TRUE(last.as_object().contains("error")) << r.body;
      events.pop_back();
      std::string text = streamed_text(events);
      EXPECT_FALSE(text.empty()) << r.body;
      EXPECT_EQ(std::string(kPrimaryText).rfind(text, 0), 0u) << "not a prefix of the answer: " << text;
      EXPECT_NE(text, kPrimaryText) << "the whole answer came, it was not cut";
      return;
    }
  }
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.cell.name << (c.stream ? " (stream)" : " (plain)"); }

class FaultMatrix : public ::testing::TestWithParam<Case> {};

TEST_P(FaultMatrix, TheRouterDoesWhatTheFailureTableSays) {
  const Case& k = GetParam();
  const Expected& want = k.stream ? k.cell.stream : k.cell.plain;
  Chain c = start_chain(k.cell.primary_flags, k.cell.backup_flags);

  auto started = Clock::now();
  auto r = http_post(c.gw.url("/v1/chat/completions"), chat_body(k.stream));
  long total = gap_ms(started, Clock::now());

  EXPECT_EQ(r.status, want.status) << r.body << r.error;
  EXPECT_EQ(r.header("x-llmux-provider"), want.provider);
  EXPECT_EQ(r.header("x-llmux-attempts"), expand(want.attempts));
  auto primary = completion_times(c.primary);
  auto backup = completion_times(c.backup);
  EXPECT_EQ(primary.size(), want.primary_requests) << "requests the primary received";
  EXPECT_EQ(backup.size(), want.backup_requests) << "requests the backup received";
  if (primary.size() >= 2) {
    long gap = gap_ms(primary[0], primary[1]);
    EXPECT_GE(gap, want.min_gap_ms) << "the retry came too early";
    EXPECT_LE(gap, want.max_gap_ms) << "the retry came too late";
  }
  // "At most 2 attempts per deployment in any 1.5 s".
  for (size_t i = 2; i < primary.size(); ++i) EXPECT_GE(gap_ms(primary[i - 2], primary[i]), kWindowMs);
  EXPECT_GE(total, want.min_total_ms);
  EXPECT_LE(total, want.max_total_ms);
  std::printf("fault matrix | %s | %s | %ld %s | %s | %zu / %zu | %s | %ld ms |\n", k.cell.name.c_str(),
              k.stream ? "stream" : "plain", r.status, r.header("x-llmux-provider").c_str(),
              r.header("x-llmux-attempts").c_str(), primary.size(), backup.size(),
              primary.size() >= 2 ? (std::to_string(gap_ms(primary[0], primary[1])) + " ms").c_str() : "—", total);
  expect_seen(r, want, k.stream);
  // Failed attempts are not requests of the deployment that failed: /metrics counts the one that
  // answered (the backup also answered the warm-up request).
  // The request is recorded as its exchange ends, just after the last byte left: eventually.
  const bool primary_answered = want.provider == "primary";
  double by_primary = 0, by_backup = 0;
  EXPECT_TRUE(eventually([&] {
    by_primary = series_sum(c.gw, "llmux_requests_total", "provider=\"primary\"");
    by_backup = series_sum(c.gw, "llmux_requests_total", "provider=\"backup\"");
    return by_primary + by_backup == 2;
  })) << "requests recorded: primary " << by_primary << ", backup " << by_backup;
  EXPECT_EQ(by_primary, primary_answered ? 1 : 0);
  EXPECT_EQ(by_backup, primary_answered ? 1 : 2);
  if (!primary_answered || want.status != 200) {
    EXPECT_EQ(series_sum(c.gw, "llmux_tokens_total", "provider=\"primary\""), 0) << "a failed attempt's usage counted";
  }

  // A reset, a hang or a close before the answer leaves nothing to reuse; a stream cut with a clean
  // end of its chunked body does (the fake keeps that connection alive).
  bool primary_broken = k.cell.name == "NoResponse" || k.cell.name == "ResetBeforeHeaders" ||
                        (k.cell.name.starts_with("StreamCut") && !k.stream);
  expect_nothing_leaked(c, primary_broken);
}

INSTANTIATE_TEST_SUITE_P(Cells, FaultMatrix, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.cell.name + (info.param.stream ? "Stream" : "Plain");
                         });

// ---- cells that take more than one request or a chain of one ----------------------------------

class FaultMatrixTimed : public ::testing::TestWithParam<bool> {};

// A deployment that keeps failing transiently, with nowhere else to go: its third attempt waits
// for the 1.5 s window (two attempts per deployment at most), and max_retries (2) ends it.
TEST_P(FaultMatrixTimed, WithNoFallbackTheThirdAttemptWaitsForTheWindow) {
  bool stream = GetParam();
  Chain c = start_chain({"--status", "503"});
  auto started = Clock::now();
  auto r = http_post(c.gw.url("/v1/chat/completions"), chat_body(stream),
                     {"Content-Type: application/json", "x-llmux-fallbacks: none"});
  long total = gap_ms(started, Clock::now());
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.header("x-llmux-attempts"), expand("3; p=503,p=503,p=503"));
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto primary = completion_times(c.primary);
  ASSERT_EQ(primary.size(), 3u);
  EXPECT_LE(gap_ms(primary[0], primary[1]), 300);
  EXPECT_GE(gap_ms(primary[0], primary[2]), kWindowMs);
  EXPECT_LE(gap_ms(primary[0], primary[2]), 2300);
  EXPECT_GE(total, 1500);
  EXPECT_TRUE(completion_times(c.backup).empty());
  std::printf("fault matrix | WindowNoFallback | %s | %ld | %s | gaps %ld, %ld ms | %ld ms |\n",
              stream ? "stream" : "plain", r.status, r.header("x-llmux-attempts").c_str(),
              gap_ms(primary[0], primary[1]), gap_ms(primary[0], primary[2]), total);
  expect_nothing_leaked(c, false);
}

// The primary answers 503 for its first 700 ms: requests meanwhile fall back to the backup (each
// after two quick attempts on the primary); the first request after the outage is the primary's.
TEST_P(FaultMatrixTimed, APrimaryDownForAWhileIsUsedAgainOnceItRecovers) {
  bool stream = GetParam();
  constexpr long kDownMs = 700;
  Chain c = start_chain({"--down-for-ms", std::to_string(kDownMs), "--fail-with", "503"});
  auto first_sent = Clock::now();
  int fell_back = 0;
  for (;;) {
    auto sent = Clock::now();
    auto r = http_post(c.gw.url("/v1/chat/completions"), chat_body(stream));
    ASSERT_EQ(r.status, 200) << r.body;
    auto attempts = r.header("x-llmux-attempts");
    if (r.header("x-llmux-provider") == "primary") {
      // Either the outage had ended, or it ended between this request's two attempts.
      EXPECT_TRUE(attempts == expand("1; p=200") || attempts == expand("2; p=503,p=200")) << attempts;
      expect_seen(r, answered_by_primary("", 1), stream);
      auto primary = completion_times(c.primary);
      ASSERT_FALSE(primary.empty());
      EXPECT_GE(gap_ms(primary.front(), primary.back()), kDownMs) << "healthy before the outage ended";
      std::printf("fault matrix | DownFor%ldms | %s | %d request(s) answered by backup, then the primary %ld ms "
                  "after its first request (%s) |\n",
                  kDownMs, stream ? "stream" : "plain", fell_back, gap_ms(primary.front(), primary.back()),
                  attempts.c_str());
      break;
    }
    ++fell_back;
    // Down: the primary was asked twice within its 1.5 s window, then the backup answered.
    EXPECT_EQ(attempts, expand("3; p=503,p=503,b=200"));
    expect_seen(r, answered_by_backup("", 2), stream);
    ASSERT_LT(gap_ms(first_sent, sent), kDownMs + 3000) << "the primary never came back";
  }
  EXPECT_GE(fell_back, 1);
  expect_nothing_leaked(c, false);
}

INSTANTIATE_TEST_SUITE_P(Timed, FaultMatrixTimed, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Stream" : "Plain");
                         });

}  // namespace
}  // namespace llmux::test
