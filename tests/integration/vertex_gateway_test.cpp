// End-to-end: OpenAI clients through the real llmux to the real fake provider speaking Vertex AI.
// The gateway signs a JWT with a service-account key made by this test (the fake checks its
// signature with the public half), exchanges it at the key's token_uri, and sends the token it
// gets; the fake refuses model calls without an issued, unexpired token. Gemini and Claude models
// share one provider; answers are compared with the fake's OpenAI answer for the same conversation.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <boost/json.hpp>
#include <thread>

#include "cli_harness.hpp"
#include "harness.hpp"
#include "openai_stream.hpp"

namespace llmux::test {
namespace {

namespace json = boost::json;

const char* kTools = R"("tools":[{"type":"function","function":{"name":"get_weather","description":"Weather now",
  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])";
const char* kConversation = R"("messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":"hello vertex"}])";
const char* kThought = "Vertex thinks before it answers.";

// A fresh RSA key: the private half as a service-account key file, the public half for the fake.
struct ServiceAccount {
  std::string private_pem, public_pem;
  ServiceAccount() {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    auto pem = [](auto write) {
      BIO* bio = BIO_new(BIO_s_mem());
      write(bio);
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      std::string text(data, static_cast<size_t>(size));
      BIO_free(bio);
      return text;
    };
    private_pem = pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    public_pem = pem([&](BIO* b) { PEM_write_bio_PUBKEY(b, key); });
    EVP_PKEY_free(key);
  }
  std::string key_file(const std::string& token_uri) const {
    json::object o{{"type", "service_account"},       {"project_id", "proj-1"},
                   {"private_key_id", "kid-1"},       {"private_key", private_pem},
                   {"client_email", "gw@proj-1.iam.gserviceaccount.com"}, {"token_uri", token_uri}};
    return temp_file(json::serialize(o), ".json");
  }
};

const ServiceAccount& account() {
  static const ServiceAccount a;
  return a;
}

std::string vertex_provider(const std::string& id, const FakeProvider& fake, const std::string& token_path,
                            const std::string& extra = "") {
  std::string port = std::to_string(fake.port);
  return "  " + id + ":\n    type: vertex-ai\n    projectId: proj-1\n    region: us-central1\n    serviceAccountKey: " +
         account().key_file("http://127.0.0.1:" + port + token_path) + "\n    base_url: http://127.0.0.1:" + port +
         "/v1\n    timeout: 5s\n    max_retries: 0\n    models: [fake-model, claude-fake-4]\n" + extra;
}

json::object vertex_counts(const FakeProvider& fake) {
  return json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/vertex").body).as_object();
}

FakeProvider start_vertex_fake(std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--models", "fake-model,claude-fake-4", "--token-public-key",
                                   temp_file(account().public_pem, ".pem")};
  args.insert(args.end(), extra.begin(), extra.end());
  return start_fake(args);
}

class VertexGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_vertex_fake());
    gateway_ = new Gateway(start_gateway(
        "providers:\n" + vertex_provider("vx", *fake_, "/token") +
        vertex_provider("vx-unavailable", *fake_, "/token", "    default_params: {fake: {status: 503}}\n") +
        vertex_provider("vx-stream-error", *fake_, "/token", "    default_params: {fake: {chunks: 3, stream_error: true}}\n") +
        vertex_provider("vx-refused", *fake_, "/token/refused") +
        vertex_provider("vx-cached", *fake_, "/token", "    default_params: {fake: {cached_tokens: 25}}\n") +
        vertex_provider("vx-thinking", *fake_, "/token", std::string("    default_params: {fake: {reasoning: \"") + kThought + "\"}}\n")));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }

  static HttpResponse chat(const std::string& body) { return http_post(gateway_->url("/v1/chat/completions"), body); }
  static json::object openai_answer(const std::string& body) {
    auto r = http_post(fake_->base_url() + "/chat/completions", body);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object();
  }
  // The newest request the fake got on a Vertex model path.
  static json::object last_upstream_request() {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    for (auto it = log.rbegin(); it != log.rend(); ++it)
      if (std::string_view(it->at("target").as_string()).starts_with("/v1/projects/")) return it->as_object();
    ADD_FAILURE() << "no request reached /v1/projects/";
    return {};
  }

  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* VertexGatewayTest::fake_ = nullptr;
