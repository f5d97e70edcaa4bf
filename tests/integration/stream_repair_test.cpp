// Timeouts and broken streams through the real binary: the first-token and total limits of their
// own, an unparseable event dropped and counted, a stream finished without [DONE] completed with
// the usage asked for, and a stream that broke after its first byte resumed (resume: prefill) on
// the same or the next deployment, spliced into the client's stream.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <set>

#include <poll.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

json::array fake_requests(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
}

// One provider entry on `fake`; `extra` lines are indented under it.
std::string provider(const FakeProvider& fake, const std::string& id, const std::string& knobs,
                     const std::string& extra = "") {
  return "  " + id + ":\n    base_url: " + fake.base_url() + "\n    max_retries: 0\n    models: [fake-model]\n" +
         (knobs.empty() ? "" : "    default_params: {fake: " + knobs + "}\n") + extra;
}

std::string chain(const std::string& name, const std::vector<std::string>& providers) {
  std::string out = "  " + name + ":\n    deployments:\n";
  int priority = 1;
  for (const auto& p : providers)
    out += "      - {provider: " + p + ", model: fake-model, priority: " + std::to_string(priority++) + "}\n";
  return out;
}

const std::string kPrompt = "please answer in several words so the stream has pieces";

std::string chat(const std::string& model, bool stream, const std::string& extra = "") {
  return R"({"model":")" + model + R"(","stream":)" + (stream ? "true" : "false") +
         R"(,"messages":[{"role":"user","content":")" + kPrompt + R"("}])" + extra + "}";
}

// The text, ids and terminal state of an OpenAI SSE body.
struct StreamSeen {
  std::string text;
  std::vector<std::string> ids;
  std::vector<json::object> chunks;
  std::optional<json::object> error;
  int done = 0;
  int dropped_parse = 0;  // data that is not JSON (never expected)
};

StreamSeen read_stream(const std::string& body) {
  StreamSeen seen;
  for (const auto& data : sse_data(body)) {
    if (data == "[DONE]") {
      ++seen.done;
      continue;
    }
    boost::system::error_code ec;
    auto v = json::parse(data, ec);
    if (ec || !v.is_object()) {
      ++seen.dropped_parse;
      continue;
    }
    auto& o = v.as_object();
    if (o.contains("error")) {
      seen.error = o.at("error").as_object();
      continue;
    }
    if (auto* id = o.if_contains("id")) seen.ids.push_back(std::string(id->as_string()));
    if (auto* choices = o.if_contains("choices"); choices && !choices->as_array().empty()) {
      auto& delta = choices->as_array()[0].as_object().at("delta").as_object();
      if (auto* c = delta.if_contains("content"); c && c->is_string()) seen.text += c->as_string();
    }
    seen.chunks.push_back(o);
  }
  return seen;
}

std::string full_answer(const Gateway& gw, const std::string& model) {
  auto r = http_post(gw.url("/v1/chat/completions"), chat(model, false));
  EXPECT_EQ(r.status, 200) << r.body;
  return std::string(json::parse(r.body).at("choices").at(0).at("message").at("content").as_string());
}

// A request is counted once its answer is written, which the client may see first: the scrape
// is repeated until it shows `line` or 5 s have passed.
bool metrics_show(const Gateway& gw, const std::string& line) {
  for (auto until = Clock::now() + std::chrono::seconds(5);; ::poll(nullptr, 0, 20)) {
    if (http_get(gw.url("/metrics")).body.find(line) != std::string::npos) return true;
    if (Clock::now() >= until) return false;
  }
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

// --- timeouts ----------------------------------------------------------------------------------------

// A chain `name`: `first` (misbehaving by `knobs`, with `limits` as its timeouts:), then "backup".
Gateway with_backup(const FakeProvider& fake, const std::string& name, const std::string& first,
                    const std::string& knobs, const std::string& limits) {
  return start_gateway("providers:\n" + provider(fake, first, knobs, "    timeouts: " + limits + "\n") +
                       provider(fake, "backup", "") + "models:\n" + chain(name, {first, "backup"}));
}

struct Timed {
  HttpResponse response;
  long ms;
};
Timed timed_post(const Gateway& gw, const std::string& body) {
  auto t0 = Clock::now();
  auto r = http_post(gw.url("/v1/chat/completions"), body);
  return {std::move(r), elapsed_ms(t0)};
}

// The error names the provider, the limit and which setting it is.
void expect_names(const json::object& error, const std::string& provider_id, const std::string& limit,
                  const std::string& setting) {
  std::string message(error.at("message").as_string());
  EXPECT_NE(message.find("provider '" + provider_id + "'"), std::string::npos) << message;
  EXPECT_NE(message.find(limit), std::string::npos) << message;
  EXPECT_NE(message.find("timeouts." + setting), std::string::npos) << message;
}

TEST(StreamTimeouts, AFirstTokenTimeoutFallsBackToTheNextDeploymentAtOnce) {
  auto fake = start_fake();
  auto gw = with_backup(fake, "ttft", "slow", "{first_token_delay_ms: 5000}", "{first_token: 300ms}");
  auto [r, took] = timed_post(gw, chat("ttft", true));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "backup");
  EXPECT_NE(r.header("x-llmux-attempts").find("slow/fake-model=ttft"), std::string::npos) << r.header("x-llmux-attempts");
  auto seen = read_stream(r.body);
  EXPECT_FALSE(seen.error);
  EXPECT_EQ(seen.done, 1);
  EXPECT_EQ(fake_requests(fake).size(), 2u);  // the slow one once (not retried), then the backup
  EXPECT_LT(took, 3000) << "the 5 s first token was not waited for";
}

