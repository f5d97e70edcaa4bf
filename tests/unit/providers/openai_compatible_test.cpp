#include "providers/openai_compatible/openai_compatible.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace llmux::providers {
namespace {

ProviderConfig base() {
  ProviderConfig c;
  c.id = "p";
  c.base_url = "https://api.example.com/v1";
  return c;
}

bool has(const std::vector<std::string>& headers, const std::string& line) {
  return std::find(headers.begin(), headers.end(), line) != headers.end();
}

TEST(OpenAICompatibleTest, AuthHeaderPerStyle) {
  auto c = base();
  c.api_key = Secret("k1");
  EXPECT_EQ(auth_header_line(c), "Authorization: Bearer k1");
  c.api_key = Secret("Bearer already");
  EXPECT_EQ(auth_header_line(c), "Authorization: Bearer already");
  c.api_key = Secret("user:pass");
  c.auth = AuthStyle::basic;
  EXPECT_EQ(auth_header_line(c), "Authorization: Basic dXNlcjpwYXNz");
  c.auth = AuthStyle::header;
  c.auth_header = "X-API-Key";
  EXPECT_EQ(auth_header_line(c), "X-API-Key: user:pass");
  c.auth = AuthStyle::none;
  EXPECT_EQ(auth_header_line(c), "");
  c.auth = AuthStyle::bearer;
  c.api_key = Secret();
  EXPECT_EQ(auth_header_line(c), "");
}

TEST(OpenAICompatibleTest, CustomHeadersSubstituteKeyAndOverrideAuth) {
  auto c = base();
  c.api_key = Secret("sekrit");
  c.headers = {{"Authorization", "Token {api_key}"}, {"X-Org", "o1"}};
  OpenAICompatibleProvider p(c);
  EXPECT_TRUE(has(p.fixed_headers(), "Authorization: Token sekrit"));
  EXPECT_FALSE(has(p.fixed_headers(), "Authorization: Bearer sekrit"));
  EXPECT_TRUE(has(p.fixed_headers(), "X-Org: o1"));
}

TEST(OpenAICompatibleTest, EncodeBuildsUrlHeadersAndBody) {
  auto c = base();
  c.api_key = Secret("k");
  c.default_params_json = R"({"temperature":0.2})";
  c.timeout = std::chrono::milliseconds(1234);
  OpenAICompatibleProvider p(c);
  std::string body = R"({"model":"alias","messages":[{"role":"user","content":"x"}]})";
  auto fields = json::read_request(body);
  ASSERT_TRUE(fields);
  auto r = p.encode({Endpoint::chat_completions, body, &fields.value(), "real-id", "rid-1", true});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "https://api.example.com/v1/chat/completions");
  EXPECT_EQ(r->timeout.count(), 1234);
  auto headers = r->all_headers();
  EXPECT_TRUE(has(headers, "Authorization: Bearer k"));
  EXPECT_TRUE(has(headers, "Accept: text/event-stream"));
  EXPECT_TRUE(has(headers, "x-request-id: rid-1"));
  EXPECT_EQ(r->body, R"({"temperature":0.2,"model":"real-id","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(p.endpoint_url(Endpoint::embeddings), "https://api.example.com/v1/embeddings");
  EXPECT_EQ(p.list_models_request().url, "https://api.example.com/v1/models");
}

// A connection encodes every request into the same UpstreamRequest: nothing of the previous
// request may survive (headers, body, endpoint, timeouts).
TEST(OpenAICompatibleTest, EncodeIntoAReusedRequestLeavesNothingBehind) {
  auto c = base();
  c.timeout = std::chrono::milliseconds(777);
  OpenAICompatibleProvider p(c);
  std::string first = R"({"model":"a","stream":true,"messages":[{"role":"user","content":"a long first message"}]})";
  std::string second = R"({"input":"x"})";
  auto f1 = json::read_request(first);
  auto f2 = json::read_request(second);
  ASSERT_TRUE(f1 && f2);
  http::UpstreamRequest reused;
  reused.method = "GET";
  reused.connect_timeout = std::chrono::milliseconds(1);
  ASSERT_TRUE(p.encode_into({Endpoint::chat_completions, first, &f1.value(), "m1", "rid-1", true}, reused));
  ASSERT_TRUE(p.encode_into({Endpoint::embeddings, second, &f2.value(), "m2", "", false}, reused));
  auto fresh = p.encode({Endpoint::embeddings, second, &f2.value(), "m2", "", false});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(reused.method, "POST");
  EXPECT_EQ(reused.url, fresh->url);
  EXPECT_EQ(reused.all_headers(), fresh->all_headers());
  EXPECT_EQ(reused.body, fresh->body);
  EXPECT_EQ(reused.body, R"({"model":"m2","input":"x"})");
  EXPECT_EQ(reused.timeout, fresh->timeout);
  EXPECT_EQ(reused.connect_timeout, fresh->connect_timeout);
}

TEST(OpenAICompatibleTest, DecodesErrorShapesOfDifferentServers) {
  OpenAICompatibleProvider p(base());
  auto openai = p.decode_error(401, R"({"error":{"message":"Incorrect API key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})", "");
  EXPECT_EQ(openai.http_status, 401);
  EXPECT_EQ(openai.code, "invalid_api_key");
  EXPECT_NE(openai.message.find("Incorrect API key"), std::string::npos);
  EXPECT_NE(openai.message.find("provider 'p'"), std::string::npos);
  auto ollama = p.decode_error(404, R"({"error":"model 'x' not found"})", "");
  EXPECT_NE(ollama.message.find("model 'x' not found"), std::string::npos);
  EXPECT_EQ(ollama.type, "not_found_error");
  auto fastapi = p.decode_error(400, R"({"detail":"bad things"})", "");
  EXPECT_NE(fastapi.message.find("bad things"), std::string::npos);
  auto limited = p.decode_error(429, "slow down", "30");
  EXPECT_EQ(limited.retry_after, "30");
  EXPECT_EQ(limited.type, "rate_limit_error");
  EXPECT_TRUE(limited.retryable);
}

// Recorded provider error bodies from ../shared/fixtures decode to their own messages and codes.
TEST(OpenAICompatibleTest, DecodesRecordedProviderErrors) {
  OpenAICompatibleProvider p(base());
  auto read = [](const std::string& name) {
    std::FILE* f = std::fopen((std::string(LLMUX_FIXTURES_DIR) + "/" + name).c_str(), "rb");
    std::string s;
    if (!f) return s;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  };
  auto body = read("openai/error-404-model-not-found.json");
  ASSERT_FALSE(body.empty());
  auto e = p.decode_error(404, body, "");
  EXPECT_EQ(e.code, "model_not_found");
  EXPECT_EQ(e.http_status, 404);
  auto groq = read("groq/error-404-model-not-found.json");
  ASSERT_FALSE(groq.empty());
  EXPECT_EQ(p.decode_error(404, groq, "").code, "model_not_found");
  auto limited = read("openrouter/error-429-upstream-rate-limited.json");
  ASSERT_FALSE(limited.empty());
  EXPECT_EQ(p.decode_error(429, limited, "").http_status, 429);
}

}  // namespace
}  // namespace llmux::providers
