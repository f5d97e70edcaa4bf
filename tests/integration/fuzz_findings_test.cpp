// What fuzzing the readers found, through the real binary: a deep upstream body that took a
// recursive JSON check down, and request heads over the 64 KiB limit that were not refused.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace llmux::test {
namespace {

const std::string kChat = R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}]})";

class FuzzFindings : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fake_ = new FakeProvider(start_fake());
    gateway_ = new Gateway(start_gateway("providers:\n  fake:\n    base_url: " + fake_->base_url() +
                                         "\n    models: [fake-model]\n    max_retries: 0\n"));
  }
  static void TearDownTestSuite() {
    delete gateway_;
    delete fake_;
  }
  static FakeProvider* fake_;
  static Gateway* gateway_;
};
FakeProvider* FuzzFindings::fake_ = nullptr;
Gateway* FuzzFindings::gateway_ = nullptr;

// A body without usage is checked to be JSON before it is passed on. The check recursed once per
// level and ran out of stack a million levels down: the gateway crashed. It is valid JSON, so it
// is passed on, and the gateway keeps serving.
TEST_F(FuzzFindings, UpstreamBodyAMillionLevelsDeepIsPassedOn) {
  auto r = http_post(gateway_->url("/v1/chat/completions"),
                     R"({"model":"fake/fake-model","messages":[{"role":"user","content":"hi"}],)"
                     R"("fake":{"nesting":1000000,"usage":false}})");
  ASSERT_EQ(r.status, 200) << r.error << r.body.substr(0, 300);
  EXPECT_NE(r.body.find(std::string(1'000'000, '[') + std::string(1'000'000, ']')), std::string::npos);
  EXPECT_EQ(http_post(gateway_->url("/v1/chat/completions"), kChat).status, 200);
}

}  // namespace
}  // namespace llmux::test
