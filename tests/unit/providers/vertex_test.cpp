// The vertex-ai adapter: the service-account JWT (verified with OpenSSL against the public half
// of a key made at test time), the token source's caching and single flight, the Vertex URLs and
// bodies of both publishers field by field, and recorded Gemini and Anthropic answers read
// through the Vertex decoder exactly as through their own adapters'.
#include "providers/vertex/vertex.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "config/vertex_keys.hpp"
#include "http/sse.hpp"
#include "openai_assembly.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/openai_output.hpp"

namespace llmux::providers {
namespace {

namespace bj = boost::json;
using vertex::AccessTokenSource;
using vertex::FetchedToken;

// An RSA key made for this test run; the PEM of its private key, and its public half.
struct TestKey {
  std::string private_pem;
  EVP_PKEY* key = nullptr;
  TestKey() {
    key = EVP_RSA_gen(2048);
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    private_pem.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
  }
  ~TestKey() { EVP_PKEY_free(key); }
  bool verifies(std::string_view signed_part, std::string_view signature) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
              EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                               reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
  }
};

const TestKey& test_key() {
  static const TestKey key;
  return key;
}

std::string key_json(std::string_view token_uri = "https://oauth2.googleapis.com/token") {
  bj::object o{{"type", "service_account"},
               {"project_id", "proj-1"},
               {"private_key_id", "kid-123"},
               {"private_key", test_key().private_pem},
               {"client_email", "llmux@proj-1.iam.gserviceaccount.com"},
               {"token_uri", token_uri}};
  return bj::serialize(o);
}

// base64url decoding, written independently of the adapter's encoder.
std::string unbase64url(std::string_view text) {
  std::string b64(text);
  for (char& c : b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (b64.size() % 4) b64 += '=';
  std::string out(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  out.resize(static_cast<size_t>(n) - std::count(b64.end() - 2, b64.end(), '='));
  return out;
}

TEST(VertexJwt, Base64UrlHasNoPaddingAndTheUrlAlphabet) {
  EXPECT_EQ(vertex::base64url(""), "");
  EXPECT_EQ(vertex::base64url("f"), "Zg");
  EXPECT_EQ(vertex::base64url("fo"), "Zm8");
  EXPECT_EQ(vertex::base64url("foo"), "Zm9v");
  EXPECT_EQ(vertex::base64url("foob"), "Zm9vYg");
  EXPECT_EQ(vertex::base64url("\xfb\xff\xbf"), "-_-_");
}

TEST(VertexJwt, AssertionIsSignedWithTheKeyAndCarriesTheClaims) {
  auto key = vertex::parse_service_account_key(key_json(), "sa.json");
  ASSERT_TRUE(key) << key.error();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  auto jwt = vertex::signed_assertion(*key, now);
  ASSERT_TRUE(jwt) << jwt.error();
  auto first = jwt->find('.'), second = jwt->rfind('.');
  ASSERT_NE(first, second);
  auto header = bj::parse(unbase64url(std::string_view(*jwt).substr(0, first))).as_object();
  EXPECT_EQ(header.at("alg"), "RS256");
  EXPECT_EQ(header.at("typ"), "JWT");
  EXPECT_EQ(header.at("kid"), "kid-123");
  auto claims = bj::parse(unbase64url(std::string_view(*jwt).substr(first + 1, second - first - 1))).as_object();
  EXPECT_EQ(claims.at("iss"), "llmux@proj-1.iam.gserviceaccount.com");
  EXPECT_EQ(claims.at("scope"), "https://www.googleapis.com/auth/cloud-platform");
  EXPECT_EQ(claims.at("aud"), "https://oauth2.googleapis.com/token");
  EXPECT_EQ(claims.at("iat").to_number<int64_t>(), 1700000000);
  EXPECT_EQ(claims.at("exp").to_number<int64_t>(), 1700003600);
  std::string signature = unbase64url(std::string_view(*jwt).substr(second + 1));
  EXPECT_EQ(signature.size(), 256u);  // RSA-2048
  EXPECT_TRUE(test_key().verifies(std::string_view(*jwt).substr(0, second), signature));
  std::string tampered(*jwt);
  tampered[first + 3] = tampered[first + 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(test_key().verifies(std::string_view(tampered).substr(0, second), signature));
}

TEST(VertexJwt, TokenRequestIsTheJwtBearerGrant) {
  EXPECT_EQ(vertex::token_request_body("a.b.c"),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c");
}

TEST(VertexKeyFile, ProblemsNameTheFileNeverTheKey) {
  auto missing = vertex::read_service_account_key("/nonexistent/dir/sa.json");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("'/nonexistent/dir/sa.json' cannot be read"), std::string::npos) << missing.error();
  auto no_email = vertex::parse_service_account_key(R"({"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----x"})", "k.json");
  ASSERT_FALSE(no_email);
  EXPECT_NE(no_email.error().find("'k.json' has no client_email"), std::string::npos);
  EXPECT_EQ(no_email.error().find("BEGIN PRIVATE KEY"), std::string::npos);
  auto user_creds = vertex::parse_service_account_key(R"({"type":"authorized_user"})", "adc.json");
  ASSERT_FALSE(user_creds);
  EXPECT_NE(user_creds.error().find("authorized_user"), std::string::npos);
  auto not_pem = vertex::parse_service_account_key(R"({"client_email":"a@b","private_key":"secret-not-pem-bytes"})", "k.json");
  ASSERT_TRUE(not_pem);
  EXPECT_EQ(not_pem->token_uri, "https://oauth2.googleapis.com/token");  // the default when absent
  auto signed_ = vertex::signed_assertion(*not_pem, std::chrono::system_clock::now());
  ASSERT_FALSE(signed_);
  EXPECT_EQ(signed_.error().find("secret-not-pem-bytes"), std::string::npos);
}

TEST(VertexToken, ResponsesAndOAuthErrors) {
  auto ok = vertex::parse_token_response(200, R"({"access_token":"ya29.abc","expires_in":3599,"token_type":"Bearer"})");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->access_token.reveal(), "ya29.abc");
  EXPECT_EQ(ok->expires_in, std::chrono::seconds(3599));
  auto refused = vertex::parse_token_response(400, R"({"error":"invalid_grant","error_description":"Invalid JWT Signature."})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "HTTP 400: invalid_grant (Invalid JWT Signature.)");
  EXPECT_FALSE(vertex::parse_token_response(200, R"({"expires_in":3599})"));
  EXPECT_FALSE(vertex::parse_token_response(200, R"({"access_token":"a\r\nb","expires_in":3599})"));
  EXPECT_FALSE(vertex::parse_token_response(200, R"({"access_token":"a","expires_in":0})"));
}

TEST(VertexToken, UsedUntilShortlyBeforeExpiry) {
  EXPECT_EQ(AccessTokenSource::use_for(std::chrono::seconds(3600)), std::chrono::seconds(3300));
  EXPECT_EQ(AccessTokenSource::use_for(std::chrono::seconds(2)), std::chrono::seconds(1));
}

// A fetch the test releases: counts calls and blocks each until its answer is given.
struct GatedFetch {
  std::mutex mutex;
  std::condition_variable changed;
  int calls = 0;
  std::vector<std::optional<Expected<FetchedToken, std::string>>> answers;  // by call

  AccessTokenSource::Fetch fetch() {
    return [this](const std::atomic<bool>& stop) -> Expected<FetchedToken, std::string> {
      std::unique_lock lock(mutex);
      size_t call = static_cast<size_t>(calls++);
      changed.notify_all();
      if (answers.size() <= call) answers.resize(call + 1);
      changed.wait(lock, [&] { return answers[call].has_value() || stop.load(); });
      if (!answers[call]) return unexpected(std::string("stopped"));
      return *answers[call];
    };
  }
  void answer(size_t call, Expected<FetchedToken, std::string> value) {
    std::lock_guard lock(mutex);
    if (answers.size() <= call) answers.resize(call + 1);
    answers[call] = std::move(value);
    changed.notify_all();
  }
  bool wait_calls(int n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return calls >= n; });
  }
};

FetchedToken token_of(std::string value, std::chrono::seconds lifetime) {
  return FetchedToken{Secret(std::move(value)), lifetime};
}

TEST(VertexToken, ConcurrentRequestsShareOneFetchAndNeverWaitForIt) {
  GatedFetch gate;
  AccessTokenSource source("vx", "http://127.0.0.1:1/token", gate.fetch());
  ASSERT_TRUE(gate.wait_calls(1));
  // While the first fetch hangs, requests are answered at once with a retryable 503.
  std::vector<std::thread> threads;
  std::atomic<int> refused{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j) {
        auto t = source.current();
        if (!t && t.error().http_status == 503 && t.error().retryable &&
            t.error().message.find("http://127.0.0.1:1/token") != std::string::npos &&
            t.error().message.find("'vx'") != std::string::npos)
          ++refused;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(refused.load(), 400);
  EXPECT_EQ(source.fetches(), 1u);
  gate.answer(0, token_of("ya29.first", std::chrono::seconds(3600)));
  ASSERT_TRUE(source.wait_first(std::chrono::seconds(10)));
  threads.clear();
  std::atomic<int> served{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 50; ++j)
        if (auto t = source.current(); t && (*t)->header_line == "Authorization: Bearer ya29.first") ++served;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(served.load(), 400);
  EXPECT_EQ(source.fetches(), 1u);
}

TEST(VertexToken, AFailedFetchIsNamedAndRetriedThenAShortTokenIsRefreshed) {
  GatedFetch gate;
  AccessTokenSource source("vx", "http://127.0.0.1:1/token", gate.fetch());
  gate.answer(0, unexpected(std::string("HTTP 400: invalid_grant")));
  EXPECT_FALSE(source.wait_first(std::chrono::seconds(10)));
  auto refused = source.current();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("the token request failed: HTTP 400: invalid_grant"), std::string::npos)
      << refused.error().message;
  // The retry comes by itself after the failure's wait.
  ASSERT_TRUE(gate.wait_calls(2));
  gate.answer(1, token_of("ya29.short", std::chrono::seconds(2)));
  ASSERT_TRUE(gate.wait_calls(3));  // a 2 s token is refreshed after 1 s
  auto still = source.current();
  ASSERT_TRUE(still);  // the old token serves while its refresh runs
  EXPECT_EQ((*still)->header_line, "Authorization: Bearer ya29.short");
  gate.answer(2, token_of("ya29.next", std::chrono::seconds(3600)));
  // The fetch has returned; the source publishes its token right after (a condition, bounded).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto t = source.current();
    if (t && (*t)->header_line.ends_with("ya29.next")) break;
    std::this_thread::yield();
  }
  auto next = source.current();
  ASSERT_TRUE(next);
  EXPECT_EQ((*next)->header_line, "Authorization: Bearer ya29.next");
  EXPECT_EQ(source.fetches(), 3u);
}

// --- encoding ----------------------------------------------------------------------------------

std::unique_ptr<AccessTokenSource> ready_source() {
  auto source = std::make_unique<AccessTokenSource>("vx", "http://t/token", [](const std::atomic<bool>&) {
    return Expected<FetchedToken, std::string>(token_of("ya29.unit-token", std::chrono::seconds(3600)));
  });
  EXPECT_TRUE(source->wait_first(std::chrono::seconds(10)));
  return source;
}

ProviderConfig vertex_config(std::string region = "us-central1", std::string publisher = "") {
  ProviderConfig c;
  c.id = "vx";
  c.type = "vertex-ai";
  c.vertex.project_id = "proj-1";
  c.vertex.region = region;
  c.vertex.publisher = publisher;
  c.base_url = config_detail::vertex_base_url(region);
  c.auth = AuthStyle::none;
  return c;
}

http::UpstreamRequest encode(const VertexProvider& p, std::string_view model, bool stream, std::string_view body) {
  EncodeInput in{Endpoint::chat_completions, body, nullptr, model, "req-1", stream};
  auto out = p.encode(in);
  EXPECT_TRUE(out) << (out ? "" : out.error().message);
  return out ? std::move(*out) : http::UpstreamRequest{};
}

constexpr std::string_view kChat =
    R"({"model":"x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"temperature":0.5,"max_tokens":64})";

