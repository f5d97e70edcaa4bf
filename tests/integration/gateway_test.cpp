// End-to-end tests: the real llmux binary in front of the real fake provider, over loopback.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

const char* kChat = R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hello gateway"}]})";

std::string config_for(const FakeProvider& fake, const std::string& extra_provider = "",
                       const std::string& top_level = "") {
  return top_level + R"(
providers:
  fake:
    base_url: )" + fake.base_url() + R"(
    api_key: sk-upstream-secret-1234
    timeout: 2s
    max_retries: 0
    custom_headers:
      X-Organization-ID: org-42
    models:
      - id: fake-model
        context_window: 4096
        aliases: [fm]
      - id: renamed
        upstream_id: fake-model-2
      - fake-embedding
    default_model: fake-model
    default_params:
      temperature: 0.25
      top_p: 0.9
)" + extra_provider;
}

json::array fake_requests(const FakeProvider& fake) {
  auto r = http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
  return json::parse(r.body).as_array();
}

void clear_fake_requests(const FakeProvider& fake) {
  http_request("DELETE", "http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests");
}

json::object error_of(const HttpResponse& r) {
  auto v = json::parse(r.body);
  return v.at("error").as_object();
}

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake());
    // The suite shares one gateway: the scripted upstream failures of one test must not open the
    // breaker that the next test's requests go through.
    gateway_ = new Gateway(start_gateway(config_for(*fake_, "", "router:\n  breaker: {consecutive_failures: 1000000, min_requests: 1000000}\n")));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }
  void SetUp() override { clear_fake_requests(*fake_); }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* GatewayTest::fake_ = nullptr;
Gateway* GatewayTest::gateway_ = nullptr;

TEST_F(GatewayTest, PlainChatCompletion) {
  auto r = http_post(gateway_->url("/v1/chat/completions"), kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("model").as_string(), "fake-model");
  std::string content(v.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_NE(content.find("hello gateway"), std::string::npos) << content;
  EXPECT_FALSE(r.header("x-request-id").empty());
}

TEST_F(GatewayTest, ForwardsProviderAuthCustomHeadersAndRequestIdButNotGatewayCredential) {
  auto r = http_post(gateway_->url("/v1/chat/completions"), kChat,
                     {"Content-Type: application/json", "Authorization: Bearer client-gateway-key",
                      "x-request-id: trace-abc-123"});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "trace-abc-123");
  auto requests = fake_requests(*fake_);
  ASSERT_EQ(requests.size(), 1u);
  const auto& headers = requests[0].at("headers").as_object();
  EXPECT_EQ(headers.at("authorization").as_string(), "Bearer sk-upstream-secret-1234");
  EXPECT_EQ(headers.at("x-organization-id").as_string(), "org-42");
  EXPECT_EQ(headers.at("x-request-id").as_string(), "trace-abc-123");
}

TEST_F(GatewayTest, RewritesModelAndMergesDefaultParamsUnderRequestValues) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake/renamed","temperature":0.9,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto requests = fake_requests(*fake_);
  ASSERT_EQ(requests.size(), 1u);
  auto sent = json::parse(requests[0].at("body").as_string()).as_object();
  EXPECT_EQ(sent.at("model").as_string(), "fake-model-2");
  EXPECT_EQ(sent.at("temperature").as_double(), 0.9);  // the request's own value wins
  EXPECT_EQ(sent.at("top_p").as_double(), 0.9);        // default filled in
  EXPECT_EQ(sent.at("messages").at(0).at("content").as_string(), "x");
}

TEST_F(GatewayTest, ResolvesBareIdAliasProviderHeaderAndDefaultModel) {
  struct Case {
    std::string body;
    std::vector<std::string> headers;
    std::string expected_upstream_model;
  };
  std::vector<Case> cases = {
      {R"({"model":"fake-model","messages":[{"role":"user","content":"x"}]})", {}, "fake-model"},
      {R"({"model":"fm","messages":[{"role":"user","content":"x"}]})", {}, "fake-model"},
      {R"({"model":"fake","messages":[{"role":"user","content":"x"}]})", {}, "fake-model"},
      {R"({"messages":[{"role":"user","content":"x"}]})", {"x-llmux-provider: fake"}, "fake-model"},
      {R"({"model":"renamed","messages":[{"role":"user","content":"x"}]})", {"x-llmux-provider: fake"}, "fake-model-2"},
  };
  for (const auto& c : cases) {
    clear_fake_requests(*fake_);
    std::vector<std::string> headers = {"Content-Type: application/json"};
    headers.insert(headers.end(), c.headers.begin(), c.headers.end());
    auto r = http_post(gateway_->url("/v1/chat/completions"), c.body, headers);
    ASSERT_EQ(r.status, 200) << c.body << " -> " << r.body;
    auto requests = fake_requests(*fake_);
    ASSERT_EQ(requests.size(), 1u);
    auto sent = json::parse(requests[0].at("body").as_string()).as_object();
    EXPECT_EQ(sent.at("model").as_string(), c.expected_upstream_model) << c.body;
  }
}

