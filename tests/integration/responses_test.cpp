// End-to-end: POST /v1/responses through the real llmux to the real fake provider. The body and the
// stream pass through as bytes to providers that serve the Responses API (an openai-compatible
// provider marked `responses: true`, azure-openai on both of its paths), routed like chat; every
// other provider answers 501 and a chain moves past it. Usage comes from the body's `usage` or the
// stream's response.completed, into the cost header and the ledger.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kAzureKey = "azure-upstream-key-5512";

struct LedgerRow {
  int64_t input = -1, cached = -1, output = -1, reasoning = -1, cost = -1, status = -1;
  std::string provider, error_type;
};

class ResponsesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    state_ = new TempDir();
    fake_ = new FakeProvider(start_fake({"--require-key", kAzureKey}));
    // Fails every stream before its content (an `error` event), or after it (response.failed).
    early_error_ = new FakeProvider(start_fake({"--stream-error", "true", "--chunks", "0"}));
    late_error_ = new FakeProvider(start_fake({"--stream-error", "true"}));
    const std::string root = "http://127.0.0.1:" + std::to_string(fake_->port);
    gateway_ = new Gateway(start_gateway("state_dir: " + state_->path + R"(
providers:
  - id: oa
    base_url: )" + root + R"(/v1
    api_key: )" + kAzureKey + R"(
    responses: true
    max_retries: 0
    models:
      - id: fake-model
        aliases: [resp-alias]
        pricing: { input: 0.0006, output: 0.0012 }
  - id: unmarked
    base_url: )" + root + R"(/v1
    api_key: )" + kAzureKey + R"(
    models: [unmarked-model]
  - id: gem
    type: gemini
    base_url: )" + root + R"(/v1beta
    api_key: )" + kAzureKey + R"(
    models: [gem-model]
  - id: azure
    type: azure-openai
    baseUrl: )" + root + R"(
    apiKey: )" + kAzureKey + R"(
    apiVersion: "2025-04-01-preview"
    models:
      - id: az-dated
        deployment: prod-4o
  - id: azure-v1
    type: azure-openai
    baseUrl: )" + root + R"(/openai/v1
    apiKey: )" + kAzureKey + R"(
    apiVersion: v1
    models:
      - id: az-v1
        deployment: mini-prod
  - id: early
    base_url: )" + early_error_->base_url() + R"(
    responses: true
    max_retries: 0
    models: [early-model]
  - id: late
    base_url: )" + late_error_->base_url() + R"(
    responses: true
    max_retries: 0
    models: [late-model]
models:
  chain-model:
    deployments:
      - {provider: gem, model: gem-model, priority: 1}
      - {provider: unmarked, model: unmarked-model, priority: 2}
      - {provider: oa, model: fake-model, priority: 3}
  failover-model:
    deployments:
      - {provider: early, model: early-model, priority: 1}
      - {provider: oa, model: fake-model, priority: 2}
  not-served:
    deployments:
      - {provider: gem, model: gem-model, priority: 1}
)"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete late_error_;
    delete early_error_;
    delete fake_;
    delete state_;
  }

  static HttpResponse responses(const std::string& body) { return http_post(gateway_->url("/v1/responses"), body); }
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    if (log.empty()) {
      ADD_FAILURE() << "the fake got no request";
      return {};
    }
    return log.back().as_object();
  }

  // The ledger's row of a request, once the gateway has recorded it: /api/usage flushes the
  // ledger, and a request is recorded just after its client has the answer, so the row is
  // polled for with a deadline.
  static LedgerRow ledger_row(const std::string& request_id) {
    auto until = Clock::now() + std::chrono::seconds(10);
    LedgerRow row;
    while (Clock::now() < until) {
      EXPECT_EQ(http_get(gateway_->url("/api/usage")).status, 200);
      sqlite3* db = nullptr;
      if (sqlite3_open_v2((state_->path + "/usage.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(db,
                           "SELECT input_tokens, cached_tokens, output_tokens, reasoning_tokens, cost_nano_usd, status, "
                           "provider, error_type FROM usage WHERE request_id = ?",
                           -1, &st, nullptr);
        sqlite3_bind_text(st, 1, request_id.c_str(), -1, SQLITE_TRANSIENT);
        bool found = st && sqlite3_step(st) == SQLITE_ROW;
        if (found) {
          row.input = sqlite3_column_int64(st, 0);
          row.cached = sqlite3_column_int64(st, 1);
          row.output = sqlite3_column_int64(st, 2);
          row.reasoning = sqlite3_column_int64(st, 3);
          row.cost = sqlite3_column_int64(st, 4);
          row.status = sqlite3_column_int64(st, 5);
          row.provider = reinterpret_cast<const char*>(sqlite3_column_text(st, 6));
          row.error_type = reinterpret_cast<const char*>(sqlite3_column_text(st, 7));
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        if (found) return row;
      } else {
        sqlite3_close(db);
      }
    }
    ADD_FAILURE() << "no ledger row for request " << request_id;
    return row;
  }

  static TempDir* state_;
  static FakeProvider* fake_;
  static FakeProvider* early_error_;
  static FakeProvider* late_error_;
  static Gateway* gateway_;
};
TempDir* ResponsesTest::state_ = nullptr;
FakeProvider* ResponsesTest::fake_ = nullptr;
FakeProvider* ResponsesTest::early_error_ = nullptr;
FakeProvider* ResponsesTest::late_error_ = nullptr;
Gateway* ResponsesTest::gateway_ = nullptr;

struct StreamEvent {
  std::string name;
  json::object data;
};

// The SSE events of a body with their `event:` names and parsed data.
std::vector<StreamEvent> stream_events(const std::string& body) {
  std::vector<StreamEvent> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    std::string block = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? body.size() : end + 2;
    StreamEvent e;
    std::string data;
    size_t line_start = 0;
    while (line_start < block.size()) {
      size_t nl = block.find('\n', line_start);
      std::string line = block.substr(line_start, nl == std::string::npos ? std::string::npos : nl - line_start);
      line_start = nl == std::string::npos ? block.size() : nl + 1;
      if (line.starts_with("event: ")) e.name = line.substr(7);
      if (line.starts_with("data: ")) data += line.substr(6);
    }
    if (data.empty()) continue;
    e.data = json::parse(data).as_object();
    out.push_back(std::move(e));
  }
  return out;
}