TEST(VertexEncode, TheClientsAnthropicBetaGoesInClaudesBodyOnly) {
  VertexProvider p(vertex_config(), ready_source());
  for (std::string_view model : {"claude-sonnet-4@20250514", "gemini-2.5-flash"}) {
    EncodeInput in{Endpoint::chat_completions, kChat, nullptr, model, "req-1", false};
    in.anthropic_beta = "context-1m-2025-08-07";
    auto r = p.encode(in);
    ASSERT_TRUE(r) << r.error().message;
    auto b = bj::parse(r->body).as_object();
    if (model.starts_with("claude"))
      EXPECT_EQ(b.at("anthropic_beta"), (bj::array{"context-1m-2025-08-07"})) << r->body;
    else
      EXPECT_FALSE(b.contains("anthropic_beta")) << r->body;
    for (const auto& h : r->all_headers()) EXPECT_FALSE(h.starts_with("anthropic-beta")) << h;
  }
}

TEST(VertexEncode, GeminiModelsGoToTheGooglePublisherWithTheGeminiBody) {
  VertexProvider p(vertex_config(), ready_source());
  auto r = encode(p, "gemini-2.5-flash", false, kChat);
  EXPECT_EQ(r.url, "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent");
  auto headers = r.all_headers();
  EXPECT_NE(std::find(headers.begin(), headers.end(), "Authorization: Bearer ya29.unit-token"), headers.end());
  std::string gemini_body;
  ASSERT_TRUE(translate_gemini_request(kChat, "gemini-2.5-flash", {}, gemini_body));
  EXPECT_EQ(r.body, gemini_body);
  auto b = bj::parse(r.body).as_object();
  EXPECT_EQ(b.at("systemInstruction").at("parts").at(0).at("text"), "Be brief.");
  EXPECT_EQ(b.at("contents").at(0).at("role"), "user");
  EXPECT_EQ(b.at("generationConfig").at("temperature").to_number<double>(), 0.5);
  EXPECT_EQ(b.at("generationConfig").at("maxOutputTokens").to_number<int64_t>(), 64);
  EXPECT_FALSE(b.contains("model"));
  auto s = encode(p, "gemini-2.5-flash", true, kChat);
  EXPECT_TRUE(s.url.ends_with("/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse")) << s.url;
}