Gateway* VertexGatewayTest::gateway_ = nullptr;

constexpr const char* kGooglePath = "/v1/projects/proj-1/locations/us-central1/publishers/google/models/fake-model";
constexpr const char* kAnthropicPath = "/v1/projects/proj-1/locations/us-central1/publishers/anthropic/models/claude-fake-4";

TEST_F(VertexGatewayTest, GeminiChatGoesToTheVertexUrlWithTheIssuedToken) {
  auto r = chat(std::string(R"({"model":"vx/fake-model",)") + kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content"), want.at("choices").at(0).at("message").at("content"));
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), want.at("usage").at("prompt_tokens"));
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), std::string(kGooglePath) + ":generateContent");
  std::string auth(sent.at("headers").at("authorization").as_string());
  EXPECT_TRUE(auth.starts_with("Bearer ya29.fake-token-")) << auth;
  auto upstream = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(upstream.at("systemInstruction").at("parts").at(0).at("text").as_string(), "Answer briefly.");
}

TEST_F(VertexGatewayTest, GeminiStreamIsTranslated) {
  auto r = chat(std::string(R"({"model":"vx/fake-model","stream":true,"stream_options":{"include_usage":true},)") +
                kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = read_stream(r.body);
  EXPECT_TRUE(s.done) << r.body;
  EXPECT_TRUE(s.error.empty());
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  EXPECT_EQ(s.text, want.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_FALSE(s.usage.empty());
  EXPECT_EQ(last_upstream_request().at("target").as_string(), std::string(kGooglePath) + ":streamGenerateContent?alt=sse");
}

TEST_F(VertexGatewayTest, ToolCallsComeBackAsOpenAIToolCalls) {
  auto r = chat(std::string(R"({"model":"vx/fake-model","messages":[{"role":"user","content":"Weather in Oslo?"}],)") + kTools + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body);
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason").as_string(), "tool_calls");
  EXPECT_EQ(v.at("choices").at(0).at("message").at("tool_calls").at(0).at("function").at("name").as_string(), "get_weather");
}

TEST_F(VertexGatewayTest, ClaudeOnVertexTakesTheAnthropicBodyPlainAndStreamed) {
  auto r = chat(std::string(R"({"model":"vx/claude-fake-4",)") + kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  auto v = json::parse(r.body).as_object();
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content"), want.at("choices").at(0).at("message").at("content"));
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), std::string(kAnthropicPath) + ":rawPredict");
  auto body = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(body.at("anthropic_version").as_string(), "vertex-2023-10-16");
  EXPECT_FALSE(body.contains("model"));

  auto streamed = chat(std::string(R"({"model":"vx/claude-fake-4","stream":true,)") + kConversation + "}");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  auto s = read_stream(streamed.body);
  EXPECT_TRUE(s.done) << streamed.body;
  EXPECT_EQ(s.text, want.at("choices").at(0).at("message").at("content").as_string());
  EXPECT_EQ(last_upstream_request().at("target").as_string(), std::string(kAnthropicPath) + ":streamRawPredict");
}

TEST_F(VertexGatewayTest, StreamedToolCallsComeBackAsOpenAIToolCallDeltas) {
  auto r = chat(std::string(R"({"model":"vx/fake-model","stream":true,"messages":[{"role":"user","content":"Weather in Oslo?"}],)") +
                kTools + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto s = read_stream(r.body);
  EXPECT_TRUE(s.done) << r.body;
  EXPECT_EQ(s.finish, "tool_calls");
  ASSERT_EQ(s.calls.size(), 1u) << r.body;
  EXPECT_EQ(s.calls[0].name, "get_weather");
  EXPECT_FALSE(s.calls[0].id.empty());
  EXPECT_TRUE(json::parse(s.calls[0].arguments).at("city").is_string()) << s.calls[0].arguments;
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), std::string(kGooglePath) + ":streamGenerateContent?alt=sse");
  auto upstream = json::parse(sent.at("body").as_string()).as_object();
  EXPECT_EQ(upstream.at("tools").at(0).at("functionDeclarations").at(0).at("name").as_string(), "get_weather");
}