TEST_F(GatewayTest, StreamsEveryEventWithUsage) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},)"
                     R"("messages":[{"role":"user","content":"stream please"}],"fake":{"chunks":4}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = sse_data(r.body);
  ASSERT_GE(events.size(), 7u);  // role + 4 content + finish + usage + [DONE]
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    auto chunk = json::parse(events[i]).as_object();
    EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
    const auto& choices = chunk.at("choices").as_array();
    if (!choices.empty()) {
      const auto& delta = choices[0].at("delta").as_object();
      if (auto* c = delta.if_contains("content")) text += std::string(c->as_string());
    }
  }
  EXPECT_NE(text.find("stream please"), std::string::npos) << text;
  auto last = json::parse(events[events.size() - 2]).as_object();
  EXPECT_TRUE(last.at("choices").as_array().empty());
  EXPECT_GT(last.at("usage").at("total_tokens").as_int64(), 0);
}

// The fake provider writes one event every 150 ms; if llmux buffered, the events would reach the
// client together at the end.
TEST_F(GatewayTest, StreamIsNotBuffered) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"a b c d e f"}],)"
                     R"("fake":{"chunks":5,"chunk_interval_ms":150}})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::vector<std::chrono::milliseconds> content_arrivals;
  for (const auto& [when, piece] : r.pieces)
    if (piece.find("\"content\"") != std::string::npos) content_arrivals.push_back(when);
  ASSERT_GE(content_arrivals.size(), 4u) << "events were coalesced into " << r.pieces.size() << " pieces";
  auto spread = content_arrivals.back() - content_arrivals.front();
  EXPECT_GE(spread.count(), 450) << "events arrived together";
  // Most gaps reflect the upstream's pacing; one may shrink if this process was descheduled.
  int paced_gaps = 0;
  for (size_t i = 1; i < content_arrivals.size(); ++i)
    if ((content_arrivals[i] - content_arrivals[i - 1]).count() >= 75) ++paced_gaps;
  EXPECT_GE(paced_gaps, static_cast<int>(content_arrivals.size()) - 2);
}

TEST_F(GatewayTest, LegacyCompletionsAndEmbeddings) {
  auto c = http_post(gateway_->url("/v1/completions"), R"({"model":"fake-model","prompt":"Say hi"})");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(json::parse(c.body).at("object").as_string(), "text_completion");

  auto e = http_post(gateway_->url("/v1/embeddings"), R"({"model":"fake/fake-embedding","input":["a","b"]})");
  ASSERT_EQ(e.status, 200) << e.body;
  auto v = json::parse(e.body).as_object();
  EXPECT_EQ(v.at("data").as_array().size(), 2u);
  EXPECT_EQ(v.at("model").as_string(), "fake-embedding");
  // default_params are for generation; embeddings are sent without them.
  auto requests = fake_requests(*fake_);
  auto sent = json::parse(requests.back().at("body").as_string()).as_object();
  EXPECT_FALSE(sent.contains("temperature"));
}