TEST(StreamTimeouts, AFirstTokenTimeoutWithNothingLeftIsA504NamingProviderLimitAndUrl) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" +
                          provider(fake, "slow", "{first_token_delay_ms: 5000}", "    timeouts: {first_token: 250ms}\n"));
  auto r = http_post(gw.url("/v1/chat/completions"), chat("fake-model", true));
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto error = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "upstream_first_token_timeout");
  EXPECT_EQ(error.at("type").as_string(), "upstream_timeout");
  expect_names(error, "slow", "250ms", "first_token");
  std::string message(error.at("message").as_string());
  EXPECT_NE(message.find(fake.base_url() + "/chat/completions"), std::string::npos) << message;
}

TEST(StreamTimeouts, ATotalTimeoutEndsAPlainRequestWith504AndAsksNoOtherDeployment) {
  auto fake = start_fake();
  auto gw = with_backup(fake, "deadline", "sluggish", "{latency_ms: 5000}", "{total: 400ms}");
  auto [r, took] = timed_post(gw, chat("deadline", false));
  EXPECT_EQ(r.status, 504) << r.body;
  auto error = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "upstream_total_timeout");
  expect_names(error, "sluggish", "400ms", "total");
  EXPECT_EQ(fake_requests(fake).size(), 1u);
  EXPECT_LT(took, 3000);
}

TEST(StreamTimeouts, TheRequestsDeadlineIsATotalTimeoutThatSaysWhereItCameFrom) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider(fake, "sluggish", "{latency_ms: 5000}"));
  auto r = http_post(gw.url("/v1/chat/completions"), chat("fake-model", false),
                     {"Content-Type: application/json", "x-llmux-timeout: 300ms"});
  EXPECT_EQ(r.status, 504) << r.body;
  auto error = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "upstream_total_timeout");
  std::string message(error.at("message").as_string());
  EXPECT_NE(message.find("x-llmux-timeout"), std::string::npos) << message;
}

TEST(StreamTimeouts, ATotalTimeoutAfterTheFirstByteEndsTheStreamWithOneErrorEventAndNoDone) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider(fake, "long", "{chunks: 60, chunk_interval_ms: 50}",
                                                    "    timeouts: {total: 600ms}\n"));
  auto r = http_post(gw.url("/v1/chat/completions"), chat("fake-model", true));
  EXPECT_EQ(r.status, 200);
  auto seen = read_stream(r.body);
  ASSERT_TRUE(seen.error) << r.body;
  EXPECT_EQ(seen.error->at("code").as_string(), "upstream_total_timeout");
  EXPECT_EQ(seen.done, 0);
  EXPECT_FALSE(seen.text.empty());
  auto events = sse_data(r.body);
  EXPECT_NE(events.back().find("\"error\""), std::string::npos) << "the error event is the last one";
}

TEST(StreamTimeouts, AStallAfterContentIsAnIdleTimeoutErrorEvent) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" +
                          provider(fake, "stalls", "{chunks: 6, stall_after_chunks: 2}", "    timeouts: {idle: 300ms}\n"));
  auto r = http_post(gw.url("/v1/chat/completions"), chat("fake-model", true));
  EXPECT_EQ(r.status, 200);
  auto seen = read_stream(r.body);
  ASSERT_TRUE(seen.error) << r.body;
  EXPECT_EQ(seen.error->at("code").as_string(), "upstream_idle_timeout");
  EXPECT_NE(std::string(seen.error->at("message").as_string()).find("300ms"), std::string::npos);
  EXPECT_EQ(seen.done, 0);
}