// A data: image, an https image and a JSON schema, as OpenAI clients write them.
const char* kPng = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
std::string images_and_schema(const std::string& model) {
  return R"({"model":")" + model + R"(","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},)" +
         R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + kPng + R"("}},)" +
         R"({"type":"image_url","image_url":{"url":"gs://bucket/cat.jpg"}}]}],)" +
         R"("response_format":{"type":"json_schema","json_schema":{"name":"d","schema":{"type":"object","properties":{"what":{"type":"string"}}}}}})";
}

TEST_F(VertexGatewayTest, GeminiModelsTakeImagesInlineOrAsFilesAndJsonModeAsTheResponseSchema) {
  auto r = chat(images_and_schema("vx/fake-model"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(json::parse(r.body).at("choices").at(0).at("message").at("content").as_string().find("Describe"), std::string::npos);
  auto upstream = json::parse(last_upstream_request().at("body").as_string()).as_object();
  const auto& parts = upstream.at("contents").at(0).at("parts").as_array();
  ASSERT_EQ(parts.size(), 3u) << json::serialize(upstream);
  EXPECT_EQ(parts[0].at("text").as_string(), "Describe");
  EXPECT_EQ(parts[1].at("inlineData").at("mimeType").as_string(), "image/png");
  EXPECT_EQ(parts[1].at("inlineData").at("data").as_string(), kPng);
  EXPECT_EQ(parts[2].at("fileData").at("fileUri").as_string(), "gs://bucket/cat.jpg");
  const auto& config = upstream.at("generationConfig").as_object();
  EXPECT_EQ(config.at("responseMimeType").as_string(), "application/json");
  EXPECT_EQ(config.at("responseJsonSchema"), json::parse(R"({"type":"object","properties":{"what":{"type":"string"}}})"));
}

TEST_F(VertexGatewayTest, ClaudeModelsRefuseJsonModeNamingTheFieldAndTakeImagesAsBase64Blocks) {
  auto claude_requests = [] {
    auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake_->port) + "/_fake/requests").body).as_array();
    return std::count_if(log.begin(), log.end(), [](const json::value& entry) {
      return std::string_view(entry.at("target").as_string()).starts_with(kAnthropicPath);
    });
  };
  const auto before = claude_requests();
  auto refused = chat(images_and_schema("vx/claude-fake-4"));
  EXPECT_EQ(refused.status, 400) << refused.body;
  EXPECT_EQ(json::parse(refused.body).at("error").at("param").as_string(), "response_format");
  EXPECT_EQ(claude_requests(), before) << "refused before any upstream call";

  auto r = chat(std::string(R"({"model":"vx/claude-fake-4","messages":[{"role":"user","content":[{"type":"text","text":"Describe"},)") +
                R"({"type":"image_url","image_url":{"url":"data:image/png;base64,)" + kPng + R"("}}]}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto sent = last_upstream_request();
  EXPECT_EQ(sent.at("target").as_string(), std::string(kAnthropicPath) + ":rawPredict");
  const auto block = json::parse(sent.at("body").as_string()).at("messages").at(0).at("content").at(1).as_object();
  EXPECT_EQ(block.at("type").as_string(), "image");
  EXPECT_EQ(block.at("source").at("type").as_string(), "base64");
  EXPECT_EQ(block.at("source").at("media_type").as_string(), "image/png");
  EXPECT_EQ(block.at("source").at("data").as_string(), kPng);
}