TEST_F(GatewayTest, ListsAndGetsModels) {
  auto r = http_get(gateway_->url("/v1/models"));
  ASSERT_EQ(r.status, 200);
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "list");
  std::vector<std::string> ids;
  for (const auto& m : v.at("data").as_array()) {
    ids.emplace_back(m.at("id").as_string());
    EXPECT_EQ(m.at("owned_by").as_string(), "fake");
    EXPECT_EQ(m.at("object").as_string(), "model");
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"fake/fake-model", "fake/renamed", "fake/fake-embedding"}));

  auto one = http_get(gateway_->url("/v1/models/fake/fake-model"));
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body).at("context_window").as_int64(), 4096);
  auto missing = http_get(gateway_->url("/v1/models/fake/nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(error_of(missing).at("code").as_string(), "model_not_found");
}

TEST_F(GatewayTest, HealthAndReadiness) {
  EXPECT_EQ(http_get(gateway_->url("/healthz")).status, 200);
  EXPECT_EQ(http_get(gateway_->url("/readyz")).status, 200);
}

TEST_F(GatewayTest, ValidationErrors) {
  struct Case {
    std::string name, path, body;
    std::vector<std::string> headers;
    long status;
    std::string param, message_part;
  };
  std::vector<Case> cases = {
      {"bad json", "/v1/chat/completions", "{\"model\": \"fake-model\",\n \"messages\": [}", {}, 400, "", "line 2"},
      {"not an object", "/v1/chat/completions", "[1,2]", {}, 400, "", "JSON object"},
      {"missing messages", "/v1/chat/completions", R"({"model":"fake-model"})", {}, 400, "messages", "required"},
      {"empty messages", "/v1/chat/completions", R"({"model":"fake-model","messages":[]})", {}, 400, "messages", "at least one"},
      {"messages not array", "/v1/chat/completions", R"({"model":"fake-model","messages":"hi"})", {}, 400, "messages", "array"},
      {"model not string", "/v1/chat/completions", R"({"model":7,"messages":[{"role":"user","content":"x"}]})", {}, 400, "model", "string"},
      {"unknown model", "/v1/chat/completions", R"({"model":"fake-modle","messages":[{"role":"user","content":"x"}]})", {}, 404, "model", "fake-model"},
      {"unknown model under provider", "/v1/chat/completions", R"({"model":"fake/gpt-9","messages":[{"role":"user","content":"x"}]})", {}, 404, "model", "fake-embedding"},
      {"max_tokens over context", "/v1/chat/completions", R"({"model":"fake-model","max_tokens":5000,"messages":[{"role":"user","content":"x"}]})", {}, 400, "max_tokens", "4096"},
      {"max_tokens negative", "/v1/chat/completions", R"({"model":"fake-model","max_tokens":-1,"messages":[{"role":"user","content":"x"}]})", {}, 400, "max_tokens", "positive"},
      {"missing prompt", "/v1/completions", R"({"model":"fake-model"})", {}, 400, "prompt", "required"},
      {"missing input", "/v1/embeddings", R"({"model":"fake-embedding"})", {}, 400, "input", "required"},
      {"wrong content type", "/v1/chat/completions", kChat, {"Content-Type: text/plain"}, 415, "", "application/json"},
      {"unknown provider header", "/v1/chat/completions", kChat, {"Content-Type: application/json", "x-llmux-provider: nope"}, 404, "", "nope"},
  };
  for (const auto& c : cases) {
    auto headers = c.headers.empty() ? std::vector<std::string>{"Content-Type: application/json"} : c.headers;
    auto r = http_post(gateway_->url(c.path), c.body, headers);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    auto v = json::parse(r.body);
    const auto& e = v.at("error").as_object();
    std::string message(e.at("message").as_string());
    EXPECT_NE(message.find(c.message_part), std::string::npos) << c.name << ": " << message;
    if (!c.param.empty()) {
      EXPECT_EQ(e.at("param").as_string(), c.param) << c.name;
    }
    EXPECT_TRUE(e.contains("type") && e.contains("code")) << c.name;
  }
  EXPECT_EQ(fake_requests(*fake_).size(), 0u) << "invalid requests must not reach the provider";
}

TEST_F(GatewayTest, UnknownRouteAndMethod) {
  EXPECT_EQ(http_get(gateway_->url("/v1/nothing")).status, 404);
  EXPECT_EQ(http_get(gateway_->url("/v1/chat/completions")).status, 405);
}

TEST_F(GatewayTest, UpstreamErrorsKeepTheirStatus) {
  for (int status : {400, 401, 403, 404, 429, 500, 503}) {
    auto body = R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"status":)" +
                std::to_string(status) + (status == 429 ? R"(,"retry_after":"17"})" : "}") + "}";
    auto r = http_post(gateway_->url("/v1/chat/completions"), body);
    EXPECT_EQ(r.status, status) << r.body;
    auto e = error_of(r);
    std::string message(e.at("message").as_string());
    EXPECT_NE(message.find("provider 'fake'"), std::string::npos) << message;
    EXPECT_EQ(message.find("sk-upstream-secret"), std::string::npos) << "key leaked: " << message;
    if (status == 429) {
      EXPECT_EQ(r.header("retry-after"), "17");
    }
  }
}