// --- sloppy streams ----------------------------------------------------------------------------------

// A sloppy upstream's stream as the client gets it: the whole answer, no unparseable event, no error.
void expect_whole_answer_without_the_bad_events(const HttpResponse& r, const std::string& expected) {
  EXPECT_EQ(r.status, 200);
  auto seen = read_stream(r.body);
  EXPECT_EQ(seen.dropped_parse, 0) << "an unparseable event reached the client:\n" << r.body;
  EXPECT_FALSE(seen.error);
  EXPECT_EQ(seen.done, 1);
  EXPECT_EQ(seen.text, expected);
}

TEST(StreamRepair, AnUnparseableEventIsDroppedAndCountedAndTheStreamGoesOn) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider(fake, "fake", "{chunks: 5, malformed_event_at: 2}"));
  std::string expected = full_answer(gw, "fake-model");
  expect_whole_answer_without_the_bad_events(http_post(gw.url("/v1/chat/completions"), chat("fake-model", true)), expected);
  EXPECT_TRUE(metrics_show(gw, "llmux_stream_events_dropped_total{provider=\"fake\"} 1"));
}

// Content chunks are checked in one pass against the shape of the last parsed one (issue 12);
// chunks of that very shape whose text is no valid JSON string must still never reach the client.
TEST(StreamRepair, ChunksOfTheContentShapeWithInvalidTextAreDroppedAndCounted) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider(fake, "fake", "{chunks: 6, bad_text_events_at: 2}"));
  std::string expected = full_answer(gw, "fake-model");
  for (std::string usage : {"", R"(,"stream_options":{"include_usage":true})"})
    expect_whole_answer_without_the_bad_events(http_post(gw.url("/v1/chat/completions"), chat("fake-model", true, usage)),
                                                expected);
  EXPECT_TRUE(metrics_show(gw, "llmux_stream_events_dropped_total{provider=\"fake\"} 6"));
}

TEST(StreamRepair, AFinishedStreamWithoutDoneOrUsageGetsAnEstimatedUsageChunkWhenAskedFor) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider(fake, "fake", "{chunks: 4, no_done: true, usage: false}"));
  auto r = http_post(gw.url("/v1/chat/completions"),
                     chat("fake-model", true, R"(,"stream_options":{"include_usage":true})"));
  EXPECT_EQ(r.status, 200);
  auto seen = read_stream(r.body);
  EXPECT_FALSE(seen.error) << r.body;
  EXPECT_EQ(seen.done, 1);
  ASSERT_FALSE(seen.chunks.empty());
  const auto& last = seen.chunks.back();
  EXPECT_TRUE(last.at("choices").as_array().empty()) << r.body;
  const auto& usage = last.at("usage").as_object();
  EXPECT_GT(usage.at("completion_tokens").as_int64(), 0);
  EXPECT_GT(usage.at("prompt_tokens").as_int64(), 0);
  EXPECT_EQ(usage.at("total_tokens").as_int64(),
            usage.at("completion_tokens").as_int64() + usage.at("prompt_tokens").as_int64());
  EXPECT_TRUE(usage.at("llmux_estimated").as_bool());
  EXPECT_EQ(last.at("id"), seen.chunks.front().at("id"));
}

TEST(StreamRepair, AFinishedStreamWithoutDoneKeepsTheUpstreamsUsage) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" + provider(fake, "fake", "{chunks: 4, no_done: true}"));
  auto r = http_post(gw.url("/v1/chat/completions"),
                     chat("fake-model", true, R"(,"stream_options":{"include_usage":true})"));
  auto seen = read_stream(r.body);
  EXPECT_EQ(seen.done, 1);
  int usage_chunks = 0;
  for (const auto& c : seen.chunks)
    if (auto* u = c.if_contains("usage"); u && u->is_object()) {
      ++usage_chunks;
      EXPECT_FALSE(u->as_object().contains("llmux_estimated"));
    }
  EXPECT_EQ(usage_chunks, 1) << r.body;
}

// --- resume: prefill -----------------------------------------------------------------------------------