TEST_F(VertexGatewayTest, GeminiThoughtPartsAreReasoningContentPlainAndStreamed) {
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  auto r = chat(std::string(R"({"model":"vx-thinking/fake-model",)") + kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  auto v = json::parse(r.body).as_object();
  const auto& message = v.at("choices").at(0).at("message").as_object();
  EXPECT_EQ(message.at("reasoning_content").as_string(), kThought);
  EXPECT_EQ(message.at("content"), want.at("choices").at(0).at("message").at("content"));
  // The fake counts a thought's words as thoughtsTokenCount: 5 of them.
  EXPECT_EQ(v.at("usage").at("completion_tokens_details").at("reasoning_tokens").as_int64(), 5);
  EXPECT_EQ(v.at("usage").at("completion_tokens").as_int64(), want.at("usage").at("completion_tokens").as_int64() + 5);

  auto streamed = chat(std::string(R"({"model":"vx-thinking/fake-model","stream":true,)") + kConversation + "}");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  auto s = read_stream(streamed.body);
  EXPECT_TRUE(s.done) << streamed.body;
  EXPECT_EQ(s.reasoning, kThought);
  EXPECT_EQ(s.text, want.at("choices").at(0).at("message").at("content").as_string());
}

TEST_F(VertexGatewayTest, GeminiCachedContentTokensAreCachedTokensPlainAndStreamed) {
  auto want = openai_answer(std::string(R"({"model":"fake-model",)") + kConversation + "}");
  const int64_t prompt = want.at("usage").at("prompt_tokens").as_int64() + 25;
  auto r = chat(std::string(R"({"model":"vx-cached/fake-model",)") + kConversation + "}");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto usage = json::parse(r.body).at("usage").as_object();
  EXPECT_EQ(usage.at("prompt_tokens").as_int64(), prompt);
  EXPECT_EQ(usage.at("prompt_tokens_details").at("cached_tokens").as_int64(), 25);

  auto streamed = chat(std::string(R"({"model":"vx-cached/fake-model","stream":true,"stream_options":{"include_usage":true},)") +
                       kConversation + "}");
  ASSERT_EQ(streamed.status, 200) << streamed.body;
  auto s = read_stream(streamed.body);
  ASSERT_FALSE(s.usage.empty()) << streamed.body;
  EXPECT_EQ(s.usage.at("prompt_tokens").as_int64(), prompt);
  EXPECT_EQ(s.usage.at("prompt_tokens_details").at("cached_tokens").as_int64(), 25);
}

TEST_F(VertexGatewayTest, UpstreamErrorsAndErrorsMidStreamAreNeverSilent) {
  auto unavailable = chat(R"({"model":"vx-unavailable/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unavailable.status, 503) << unavailable.body;
  auto unknown = chat(R"({"model":"vx/no-such-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(json::parse(unknown.body).at("error").at("message").as_string().find("provider 'vx'"), std::string::npos);
  auto broken = chat(R"({"model":"vx-stream-error/fake-model","stream":true,"messages":[{"role":"user","content":"x"}]})");
  ASSERT_EQ(broken.status, 200) << broken.body;
  auto s = read_stream(broken.body);
  EXPECT_FALSE(s.done) << broken.body;
  EXPECT_FALSE(s.error.empty()) << broken.body;
}

TEST_F(VertexGatewayTest, ARefusedTokenIsA503NamingTheTokenUriNeverTheKey) {
  auto r = chat(R"({"model":"vx-refused/fake-model","messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.status, 503) << r.body;
  std::string message(json::parse(r.body).at("error").at("message").as_string());
  EXPECT_NE(message.find("provider 'vx-refused'"), std::string::npos) << message;
  EXPECT_NE(message.find("/token/refused"), std::string::npos) << message;
  EXPECT_NE(message.find("invalid_grant"), std::string::npos) << message;
  EXPECT_EQ(r.body.find("PRIVATE KEY"), std::string::npos);
}

TEST_F(VertexGatewayTest, ConcurrentRequestsReuseOneTokenPerProvider) {
  const auto before = vertex_counts(*fake_);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 12; ++i)
    threads.emplace_back([&, i] {
      auto r = chat(std::string(R"({"model":"vx/)") + (i % 2 ? "claude-fake-4" : "fake-model") +
                    R"(","messages":[{"role":"user","content":"x"}]})");
      if (r.status == 200) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 12);
  const auto after = vertex_counts(*fake_);
  // One token per provider that got one, fetched when it started (vx-refused keeps asking, and
  // keeps being refused): none of the 12 requests made a token request of its own.
  EXPECT_EQ(after.at("tokens_issued"), before.at("tokens_issued"));
  EXPECT_EQ(after.at("tokens_issued").to_number<int64_t>(), 5);
}

TEST(VertexTokenRefresh, AShortLivedTokenIsReplacedBeforeItExpires) {
  auto fake = start_vertex_fake({"--token-expires-in", "2"});
  auto gateway = start_gateway("providers:\n" + vertex_provider("vx", fake, "/token"));
  auto ask = [&] {
    return http_post(gateway.url("/v1/chat/completions"), R"({"model":"vx/fake-model","messages":[{"role":"user","content":"x"}]})");
  };
  ASSERT_EQ(ask().status, 200);
  EXPECT_EQ(vertex_counts(fake).at("tokens_issued").to_number<int64_t>(), 1);
  // Wait for the refresh (due after half the 2 s lifetime): each poll waits 100 ms at the fake.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline &&
         json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/vertex", {"x-fake-latency-ms: 100"}).body)
                 .at("tokens_issued")
                 .to_number<int64_t>() < 2) {
  }
  EXPECT_EQ(vertex_counts(fake).at("tokens_issued").to_number<int64_t>(), 2);
  // The first token has expired at the fake by now or soon; requests keep succeeding with the new one.
  auto r = ask();
  ASSERT_EQ(r.status, 200) << r.body;
  auto log = json::parse(http_get("http://127.0.0.1:" + std::to_string(fake.port) + "/_fake/requests").body).as_array();
  std::string last_auth;
  for (const auto& entry : log)
    if (std::string_view(entry.at("target").as_string()).starts_with("/v1/projects/"))
      last_auth = std::string(entry.at("headers").at("authorization").as_string());
  EXPECT_EQ(last_auth, "Bearer ya29.fake-token-2");
}