TEST_F(GatewayTest, StreamRequestWithUpstreamErrorGetsJsonError) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"x"}],"fake":{"status":429,"retry_after":"3"}})");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "3");
  EXPECT_EQ(error_of(r).at("type").as_string(), "rate_limit_error");
}

TEST_F(GatewayTest, UpstreamTimeoutIs504NamingProviderAndLimit) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"hang":true}})");
  EXPECT_EQ(r.status, 504) << r.body;
  std::string message(error_of(r).at("message").as_string());
  EXPECT_NE(message.find("'fake'"), std::string::npos) << message;
  EXPECT_NE(message.find("2s"), std::string::npos) << message;
  EXPECT_NE(message.find("/v1/chat/completions"), std::string::npos) << message;
}

TEST_F(GatewayTest, MalformedUpstreamJsonIs502) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"malformed":true}})");
  EXPECT_EQ(r.status, 502) << r.body;
  EXPECT_NE(std::string(error_of(r).at("message").as_string()).find("malformed"), std::string::npos);
}

// The provider resets (RST) or closes (FIN) the connection before any byte of a response: a 502
// naming the provider, never an empty or status-0 answer (an EOF before the head is not a
// complete message).
TEST_F(GatewayTest, ConnectionClosedBeforeAnyResponseIs502) {
  for (const char* knob : {"reset_after_chunks", "truncate_after_chunks"}) {
    for (int i = 0; i < 3; ++i) {  // the first on a fresh connection, the others on pooled ones
      if (i > 0) {
        ASSERT_EQ(http_post(gateway_->url("/v1/chat/completions"), kChat).status, 200);
      }
      auto r = http_post(gateway_->url("/v1/chat/completions"),
                         std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{")") +
                             knob + R"(":0}})");
      EXPECT_EQ(r.status, 502) << knob << ' ' << r.body;
      EXPECT_NE(r.body.find("'fake'"), std::string::npos) << knob << ' ' << r.body;
    }
  }
}

TEST_F(GatewayTest, StreamResetMidwayEndsWithErrorEvent) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"x"}],"fake":{"chunks":5,"reset_after_chunks":2}})");
  ASSERT_EQ(r.status, 200);
  auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_NE(events.back(), "[DONE]");
  auto last = json::parse(events.back()).as_object();
  EXPECT_NE(std::string(last.at("error").at("message").as_string()).find("'fake'"), std::string::npos);
}

TEST_F(GatewayTest, TruncatedStreamEndsWithErrorEvent) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake-model","stream":true,"messages":[{"role":"user","content":"x"}],"fake":{"chunks":5,"truncate_after_chunks":2}})");
  ASSERT_EQ(r.status, 200);
  auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  auto last = json::parse(events.back()).as_object();
  EXPECT_NE(std::string(last.at("error").at("message").as_string()).find("before [DONE]"), std::string::npos);
}

TEST_F(GatewayTest, UsageIsCapturedForMetering) {
  auto before = json::parse(http_get(gateway_->url("/api/usage")).body);
  auto prior = [&](const char* key) -> int64_t {
    auto* p = before.at("providers").as_object().if_contains("fake");
    return p ? p->at(key).to_number<int64_t>() : 0;
  };
  auto r1 = http_post(gateway_->url("/v1/chat/completions"), kChat);
  auto r2 = http_post(gateway_->url("/v1/chat/completions"),
                      R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello gateway"}]})");
  ASSERT_EQ(r1.status, 200);
  ASSERT_EQ(r2.status, 200);
  int64_t expected = json::parse(r1.body).at("usage").at("completion_tokens").as_int64();
  auto events = sse_data(r2.body);
  expected += json::parse(events[events.size() - 2]).at("usage").at("completion_tokens").as_int64();
  // Usage is recorded after the response is written; poll the endpoint until it shows up.
  int64_t seen = 0;
  for (int i = 0; i < 200 && seen < expected; ++i) {
    auto after = json::parse(http_get(gateway_->url("/api/usage")).body);
    seen = after.at("providers").at("fake").at("completion_tokens").to_number<int64_t>() - prior("completion_tokens");
  }
  EXPECT_EQ(seen, expected);
}