std::string output_text(const json::object& response) {
  std::string text;
  for (const auto& item : response.at("output").as_array())
    for (const auto& part : item.at("content").as_array())
      if (part.at("type").as_string() == "output_text") text += part.at("text").as_string();
  return text;
}

TEST_F(ResponsesTest, APlainResponsePassesThroughWithItsUsageInTheCostHeaderAndTheLedger) {
  auto r = responses(
      R"({"model":"resp-alias","input":"Say hello","fake":{"content":"Hello there friend","cached_tokens":2,"reasoning_tokens":1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "oa");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("object").as_string(), "response");
  EXPECT_EQ(v.at("status").as_string(), "completed");
  EXPECT_EQ(output_text(v), "Hello there friend");
  const auto& usage = v.at("usage").as_object();
  int64_t input = usage.at("input_tokens").as_int64(), output = usage.at("output_tokens").as_int64();
  EXPECT_EQ(output, 3);

  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/v1/responses");
  auto sent_body = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(sent_body.at("model").as_string(), "fake-model");  // the alias resolved
  EXPECT_EQ(sent_body.at("input").as_string(), "Say hello");   // the rest as the client wrote it

  // Cached tokens are priced at the input price when the model names no cached price.
  const int64_t cost = input * 600 + output * 1200;
  EXPECT_EQ(nanos_of(r.header("x-llmux-cost-usd")), cost) << r.header("x-llmux-cost-usd");
  auto row = ledger_row(r.header("x-request-id"));
  EXPECT_EQ(row.provider, "oa");
  EXPECT_EQ(row.input, input);
  EXPECT_EQ(row.cached, 2);
  EXPECT_EQ(row.output, output);
  EXPECT_EQ(row.reasoning, 1);
  EXPECT_EQ(row.cost, cost);
  EXPECT_EQ(row.status, 200);
}

TEST_F(ResponsesTest, AStreamPassesThroughTheResponsesEventSequenceAndItsUsageIsTheCompletedEvents) {
  auto r = responses(
      R"({"model":"fake-model","stream":true,"input":[{"role":"user","content":[{"type":"input_text","text":"Stream me"}]}],"fake":{"content":"one two three four","chunks":3,"cached_tokens":1}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  auto events = stream_events(r.body);
  std::vector<std::string> names;
  for (const auto& e : events) {
    names.push_back(e.name);
    EXPECT_EQ(e.data.at("type").as_string(), e.name);  // the data is the provider's, untouched
  }
  const std::vector<std::string> expected = {
      "response.created",           "response.in_progress",       "response.output_item.added",
      "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
      "response.output_text.delta", "response.output_text.done",  "response.content_part.done",
      "response.output_item.done",  "response.completed"};
  EXPECT_EQ(names, expected) << r.body;
  std::string text;
  for (const auto& e : events)
    if (e.name == "response.output_text.delta") text += e.data.at("delta").as_string();
  EXPECT_EQ(text, "one two three four");
  const auto& usage = events.back().data.at("response").at("usage").as_object();
  auto row = ledger_row(r.header("x-request-id"));
  EXPECT_EQ(row.input, usage.at("input_tokens").as_int64());
  EXPECT_EQ(row.output, usage.at("output_tokens").as_int64());
  EXPECT_EQ(row.cached, 1);
  EXPECT_EQ(row.cost, row.input * 600 + row.output * 1200);
  EXPECT_EQ(row.status, 200);
}

TEST_F(ResponsesTest, AProviderThatDoesNotServeItAnswers501NamingTheProviderInOpenAIsErrorShape) {
  auto r = responses(R"({"model":"gem-model","input":"hi"})");
  ASSERT_EQ(r.status, 501) << r.body;
  auto error = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "unsupported_endpoint");
  EXPECT_EQ(error.at("type").as_string(), "invalid_request_error");
  EXPECT_TRUE(error.at("param").is_null());
  std::string message(error.at("message").as_string());
  EXPECT_NE(message.find("provider 'gem' (type gemini) does not serve /v1/responses"), std::string::npos) << message;

  auto unmarked = responses(R"({"model":"unmarked-model","input":"hi","stream":true})");
  ASSERT_EQ(unmarked.status, 501) << unmarked.body;
  std::string hint(json::parse(unmarked.body).at("error").at("message").as_string());
  EXPECT_NE(hint.find("provider 'unmarked'"), std::string::npos) << hint;
  EXPECT_NE(hint.find("responses: true"), std::string::npos) << hint;

  auto chain = responses(R"({"model":"not-served","input":"hi"})");
  EXPECT_EQ(chain.status, 501) << chain.body;
}

TEST_F(ResponsesTest, AFallbackChainMovesPastDeploymentsThatCannotServeIt) {
  auto r = responses(R"({"model":"chain-model","input":"hi"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "oa");
  std::string attempts = r.header("x-llmux-attempts");
  EXPECT_NE(attempts.find("gem/gem-model=501"), std::string::npos) << attempts;
  EXPECT_NE(attempts.find("unmarked/unmarked-model=501"), std::string::npos) << attempts;
  EXPECT_EQ(json::parse(r.body).at("object").as_string(), "response");
}

TEST_F(ResponsesTest, AnErrorEventBeforeAnyContentFailsOverAndTheClientSeesOnlyTheNextAnswer) {
  auto r = responses(R"({"model":"failover-model","stream":true,"input":"hi","fake":{"content":"from the backup"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "oa");
  EXPECT_NE(r.header("x-llmux-attempts").find("early/early-model"), std::string::npos) << r.header("x-llmux-attempts");
  auto events = stream_events(r.body);
  ASSERT_FALSE(events.empty());
  for (const auto& e : events) EXPECT_NE(e.name, "error") << r.body;
  EXPECT_EQ(events.front().name, "response.created");
  EXPECT_EQ(events.back().name, "response.completed");
}

TEST_F(ResponsesTest, AnErrorEventWithNoFallbackIsAnErrorStatusNotAnEmpty200) {
  auto r = responses(R"({"model":"early-model","stream":true,"input":"hi"})");
  EXPECT_EQ(r.status, 502) << r.body;
  auto error = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(error.at("code").as_string(), "server_error");
  EXPECT_NE(std::string(error.at("message").as_string()).find("provider 'early' failed before answering"),
            std::string::npos)
      << r.body;
}

TEST_F(ResponsesTest, AFailureAfterContentReachesTheClientAndTheLedgerRecordsIt) {
  auto r = responses(R"({"model":"late-model","stream":true,"input":"hi"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = stream_events(r.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back().name, "response.failed");
  EXPECT_EQ(events.back().data.at("response").at("error").at("code").as_string(), "server_error");
  auto row = ledger_row(r.header("x-request-id"));
  EXPECT_EQ(row.status, 502);
  EXPECT_EQ(row.error_type, "server_error");
}

TEST_F(ResponsesTest, AStreamCutBeforeItsEndGetsTheResponsesErrorEvent) {
  auto r = responses(R"({"model":"fake-model","stream":true,"input":"hi","fake":{"truncate_after_chunks":2}})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto events = stream_events(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  EXPECT_EQ(events[events.size() - 2].name, "response.output_text.delta");
  const auto& last = events.back();
  EXPECT_EQ(last.name, "error") << r.body;
  EXPECT_EQ(last.data.at("type").as_string(), "error");
  EXPECT_NE(std::string(last.data.at("message").as_string()).find("ended before response.completed"), std::string::npos)
      << r.body;
  EXPECT_EQ(r.body.find("[DONE]"), std::string::npos);  // no chat-completions framing
}

TEST_F(ResponsesTest, AzureServesItOnTheDatedAndTheV1PathsWithTheDeploymentAsModel) {
  auto dated = responses(R"({"model":"az-dated","input":"hi"})");
  ASSERT_EQ(dated.status, 200) << dated.body;
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/openai/responses?api-version=2025-04-01-preview");
  EXPECT_EQ(sent.at("headers").at("api-key").as_string(), kAzureKey);
  EXPECT_EQ(json::parse(sent.at("body").as_string()).at("model").as_string(), "prod-4o");
  EXPECT_EQ(json::parse(dated.body).at("object").as_string(), "response");

  auto v1 = responses(R"({"model":"az-v1","input":"hi","stream":true})");
  ASSERT_EQ(v1.status, 200) << v1.body;
  sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), "/openai/v1/responses");
  EXPECT_EQ(json::parse(sent.at("body").as_string()).at("model").as_string(), "mini-prod");
  auto events = stream_events(v1.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().name, "response.completed");
}

TEST_F(ResponsesTest, BadInputIsA400NamingTheField) {
  auto r = responses(R"({"model":"fake-model","input":42})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(json::parse(r.body).at("error").at("param").as_string(), "input");
  auto broken = responses(R"({"model":"fake-model","input":)");
  EXPECT_EQ(broken.status, 400) << broken.body;
}

}  // namespace
}  // namespace llmux::test