TEST(VertexCli, ProviderTestPassesAllFiveChecksAgainstTheFake) {
  auto fake = start_vertex_fake();
  Sandbox box;
  std::string config = temp_file("providers:\n" + vertex_provider("vx", fake, "/token"));
  auto r = box.run({"provider", "test", "vx", "--config", config, "--json"});
  ASSERT_EQ(r.exit, 0) << r.all();
  auto v = json::parse(r.out);
  EXPECT_EQ(v.at("passed"), true) << r.out;
  for (const auto& c : v.at("checks").as_array()) EXPECT_EQ(c.at("result"), "pass") << json::serialize(c);
}

TEST(VertexConfig, AMissingKeyFileStopsTheStartNamingThePath) {
  auto config = temp_file(
      "providers:\n  vx:\n    type: vertex-ai\n    projectId: p\n    region: us-central1\n"
      "    serviceAccountKey: /nonexistent/vertex/sa.json\n    models: [gemini-2.5-flash]\n");
  Process serve({LLMUX_BINARY, "serve", "--config", config, "--port", "0"}, {}, true);
  EXPECT_NE(serve.wait(std::chrono::seconds(15)), 0);
  EXPECT_NE(serve.output().find("/nonexistent/vertex/sa.json"), std::string::npos) << serve.output();
}

}  // namespace
}  // namespace llmux::test