TEST(VertexEncode, GlobalRegionHasNoRegionPrefix) {
  VertexProvider p(vertex_config("global"), ready_source());
  EXPECT_EQ(encode(p, "gemini-2.5-pro", false, kChat).url,
            "https://aiplatform.googleapis.com/v1/projects/proj-1/locations/global/publishers/google/models/gemini-2.5-pro:generateContent");
}

TEST(VertexEncode, ClaudeModelsGoToTheAnthropicPublisherWithVersionAndNoModel) {
  VertexProvider p(vertex_config("us-east5"), ready_source());
  auto r = encode(p, "claude-sonnet-4@20250514", false, kChat);
  EXPECT_EQ(r.url, "https://us-east5-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict");
  auto b = bj::parse(r.body).as_object();
  EXPECT_EQ(b.begin()->key(), "anthropic_version");
  EXPECT_EQ(b.at("anthropic_version"), "vertex-2023-10-16");
  EXPECT_FALSE(b.contains("model"));
  EXPECT_FALSE(b.contains("stream"));
  EXPECT_EQ(b.at("max_tokens").to_number<int64_t>(), 64);
  EXPECT_EQ(b.at("system").at(0).at("text"), "Be brief.");
  EXPECT_EQ(b.at("messages").at(0).at("content"), "Hi");
  EXPECT_EQ(b.at("temperature").to_number<double>(), 0.5);
  // Everything but model and version is the Anthropic adapter's body.
  std::string anthropic_body;
  ASSERT_TRUE(translate_chat_request(kChat, "claude-sonnet-4@20250514", false, {}, anthropic_body));
  auto a = bj::parse(anthropic_body).as_object();
  a.erase("model");
  b.erase("anthropic_version");
  EXPECT_EQ(a, b);
  auto s = encode(p, "claude-sonnet-4@20250514", true, kChat);
  EXPECT_TRUE(s.url.ends_with("/publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict")) << s.url;
  EXPECT_EQ(bj::parse(s.body).at("stream"), true);
  auto headers = s.all_headers();
  EXPECT_EQ(std::count_if(headers.begin(), headers.end(), [](const std::string& h) { return h.starts_with("anthropic-version"); }), 0);
}

