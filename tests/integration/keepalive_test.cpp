// One client connection carries many requests: nothing of one answer may reach the next. Every
// kind of request (plain or stream × passed through or translated × success or error) is sent
// once on a fresh connection for reference, then every ordered pair of kinds on one shared
// keep-alive connection; each answer must equal its reference byte for byte, apart from the
// values that legitimately change per request (ids the fake numbers, timestamps).
#include <gtest/gtest.h>

#include <regex>

#include "harness.hpp"
#include "raw_http.hpp"

namespace llmux::test {
namespace {

struct Kind {
  std::string name;
  std::string body;
};

std::vector<Kind> kinds() {
  std::vector<Kind> out;
  for (std::string provider : {"fake", "claude"})
    for (bool stream : {false, true})
      for (bool error : {false, true}) {
        std::string model = error ? provider + "-failing/fake-model" : provider + "/fake-model";
        std::string name = provider + (stream ? " stream" : " plain") + (error ? " error" : " ok");
        std::string body = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"tell me about )" +
                           name + R"("}])" + (stream ? R"(,"stream":true)" : "") + "}";
        out.push_back({name, body});
      }
  // Answers the gateway gives itself, without an upstream.
  out.push_back({"bad json", R"({"model":)"});
  out.push_back({"unknown model", R"({"model":"nope/none","messages":[{"role":"user","content":"x"}]})"});
  return out;
}

// The fake numbers its answers and stamps them with the time; everything else must be equal.
std::string normalized(const RawResponse& r) {
  static const std::regex ids(R"((chatcmpl-|msg_|"created":|Content-Length: |x-llmux-overhead-ms: )[0-9A-Za-z.]+)");
  return std::regex_replace(r.head + r.body, ids, "$1N");
}

// The fake and the gateway every kind is sent through: passed-through and translated providers,
// each also as one that fails.
struct KindsGateway {
  FakeProvider fake = start_fake();
  Gateway gw = start_gateway("providers:\n"
                             "  fake:\n    base_url: " + fake.base_url() + "\n    max_retries: 0\n    models: [fake-model]\n"
                             "  fake-failing:\n    base_url: " + fake.base_url() +
                             "\n    max_retries: 0\n    models: [fake-model]\n    default_params: {fake: {status: 400}}\n"
                             "  claude:\n    type: anthropic\n    base_url: " + fake.base_url() +
                             "\n    api_key: k\n    max_retries: 0\n    models: [fake-model]\n"
                             "  claude-failing:\n    type: anthropic\n    base_url: " + fake.base_url() +
                             "\n    api_key: k\n    max_retries: 0\n    models: [fake-model]\n"
                             "    default_params: {fake: {status: 400}}\n"
                             "  fake-slow:\n    base_url: " + fake.base_url() +
                             "\n    max_retries: 0\n    models: [fake-model]\n" + kSlow +
                             "  claude-slow:\n    type: anthropic\n    base_url: " + fake.base_url() +
                             "\n    api_key: k\n    max_retries: 0\n    models: [fake-model]\n" + kSlow);
  // Five chunks 250 ms apart: open across at least one of the gateway's once-a-second sweeps.
  static constexpr const char* kSlow = "    default_params: {fake: {chunks: 5, chunk_interval_ms: 250}}\n";
};

std::string request_of(const std::vector<Kind>& all, size_t i) {
  return raw_post("/v1/chat/completions", all[i].body, "x-request-id: kind-" + std::to_string(i) + "\r\n");
}

// Each kind's answer on a fresh connection, normalized.
std::vector<std::string> references(const Gateway& gw, const std::vector<Kind>& all) {
  std::vector<std::string> out;
  for (size_t i = 0; i < all.size(); ++i) {
    RawConnection fresh(gw.port);
    EXPECT_TRUE(fresh.send(request_of(all, i)));
    auto r = fresh.read_response();
    EXPECT_TRUE(r.complete) << all[i].name;
    out.push_back(normalized(r));
  }
  return out;
}

TEST(KeepAlive, NoAnswerLeaksIntoTheNextRequestOnTheSameConnection) {
  KindsGateway s;
  auto all = kinds();
  auto reference = references(s.gw, all);
  // The kinds really differ: a test where every answer is the same could not see a leak.
  EXPECT_NE(reference[0], reference[4]);
  EXPECT_NE(reference[2], reference[6]);

  RawConnection shared(s.gw.port);
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = 0; j < all.size(); ++j)
      for (size_t k : {i, j}) {
        ASSERT_TRUE(shared.send(request_of(all, k)));
        auto r = shared.read_response();
        ASSERT_TRUE(r.complete) << all[k].name << " after " << all[i].name;
        ASSERT_FALSE(r.closed) << all[k].name;
        ASSERT_EQ(normalized(r), reference[k]) << all[k].name << " (pair " << all[i].name << ", " << all[j].name << ")";
      }
}

// A slow stream stays open across the gateway's once-a-second memory sweep, which gives back what
// the open stream does not need (its sent upstream request, empty buffers; issue 12): the stream
// itself and every answer after it on the same connection are still what they would be alone.
TEST(KeepAlive, AStreamOpenAcrossTheMemorySweepLeavesNothingForTheNextRequest) {
  KindsGateway s;
  auto all = kinds();
  std::vector<size_t> slow;
  for (std::string provider : {"fake-slow", "claude-slow"}) {
    slow.push_back(all.size());
    all.push_back({provider + " stream", R"({"model":")" + provider +
                                             R"(/fake-model","stream":true,"messages":[{"role":"user","content":"slowly"}]})"});
  }
  auto reference = references(s.gw, all);
  RawConnection shared(s.gw.port);
  for (size_t stream : slow)
    for (size_t k = 0; k < 8; ++k)  // each provider kind, plain and stream, ok and failing
      for (size_t i : {stream, k}) {
        ASSERT_TRUE(shared.send(request_of(all, i)));
        auto r = shared.read_response();
        ASSERT_TRUE(r.complete) << all[i].name;
        ASSERT_FALSE(r.closed) << all[i].name;
        ASSERT_EQ(normalized(r), reference[i]) << all[i].name << " (after " << all[stream].name << ")";
      }
}

// Two requests sent back to back before either answer (pipelining) are answered in order.
TEST(KeepAlive, PipelinedRequestsAreAnsweredInOrder) {
  auto fake = start_fake();
  auto gw = start_gateway("providers:\n  claude:\n    type: anthropic\n    base_url: " + fake.base_url() +
                          "\n    api_key: k\n    models: [fake-model]\n");
  std::string plain = R"({"model":"claude/fake-model","messages":[{"role":"user","content":"one"}]})";
  std::string stream = R"({"model":"claude/fake-model","stream":true,"messages":[{"role":"user","content":"two"}]})";
  RawConnection c(gw.port);
  ASSERT_TRUE(c.send(raw_post("/v1/chat/completions", plain) + raw_post("/v1/chat/completions", stream)));
  auto first = c.read_response();
  auto second = c.read_response();
  ASSERT_TRUE(first.complete && second.complete);
  EXPECT_NE(first.body.find("\"object\":\"chat.completion\""), std::string::npos) << first.body;
  EXPECT_EQ(second.body.rfind("data: ", 0), 0u) << second.body;
  EXPECT_EQ(second.body.find("chat.completion\""), std::string::npos) << second.body;
}

}  // namespace
}  // namespace llmux::test