// The value of a Prometheus series line (name and labels as written), or 0 when absent.
double metric(const Gateway& gateway, const std::string& series) {
  auto r = http_get(gateway.url("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type").rfind("text/plain; version=0.0.4", 0), 0u);
  size_t at = r.body.find("\n" + series + " ");
  return at == std::string::npos ? 0 : std::stod(r.body.substr(at + series.size() + 2));
}

TEST_F(GatewayTest, MetricsCountRequestsByProviderModelAndStatus) {
  const std::string ok = R"(llmux_requests_total{provider="fake",model="fake-model",status="200"})";
  const std::string limited = R"(llmux_requests_total{provider="fake",model="fake-model",status="429"})";
  const std::string unrouted = R"(llmux_requests_total{provider="",model="",status="404"})";
  const std::string tokens = R"(llmux_tokens_total{provider="fake",model="fake-model",kind="completion"})";
  double ok_before = metric(*gateway_, ok), limited_before = metric(*gateway_, limited);
  double unrouted_before = metric(*gateway_, unrouted), tokens_before = metric(*gateway_, tokens);

  auto plain = http_post(gateway_->url("/v1/chat/completions"), kChat);
  auto stream = http_post(gateway_->url("/v1/chat/completions"),
                          R"({"model":"fake-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"m"}]})");
  http_post(gateway_->url("/v1/chat/completions"),
            R"({"model":"fake-model","messages":[{"role":"user","content":"x"}],"fake":{"status":429}})");
  http_post(gateway_->url("/v1/chat/completions"), R"({"model":"nope/nothing","messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(plain.status, 200);
  ASSERT_EQ(stream.status, 200);
  auto events = sse_data(stream.body);
  double completion = json::parse(plain.body).at("usage").at("completion_tokens").to_number<double>() +
                      json::parse(events[events.size() - 2]).at("usage").at("completion_tokens").to_number<double>();

  // A response is recorded once it has been written; poll until all four show up.
  auto all_recorded = [&] {
    return metric(*gateway_, ok) >= ok_before + 2 && metric(*gateway_, limited) >= limited_before + 1 &&
           metric(*gateway_, unrouted) >= unrouted_before + 1;
  };
  for (int i = 0; i < 200 && !all_recorded(); ++i) {
  }
  EXPECT_EQ(metric(*gateway_, ok), ok_before + 2);
  EXPECT_EQ(metric(*gateway_, limited), limited_before + 1);
  EXPECT_EQ(metric(*gateway_, unrouted), unrouted_before + 1);
  EXPECT_EQ(metric(*gateway_, tokens), tokens_before + completion);
  EXPECT_GE(metric(*gateway_, R"(llmux_request_duration_seconds_count{provider="fake",model="fake-model",status="200"})"),
            ok_before + 2);
}

TEST_F(GatewayTest, BodyOverLimitIs413) {
  std::string big = R"({"model":"fake-model","messages":[{"role":"user","content":")" + std::string(11 << 20, 'a') + "\"}]}";
  auto r = http_post(gateway_->url("/v1/chat/completions"), big);
  EXPECT_EQ(r.status, 413) << r.error;
}

TEST_F(GatewayTest, TwoHundredConcurrentClientsAllSucceed) {
  constexpr int kClients = 200;
  std::atomic<int> ok{0};
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      bool stream = i % 2 == 1;
      std::string body = std::string(R"({"model":"fake-model","messages":[{"role":"user","content":"client )") +
                         std::to_string(i) + "\"}]" + (stream ? R"(,"stream":true)" : "") + "}";
      auto r = http_post(gateway_->url("/v1/chat/completions"), body);
      bool good = r.status == 200 && r.body.find("client " + std::to_string(i)) != std::string::npos;
      if (stream) good = good && sse_data(r.body).back() == "[DONE]";
      if (good) ok++;
      else failures[i] = std::to_string(r.status) + " " + r.error + " " + r.body.substr(0, 200);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients);
  for (const auto& f : failures)
    if (!f.empty()) ADD_FAILURE() << f;
}

}  // namespace
}  // namespace llmux::test