TEST(VertexEncode, ConfiguredPublisherWinsOverTheModelId) {
  VertexProvider p(vertex_config("us-east5", "anthropic"), ready_source());
  EXPECT_TRUE(encode(p, "my-tuned-model", false, kChat).url.ends_with("/publishers/anthropic/models/my-tuned-model:rawPredict"));
  VertexProvider g(vertex_config("us-east5", "google"), ready_source());
  EXPECT_TRUE(encode(g, "claude-like-name", false, kChat).url.ends_with("/publishers/google/models/claude-like-name:generateContent"));
}

TEST(VertexEncode, BadModelsEmbeddingsAndMissingTokensAreClearErrors) {
  VertexProvider p(vertex_config(), ready_source());
  for (std::string_view model : {"a/b", "../x", "m?alt=x", "claude@", ""}) {
    EncodeInput in{Endpoint::chat_completions, kChat, nullptr, model, "", false};
    auto out = p.encode(in);
    ASSERT_FALSE(out) << model;
    EXPECT_EQ(out.error().http_status, 400) << model;
  }
  EncodeInput embed{Endpoint::embeddings, R"({"model":"text-embedding-005","input":"x"})", nullptr, "text-embedding-005", "", false};
  auto refused = p.encode(embed);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 501);
  EXPECT_NE(refused.error().message.find("'vx'"), std::string::npos);

  GatedFetch gate;  // never answers: no token yet
  VertexProvider waiting(vertex_config(), std::make_unique<AccessTokenSource>("vx", "http://t/token", gate.fetch()));
  EncodeInput in{Endpoint::chat_completions, kChat, nullptr, "gemini-2.5-flash", "", false};
  auto none = waiting.encode(in);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().http_status, 503);
  EXPECT_TRUE(none.error().retryable);
  EXPECT_NE(none.error().message.find("http://t/token"), std::string::npos);
}