// Every chunk the client got belongs to one stream and the text is the whole answer, once.
void expect_one_complete_stream(const StreamSeen& seen, const std::string& expected, const std::string& body) {
  EXPECT_FALSE(seen.error) << body;
  EXPECT_EQ(seen.done, 1) << body;
  EXPECT_EQ(seen.text, expected) << body;
  ASSERT_FALSE(seen.ids.empty());
  EXPECT_TRUE(std::all_of(seen.ids.begin(), seen.ids.end(), [&](const auto& id) { return id == seen.ids[0]; })) << body;
  std::set<std::string> models, created;
  for (const auto& c : seen.chunks) {
    models.insert(json::serialize(c.at("model")));
    created.insert(json::serialize(c.at("created")));
  }
  EXPECT_EQ(models.size(), 1u) << body;
  EXPECT_EQ(created.size(), 1u) << body;
  int role_chunks = 0;
  for (const auto& c : seen.chunks)
    if (!c.at("choices").as_array().empty() && c.at("choices").at(0).at("delta").as_object().contains("role"))
      ++role_chunks;
  EXPECT_EQ(role_chunks, 1) << body;
}

// The trailing assistant message of a recorded request; "" without one.
std::string prefill_of(const json::value& request) {
  auto body = json::parse(request.at("body").as_string());
  auto& messages = body.at("messages").as_array();
  auto& last = messages.back().as_object();
  if (last.at("role").as_string() != "assistant") return {};
  const auto& content = last.at("content");
  if (content.is_string()) return std::string(content.as_string());
  std::string text;  // Anthropic: content blocks
  for (const auto& block : content.as_array()) text += block.at("text").as_string();
  return text;
}

TEST(StreamResume, ACutStreamIsResumedOnTheSameDeploymentThenTheNextAndSplicedIntoOneAnswer) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n" +
                          provider(fake, "flaky", "{chunks: 6, truncate_after_chunks: 2}", "    resume: prefill\n") +
                          provider(fake, "backup", "{chunks: 6}", "    resume: prefill\n") + "models:\n" +
                          chain("resumable", {"flaky", "backup"}));
  std::string expected = full_answer(gw, "backup/fake-model");
  http_request("DELETE", "http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  auto t0 = Clock::now();
  auto r = http_post(gw.url("/v1/chat/completions"), chat("resumable", true));
  long resumed_ms = elapsed_ms(t0);
  EXPECT_EQ(r.status, 200);
  auto seen = read_stream(r.body);
  expect_one_complete_stream(seen, expected, r.body);

  auto requests = fake_requests(fake);
  ASSERT_EQ(requests.size(), 3u);  // flaky (cut), flaky resumed (cut again), backup resumed
  EXPECT_EQ(prefill_of(requests[0]), "");
  std::string first = prefill_of(requests[1]), second = prefill_of(requests[2]);
  EXPECT_FALSE(first.empty());
  EXPECT_GT(second.size(), first.size());
  EXPECT_TRUE(expected.starts_with(second)) << "the prefill is exactly the text sent: " << second;
  // Counted for the provider that finished the answer: both continuations.
  EXPECT_TRUE(metrics_show(gw, "llmux_stream_resumes_total{provider=\"backup\"} 2"));

  auto t1 = Clock::now();
  auto healthy = http_post(gw.url("/v1/chat/completions"), chat("backup/fake-model", true));
  long healthy_ms = elapsed_ms(t1);
  EXPECT_EQ(read_stream(healthy.body).text, expected);
  std::printf("[ stream resume ] cut twice and resumed: %ld ms; healthy stream: %ld ms; extra: %ld ms\n", resumed_ms,
              healthy_ms, resumed_ms - healthy_ms);
}

// Deployments of the chain "resumable", in order, each on `fake` with its knobs.
struct Entry {
  std::string id, knobs;
  bool resume = true;
  std::string extra = {};
};
std::string resumable_chain(const FakeProvider& fake, const std::vector<Entry>& entries) {
  std::string out = "providers:\n";
  std::vector<std::string> ids;
  for (const auto& e : entries) {
    out += provider(fake, e.id, e.knobs, (e.resume ? "    resume: prefill\n" : "") + e.extra);
    ids.push_back(e.id);
  }
  return out + "models:\n" + chain("resumable", ids);
}

// The chain's answer streams as one complete answer, the one its last deployment gives.
void expect_resumed_answer(const std::vector<Entry>& entries) {
  auto fake = start_fake();
  auto gw = start_gateway(resumable_chain(fake, entries));
  std::string expected = full_answer(gw, entries.back().id + "/fake-model");
  auto r = http_post(gw.url("/v1/chat/completions"), chat("resumable", true));
  EXPECT_EQ(r.status, 200);
  expect_one_complete_stream(read_stream(r.body), expected, r.body);
}

// A stream open across the gateway's once-a-second sweep has its sent upstream request released
// (issue 12: memory per open stream); a resume after that encodes the continuation afresh.
TEST(StreamResume, ASlowStreamCutAfterTheSweepIsResumedFromAFreshRequest) {
  expect_resumed_answer({{"slow", "{chunks: 6, chunk_interval_ms: 300, truncate_after_chunks: 5}"},
                         {"backup", "{chunks: 6}"}});
}

