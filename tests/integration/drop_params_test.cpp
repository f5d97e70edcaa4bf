// End-to-end: a provider's drop_params through the real llmux to the real fake provider. A field
// the provider has no setting for is a 400 naming it, unless the provider's config drops it, and
// then the upstream body does not carry it and the answer is the provider's.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

constexpr const char* kUpstreamKey = "AIza-upstream-secret-drop";

class DropParamsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake({"--require-key", kUpstreamKey}));
    std::string url = "http://127.0.0.1:" + std::to_string(fake_->port) + "/v1beta";
    // The same Gemini endpoint twice: one provider in the map shape, one in the list shape.
    gateway_ = new Gateway(start_gateway(R"(
providers:
  - id: strict
    type: gemini
    base_url: )" + url + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    models: [fake-model]
  - id: lenient
    type: gemini
    base_url: )" + url + R"(
    api_key: )" + kUpstreamKey + R"(
    max_retries: 0
    models: [fake-model]
    dropParams: [user, metadata]
)"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  static size_t upstream_requests() {
    return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array().size();
  }
  static json::object last_upstream_body() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    if (log.empty()) {
      ADD_FAILURE() << "no request reached the fake";
      return {};
    }
    return json::parse(log.back().at("body").as_string()).as_object();
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* DropParamsTest::fake_ = nullptr;
Gateway* DropParamsTest::gateway_ = nullptr;

constexpr const char* kAsk =
    R"("messages":[{"role":"user","content":"hello"}],"user":"end-user-42","metadata":{"team":"blue"})";

TEST_F(DropParamsTest, WithoutDropParamsTheFieldIsA400NamingItAndNothingGoesUpstream) {
  size_t before = upstream_requests();
  auto r = chat(std::string(R"({"model":"strict/fake-model",)") + kAsk + "}");
  ASSERT_EQ(r.status, 400) << r.body;
  auto error = json::parse(r.body).at("error").as_object();
  EXPECT_EQ(error.at("param").as_string(), "user");
  EXPECT_EQ(error.at("type").as_string(), "invalid_request_error");
  EXPECT_NE(std::string_view(error.at("message").as_string()).find("drop_params"), std::string_view::npos);
  EXPECT_EQ(upstream_requests(), before);
}

TEST_F(DropParamsTest, TheProviderThatDropsThemAnswersAndTheUpstreamBodyLacksThem) {
  auto r = chat(std::string(R"({"model":"lenient/fake-model",)") + kAsk + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(json::parse(r.body).at("choices").at(0).at("message").at("content").as_string().empty());
  auto sent = last_upstream_body();
  EXPECT_TRUE(sent.contains("contents"));
  EXPECT_FALSE(sent.contains("user"));
  EXPECT_FALSE(sent.contains("metadata"));
  EXPECT_EQ(json::serialize(sent).find("end-user-42"), std::string::npos);
  // What drop_params does not name is still refused there.
  auto store = chat(std::string(R"({"model":"lenient/fake-model",)") + kAsk + R"(,"store":true})");
  ASSERT_EQ(store.status, 400) << store.body;
  EXPECT_EQ(json::parse(store.body).at("error").at("param").as_string(), "store");
}

}  // namespace
}  // namespace llmux::test
