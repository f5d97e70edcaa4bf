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

// Only a buffered answer is capped; a stream is forwarded as it comes and paused for slow clients.
TEST(OpenAICompatibleTest, RequestsCarryTheServersUpstreamLimits) {
  ServerConfig server;
  server.max_response_bytes = 12345;
  server.upstream_idle_timeout = std::chrono::milliseconds(700);
  auto made = make_provider(base(), server);
  ASSERT_TRUE(made);
  const Provider& p = **made;
  std::string body = R"({"model":"m","messages":[{"role":"user","content":"x"}]})";
  auto fields = json::read_request(body);
  ASSERT_TRUE(fields);
  auto plain = p.encode({Endpoint::chat_completions, body, &fields.value(), "m", "", false});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->max_response_bytes, 12345u);
  EXPECT_EQ(plain->idle_connection_timeout.count(), 700);
  auto stream = p.encode({Endpoint::chat_completions, body, &fields.value(), "m", "", true});
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->max_response_bytes, 0u);
  EXPECT_EQ(p.list_models_request().max_response_bytes, 12345u);
  EXPECT_EQ(OpenAICompatibleProvider(base()).list_models_request().max_response_bytes, 64u << 20);
}

// Every upstream-to-client text is scrubbed: the key, the whole credential value (also in its
// Basic form), secret-looking custom headers; ordinary headers and short values are left alone.
TEST(OpenAICompatibleTest, UpstreamErrorsAreScrubbedOfTheProvidersSecrets) {
  auto c = base();
  c.api_key = Secret("sk-abc-0123456789");
  c.headers = {{"X-Auth-Token", "tok-987654321"}, {"X-Org", "organisation-1"}, {"X-Signed", "v1 {api_key}"},
               {"X-Session-Id", "abc"}};
  OpenAICompatibleProvider p(c);
  auto e = p.decode_error(401,
                          R"({"error":{"message":"bad key Bearer sk-abc-0123456789 / tok-987654321 for organisation-1",)"
                          R"("type":"x sk-abc-0123456789","code":"sk-abc-0123456789","param":"v1 sk-abc-0123456789"}})",
                          "sk-abc-0123456789");
  EXPECT_EQ(e.message, "provider 'p' returned HTTP 401: bad key [redacted] / [redacted] for organisation-1");
  EXPECT_EQ(e.type, "x [redacted]");
  EXPECT_EQ(e.code, "[redacted]");
  EXPECT_EQ(e.param, "[redacted]");
  EXPECT_EQ(e.retry_after, "[redacted]");
  EXPECT_EQ(p.decode_error(403, R"({"detail":"token tok-987654321"})", "").message,
            "provider 'p' returned HTTP 403: token [redacted]");

  // A plain-text body is cut to 200 bytes only after scrubbing: a key across the cut is not left half.
  std::string text = std::string(190, '.') + "sk-abc-0123456789 and more";
  auto cut = p.decode_error(500, text, "");
  EXPECT_EQ(cut.message.find("sk-abc"), std::string::npos) << cut.message;
  EXPECT_NE(cut.message.find(std::string(190, '.') + "[redac"), std::string::npos) << cut.message;

  auto basic = base();
  basic.auth = AuthStyle::basic;
  basic.api_key = Secret("user:passw0rd");
  OpenAICompatibleProvider b(basic);
  EXPECT_EQ(b.decode_error(401, "creds dXNlcjpwYXNzdzByZA== rejected (user:passw0rd)", "").message,
            "provider 'p' returned HTTP 401: creds [redacted] rejected ([redacted])");

  http::TransferResult failure{http::TransferFailure::reset, "peer said sk-abc-0123456789"};
  EXPECT_EQ(transfer_error(p, "http://u", failure, std::chrono::seconds(1)).message.find("sk-abc"), std::string::npos);
  auto short_key = base();
  short_key.api_key = Secret("abc");
  EXPECT_EQ(OpenAICompatibleProvider(short_key).decode_error(400, R"({"message":"abc is short"})", "").message,
            "provider 'p' returned HTTP 400: abc is short");
}

TEST(OpenAICompatibleTest, RefusedStatusAndTooLargeBodyAre502NamingTheProvider) {
  OpenAICompatibleProvider p(base());
  auto status = transfer_error(p, "http://u/v1/chat/completions", {http::TransferFailure::bad_status, "HTTP status 302"},
                               std::chrono::seconds(1));
  EXPECT_EQ(status.http_status, 502);
  EXPECT_FALSE(status.retryable);
  EXPECT_EQ(status.code, "upstream_bad_status");
  EXPECT_NE(status.message.find("provider 'p' answered with HTTP status 302"), std::string::npos) << status.message;
  auto large = transfer_error(p, "http://u/v1/chat/completions",
                              {http::TransferFailure::too_large, "response body exceeds the limit of 10 bytes"},
                              std::chrono::seconds(1));
  EXPECT_EQ(large.http_status, 502);
  EXPECT_FALSE(large.retryable);
  EXPECT_NE(large.message.find("limit of 10 bytes (server.max_response_size)"), std::string::npos) << large.message;
}

}  // namespace
}  // namespace llmux::providers
