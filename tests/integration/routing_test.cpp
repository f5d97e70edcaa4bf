// Fallback chains through the real binary: the router decides, the exchange carries it out, and
// the answer says what was tried (x-llmux-attempts, x-llmux-provider, x-llmux-model).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

json::array fake_requests(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
}

// Providers on one fake; each misbehaves by its default_params (the fake's per-request knobs).
std::string providers(const FakeProvider& fake) {
  auto one = [&](const std::string& id, const std::string& knobs) {
    return "  " + id + ":\n    base_url: " + fake.base_url() + "\n    max_retries: 1\n    models: [fake-model]\n" +
           (knobs.empty() ? "" : "    default_params: {fake: " + knobs + "}\n");
  };
  return "providers:\n" + one("down", "{status: 503}") + one("rejects", "{status: 400}") +
         one("cut", "{truncate_after_chunks: 0}") + one("backup", "") +
         "models:\n"
         "  smart:\n    deployments:\n"
         "      - {provider: down, model: fake-model, priority: 1}\n"
         "      - {provider: backup, model: fake-model, priority: 2}\n"
         "  picky:\n    deployments:\n"
         "      - {provider: rejects, model: fake-model, priority: 1}\n"
         "      - {provider: backup, model: fake-model, priority: 2}\n"
         "  streamy:\n    deployments:\n"
         "      - {provider: cut, model: fake-model, priority: 1}\n"
         "      - {provider: backup, model: fake-model, priority: 2}\n";
}

std::string chat(const std::string& model, const std::string& extra = "") {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":"hi"}])" + extra + "}";
}

class Routing : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_ = start_fake();
    gw_ = start_gateway(providers(fake_));
  }
  HttpResponse post(const std::string& body, std::vector<std::string> headers = {}) {
    headers.push_back("Content-Type: application/json");
    return http_post(gw_.url("/v1/chat/completions"), body, headers);
  }
  FakeProvider fake_;
  Gateway gw_;
};

TEST_F(Routing, ADownPrimaryFallsBackToTheNextDeploymentAfterItsRetries) {
  auto r = post(chat("smart"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "backup");
  EXPECT_EQ(r.header("x-llmux-model"), "fake-model");
  EXPECT_EQ(r.header("x-llmux-attempts"), "3; down/fake-model=503,down/fake-model=503,backup/fake-model=200");
  EXPECT_FALSE(r.header("x-llmux-overhead-ms").empty());
  EXPECT_EQ(fake_requests(fake_).size(), 3u);
}

TEST_F(Routing, ARequestRejectionIsNotRepeatedOnTheSameDeployment) {
  auto r = post(chat("picky"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-attempts"), "2; rejects/fake-model=400,backup/fake-model=200");
}

TEST_F(Routing, AStreamCutBeforeContentFallsBackAndTheClientSeesOneCleanStream) {
  auto r = post(chat("streamy", R"(,"stream":true)"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "backup");
  auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(r.body.find("\"error\""), std::string::npos) << r.body;
}

TEST_F(Routing, BodyFallbacksAreTriedAndNeverSentUpstream) {
  auto r = post(R"({"model":"down/fake-model","fallbacks":["backup/fake-model"],"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-llmux-provider"), "backup");
  for (const auto& req : fake_requests(fake_)) {
    std::string body(req.at("body").as_string());
    EXPECT_EQ(body.find("fallbacks"), std::string::npos) << body;
  }
}

TEST_F(Routing, TheFallbacksHeaderAddsOrOptsOut) {
  auto added = post(chat("down/fake-model"), {"x-llmux-fallbacks: backup/fake-model"});
  EXPECT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.header("x-llmux-provider"), "backup");
  auto none = post(chat("smart"), {"x-llmux-fallbacks: none"});
  EXPECT_EQ(none.status, 503) << none.body;
  EXPECT_EQ(none.header("x-llmux-attempts"), "2; down/fake-model=503,down/fake-model=503");
  auto unknown = post(chat("smart"), {"x-llmux-fallbacks: nowhere/none"});
  EXPECT_EQ(unknown.status, 400) << unknown.body;
}

TEST_F(Routing, ABadTimeoutHeaderIsA400NamingIt) {
  auto r = post(chat("smart"), {"x-llmux-timeout: soon"});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("x-llmux-timeout"), std::string::npos) << r.body;
}

// After enough failures the breaker opens: the broken deployment is skipped without a request.
TEST(RoutingBreaker, AnOpenBreakerIsSkippedAndAllOpenIs503NamingThem) {
  auto fake = start_fake();
  auto gw = start_gateway(providers(fake) + "router:\n  breaker: {consecutive_failures: 2, cooldown: 60s}\n");
  auto first = http_post(gw.url("/v1/chat/completions"), chat("down/fake-model"));
  EXPECT_EQ(first.status, 503);
  size_t before = fake_requests(fake).size();
  auto skipped = http_post(gw.url("/v1/chat/completions"), chat("smart"));
  EXPECT_EQ(skipped.status, 200) << skipped.body;
  EXPECT_EQ(skipped.header("x-llmux-attempts"), "1; down/fake-model=open,backup/fake-model=200");
  EXPECT_EQ(fake_requests(fake).size(), before + 1);  // only the backup was asked
  auto all_open = http_post(gw.url("/v1/chat/completions"), chat("down/fake-model"));
  EXPECT_EQ(all_open.status, 503) << all_open.body;
  EXPECT_NE(all_open.body.find("down/fake-model"), std::string::npos) << all_open.body;
  EXPECT_FALSE(all_open.header("retry-after").empty());
}

}  // namespace
}  // namespace llmux::test
