// POST /api/providers/{name}/test and POST /api/providers/test through the real binary: the five
// checks against the fake provider, a wrong key failing authentication with its reason (and never
// the key), unknown providers, bad bodies, and the upstream guard in an unsaved config.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

const char* kGoodKey = "sk-good-000000000000";
const char* kWrongKey = "sk-wrong-1111111111";

std::string config_for(const FakeProvider& fake, const std::string& extra = "", const std::string& url = "") {
  std::string base = url.empty() ? fake.base_url() : url;
  return extra + "providers:\n"
         "  good:\n    base_url: " + base + "\n    api_key: " + kGoodKey + "\n    models: [fake-model]\n"
         "  wrongkey:\n    base_url: " + base + "\n    api_key: " + kWrongKey + "\n    models: [fake-model]\n";
}

json::object test_answer(const HttpResponse& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  return v.is_object() ? v.as_object() : json::object{};
}

TEST(AdminSelfTest, AConfiguredProviderPassesAllFiveChecks) {
  auto fake = start_fake({"--require-key", kGoodKey});
  auto gateway = start_gateway(config_for(fake));
  auto r = http_post(gateway.url("/api/providers/good/test"), "");
  auto answer = test_answer(r);
  EXPECT_EQ(answer.at("provider"), "good");
  EXPECT_EQ(answer.at("passed"), true) << r.body;
  const auto& checks = answer.at("checks").as_array();
  ASSERT_EQ(checks.size(), 5u) << r.body;
  const char* names[] = {"authentication", "model listing", "basic chat", "streaming", "error handling"};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(checks[i].at("name"), names[i]);
    EXPECT_EQ(checks[i].at("status"), "pass") << json::serialize(checks[i]);
    EXPECT_GT(checks[i].at("latencyMs").to_number<double>(), 0.0) << json::serialize(checks[i]);
    EXPECT_FALSE(checks[i].at("reason").as_string().empty());
  }
  EXPECT_FALSE(contains(r.body, kGoodKey)) << r.body;
}

TEST(AdminSelfTest, AWrongKeyFailsAuthenticationWithAReasonAndNeverTheKey) {
  auto fake = start_fake({"--require-key", kGoodKey, "--echo-auth", "json"});
  auto gateway = start_gateway(config_for(fake));
  auto r = http_post(gateway.url("/api/providers/wrongkey/test"), "");
  auto answer = test_answer(r);
  EXPECT_EQ(answer.at("passed"), false);
  const auto& auth = answer.at("checks").as_array().at(0);
  EXPECT_EQ(auth.at("name"), "authentication");
  EXPECT_EQ(auth.at("status"), "fail");
  EXPECT_TRUE(contains(std::string(auth.at("reason").as_string()), "401")) << json::serialize(auth);
  // The fake quotes the credential it got in its error; the answer must not pass it on.
  EXPECT_FALSE(contains(r.body, kWrongKey)) << r.body;
  EXPECT_FALSE(contains(r.body, kWrongKey + 3)) << r.body;
}

TEST(AdminSelfTest, UnknownProvidersAre404AndBadBodies400) {
  auto fake = start_fake();
  auto gateway = start_gateway(config_for(fake));
  auto missing = http_post(gateway.url("/api/providers/nope/test"), "");
  EXPECT_EQ(missing.status, 404) << missing.body;
  EXPECT_EQ(json::parse(missing.body).at("error").at("code"), "provider_not_found");

  for (const char* body : {"", "not json", "[1,2]", "42"}) {
    auto r = http_post(gateway.url("/api/providers/test"), body);
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    EXPECT_TRUE(json::parse(r.body).at("error").is_object()) << r.body;
  }
  // Every problem at once, each with its field.
  auto invalid = http_post(gateway.url("/api/providers/test"),
                           R"({"id":"x","type":"nonsense","baseUrl":"ftp://x","timeout":"forever"})");
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  auto error = json::parse(invalid.body).at("error");
  EXPECT_EQ(error.at("code"), "invalid_provider_config");
  EXPECT_GE(error.at("errors").as_array().size(), 2u) << invalid.body;
}

TEST(AdminSelfTest, AnUnsavedConfigIsTestedAndNotSaved) {
  auto fake = start_fake({"--require-key", kGoodKey});
  auto gateway = start_gateway(config_for(fake));
  std::string body = R"({"id":"draft","type":"openai-compatible","baseUrl":")" + fake.base_url() + R"(","apiKey":")" +
                     kGoodKey + R"(","models":["fake-model"]})";
  auto answer = test_answer(http_post(gateway.url("/api/providers/test"), body));
  EXPECT_EQ(answer.at("provider"), "draft");
  EXPECT_EQ(answer.at("passed"), true) << json::serialize(answer);
  auto list = http_get(gateway.url("/api/providers"));
  EXPECT_FALSE(contains(list.body, "\"draft\"")) << list.body;
}

TEST(AdminSelfTest, TheUpstreamGuardAppliesToUnsavedConfigs) {
  auto fake = start_fake();
  std::string local_url = "http://localhost:" + std::to_string(fake.port) + "/v1";
  auto gateway = start_gateway(config_for(fake, "admin:\n  allow_private: false\n", local_url));
  // A metadata URL: refused before anything connects.
  auto metadata = http_post(gateway.url("/api/providers/test"),
                            R"({"id":"m","baseUrl":"http://169.254.169.254/latest","models":["m"]})");
  EXPECT_EQ(metadata.status, 400) << metadata.body;
  auto problems = json::parse(metadata.body).at("error").at("errors").as_array();
  ASSERT_EQ(problems.size(), 1u) << metadata.body;
  EXPECT_EQ(problems[0].at("field"), "baseUrl") << metadata.body;
  EXPECT_TRUE(contains(std::string(problems[0].at("message").as_string()), "upstream_not_allowed")) << metadata.body;

  // `localhost` passes validation; its resolved address is what the guard refuses.
  std::string local = R"({"id":"local","baseUrl":")" + local_url + R"(","models":["fake-model"]})";
  auto refused = test_answer(http_post(gateway.url("/api/providers/test"), local));
  EXPECT_EQ(refused.at("passed"), false);
  const auto& checks = refused.at("checks").as_array();
  ASSERT_EQ(checks.size(), 5u);
  EXPECT_EQ(checks[0].at("status"), "fail") << json::serialize(refused);
  std::string reason(checks[0].at("reason").as_string());
  EXPECT_TRUE(contains(reason, "upstream_not_allowed: localhost (")) << reason;
  EXPECT_TRUE(contains(std::string(checks[1].at("reason").as_string()), "upstream guard refused")) << json::serialize(checks[1]);
  for (size_t i = 1; i < checks.size(); ++i) EXPECT_EQ(checks[i].at("status"), "skip") << json::serialize(checks[i]);
}

}  // namespace
}  // namespace llmux::test