TEST(VertexEncode, ListingIsThePublisherModelListWithTheToken) {
  VertexProvider p(vertex_config(), ready_source());
  auto r = p.list_models_request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url, "https://us-central1-aiplatform.googleapis.com/v1beta1/publishers/google/models?pageSize=100");
  auto headers = r.all_headers();
  EXPECT_NE(std::find(headers.begin(), headers.end(), "Authorization: Bearer ya29.unit-token"), headers.end());
}

TEST(VertexEncode, ErrorsAreReadInGoogleAndAnthropicShapesWithoutTheToken) {
  VertexProvider p(vertex_config(), ready_source());
  Error google = p.decode_error(429, R"({"error":{"code":429,"message":"Quota exceeded for ya29.unit-token","status":"RESOURCE_EXHAUSTED"}})", "");
  EXPECT_EQ(google.type, "rate_limit_error");
  EXPECT_EQ(google.code, "RESOURCE_EXHAUSTED");
  EXPECT_EQ(google.message.find("ya29.unit-token"), std::string::npos) << google.message;
  Error claude = p.decode_error(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", "");
  EXPECT_EQ(claude.type, "overloaded_error");
  EXPECT_NE(claude.message.find("Overloaded"), std::string::npos);
}

// --- decoding: recorded answers through the Vertex decoder ------------------------------------

std::string fixture(const std::string& dir, const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + dir + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string decode_stream(ResponseDecoder& decoder, const std::string& body) {
  http::SseParser parser;
  OpenAIChunkWriter writer;
  std::string out;
  decoder.reset();
  writer.begin(&out, 1700000000, true);
  parser.feed(body, [&](const http::SseEvent& event) {
    if (auto decoded = decoder.decode_event(event, writer); !decoded) writer.fail(decoded.error());
    return !writer.ended();
  });
  return out;
}

std::string decode_body(ResponseDecoder& decoder, const std::string& body) {
  ChatResponse response;
  auto decoded = decoder.decode_body(body, response);
  EXPECT_TRUE(decoded) << body;
  std::string out;
  write_chat_completion(response, 1700000000, out);
  return out;
}

TEST(VertexDecode, RecordedGeminiAndAnthropicStreamsReadAsByTheirOwnAdapters) {
  auto vertex = make_vertex_decoder();  // one decoder, reused across publishers as a connection does
  for (const auto& [dir, name] : std::vector<std::pair<std::string, std::string>>{
           {"gemini", "stream-text.sse.txt"}, {"anthropic", "stream-text.sse.txt"},
           {"gemini", "stream-function-call.sse.txt"}, {"anthropic", "stream-tool-use-two-calls.sse.txt"}}) {
    std::string body = fixture(dir, name);
    auto own = dir == "gemini" ? make_gemini_decoder() : make_anthropic_decoder();
    std::string want = decode_stream(*own, body);
    std::string got = decode_stream(*vertex, body);
    EXPECT_EQ(got, want) << dir << "/" << name;
    auto assembled = test::assemble_openai(got);
    EXPECT_TRUE(assembled.done) << dir << "/" << name;
    EXPECT_TRUE(assembled.error_type.empty()) << dir << "/" << name;
  }
}

TEST(VertexDecode, RecordedGeminiAndAnthropicBodiesReadAsByTheirOwnAdapters) {
  auto vertex = make_vertex_decoder();
  for (const auto& [dir, name] : std::vector<std::pair<std::string, std::string>>{
           {"gemini", "generate-content.json"}, {"anthropic", "messages-nonstream.json"},
           {"gemini", "generate-content-function-call.json"}, {"anthropic", "messages-nonstream-tool-use.json"}}) {
    std::string body = fixture(dir, name);
    auto own = dir == "gemini" ? make_gemini_decoder() : make_anthropic_decoder();
    EXPECT_EQ(decode_body(*vertex, body), decode_body(*own, body)) << dir << "/" << name;
  }
}

}  // namespace
}  // namespace llmux::providers