TEST(StreamResume, AStalledStreamIsResumedAfterTheIdleLimit) {
  expect_resumed_answer({{"stalls", "{chunks: 6, stall_after_chunks: 3}", false, "    timeouts: {idle: 300ms}\n"},
                         {"backup", "{chunks: 6}"}});
}

TEST(StreamResume, ADeploymentThatRejectsThePrefillIsSkipped) {
  expect_resumed_answer({{"flaky", "{chunks: 6, truncate_after_chunks: 2}", false},
                         {"picky", "{chunks: 6, reject_prefill: true}"},
                         {"backup", "{chunks: 6}"}});
}

TEST(StreamResume, WhenEveryResumeFailsTheClientGetsTheBreakNotThePrefillRejection) {
  auto fake = start_fake();
  auto gw = start_gateway(resumable_chain(
      fake, {{"flaky", "{chunks: 6, truncate_after_chunks: 2}", false}, {"picky", "{chunks: 6, reject_prefill: true}"}}));
  auto r = http_post(gw.url("/v1/chat/completions"), chat("resumable", true));
  EXPECT_EQ(r.status, 200);
  auto seen = read_stream(r.body);
  ASSERT_TRUE(seen.error) << r.body;
  EXPECT_EQ(seen.done, 0);
  std::string message(seen.error->at("message").as_string());
  EXPECT_NE(message.find("provider 'flaky'"), std::string::npos) << message;
  EXPECT_EQ(message.find("prefill"), std::string::npos) << message;
  EXPECT_EQ(fake_requests(fake).size(), 2u);
}

TEST(StreamResume, ResumesAreBoundedByMaxResumes) {
  auto fake = start_fake();
  const std::string cuts = "{chunks: 8, truncate_after_chunks: 1}";
  auto gw = start_gateway("router: {max_resumes: 2}\n" +
                          resumable_chain(fake, {{"cut_a", cuts}, {"cut_b", cuts}, {"cut_c", cuts}}));
  auto r = http_post(gw.url("/v1/chat/completions"), chat("resumable", true));
  auto seen = read_stream(r.body);
  ASSERT_TRUE(seen.error) << r.body;
  EXPECT_EQ(seen.done, 0);
  // The stream, its resume on cut_a, one on cut_b; cut_c is never asked.
  EXPECT_EQ(fake_requests(fake).size(), 3u);
}

// Two resumable Anthropic deployments, the first cut after two events of its answer.
Gateway anthropic_pair(const FakeProvider& fake) {
  auto anthropic = [&](const std::string& id, const std::string& knobs) {
    return "  " + id + ":\n    type: anthropic\n    base_url: " + fake.base_url() +
           "\n    api_key: k\n    max_retries: 0\n    resume: prefill\n    models: [fake-model]\n"
           "    default_params: {fake: " + knobs + "}\n";
  };
  return start_gateway("providers:\n" + anthropic("claude_flaky", "{chunks: 6, truncate_after_chunks: 2}") +
                       anthropic("claude", "{chunks: 6}") + "models:\n" + chain("resumable", {"claude_flaky", "claude"}));
}

TEST(StreamResume, ATranslatedAnthropicStreamIsResumedWithAnAssistantPrefill) {
  auto fake = start_fake();
  auto gw = anthropic_pair(fake);
  std::string expected = full_answer(gw, "claude/fake-model");
  http_request("DELETE", "http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  auto r = http_post(gw.url("/v1/chat/completions"), chat("resumable", true));
  EXPECT_EQ(r.status, 200);
  expect_one_complete_stream(read_stream(r.body), expected, r.body);
  auto requests = fake_requests(fake);
  ASSERT_GE(requests.size(), 2u);
  EXPECT_TRUE(expected.starts_with(prefill_of(requests.back())));
}

// Only text is resumed: a tool call's arguments cannot be continued from a prefill.
TEST(StreamResume, AStreamBrokenInsideAToolCallIsNotResumed) {
  auto fake = start_fake();
  auto gw = anthropic_pair(fake);
  auto r = http_post(gw.url("/v1/chat/completions"),
                     chat("resumable", true,
                          R"(,"tools":[{"type":"function","function":{"name":"get_weather",)"
                          R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}])"));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("tool_calls"), std::string::npos) << r.body;
  auto seen = read_stream(r.body);
  ASSERT_TRUE(seen.error) << r.body;
  EXPECT_EQ(seen.done, 0);
  EXPECT_EQ(fake_requests(fake).size(), 1u);
}

}  // namespace
}  // namespace llmux::test
