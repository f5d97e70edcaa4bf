// `llmux provider test`: five checks with latency and reasons, --json, exit status; terminal
// manners (colour and spinner only on a terminal, NO_COLOR honoured).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "cli_harness.hpp"
#include "harness.hpp"

namespace llmux::test {
namespace {

namespace bjson = boost::json;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(CliSelfTest, AllFiveChecksPassAgainstAWorkingProvider) {
  auto fake = start_fake({"--require-key", "sk-good-000000000000"});
  Sandbox box;
  box.extra_env = {"GOOD_KEY=sk-good-000000000000"};
  ASSERT_EQ(box.run({"provider", "add", "good", fake.base_url(), "--model", "fake-model", "--api-key-env", "GOOD_KEY"}).exit, 0);
  auto r = box.run({"provider", "test", "good"});
  ASSERT_EQ(r.exit, 0) << r.all();
  EXPECT_TRUE(contains(r.out, "CHECK      RESULT  LATENCY  DETAIL")) << r.out;
  for (const char* check : {"auth       PASS", "models     PASS", "chat       PASS", "streaming  PASS", "errors     PASS"})
    EXPECT_TRUE(contains(r.out, check)) << check << "\n" << r.out;
  EXPECT_TRUE(contains(r.out, "5/5 checks passed")) << r.out;
  EXPECT_FALSE(contains(r.all(), "\033[")) << "colour on a pipe";
  EXPECT_FALSE(contains(r.all(), "\r")) << "spinner on a pipe";

  auto json = box.run({"provider", "test", "good", "--json"});
  ASSERT_EQ(json.exit, 0) << json.all();
  auto v = bjson::parse(json.out);
  EXPECT_EQ(v.at("passed"), true);
  const auto& checks = v.at("checks").as_array();
  ASSERT_EQ(checks.size(), 5u);
  for (const auto& c : checks) {
    EXPECT_EQ(c.at("result"), "pass") << bjson::serialize(c);
    EXPECT_TRUE(c.at("latency_ms").is_int64());
  }

  auto subset = box.run({"provider", "test", "good", "--test", "chat,streaming", "--json"});
  ASSERT_EQ(subset.exit, 0);
  auto names = bjson::parse(subset.out).at("checks").as_array();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].at("name"), "chat");
  EXPECT_EQ(names[1].at("name"), "streaming");
  EXPECT_EQ(box.run({"provider", "test", "good", "--test", "bogus"}).exit, 2);
}

TEST(CliSelfTest, FailingChecksGiveTheReasonAndANonZeroExit) {
  auto fake = start_fake({"--require-key", "sk-good-000000000000"});
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "nokey", fake.base_url(), "--model", "fake-model"}).exit, 0);
  auto r = box.run({"provider", "test", "nokey"});
  EXPECT_EQ(r.exit, 1) << r.all();
  EXPECT_TRUE(contains(r.out, "auth       FAIL")) << r.out;
  EXPECT_TRUE(contains(r.out, "HTTP 401: Incorrect API key provided.")) << r.out;
  EXPECT_TRUE(contains(r.out, "auth: no API key is set for 'nokey': store one with `llmux api-key nokey`")) << r.out;
  EXPECT_TRUE(contains(r.out, "0/5 checks passed")) << r.out;

  ASSERT_EQ(box.run({"provider", "add", "dead", "http://127.0.0.1:1/v1", "--model", "m"}).exit, 0);
  auto dead = box.run({"provider", "test", "dead", "--json"});
  EXPECT_EQ(dead.exit, 1);
  auto v = bjson::parse(dead.out);
  EXPECT_EQ(v.at("passed"), false);
  for (const auto& c : v.at("checks").as_array()) {
    EXPECT_EQ(c.at("result"), "fail");
    EXPECT_TRUE(contains(std::string(c.at("detail").as_string()), "http://127.0.0.1:1/v1")) << bjson::serialize(c);
  }
}

TEST(CliSelfTest, ColourAndSpinnerOnlyOnATerminalAndNoColorHonoured) {
  auto fake = start_fake();
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "fake", fake.base_url(), "--model", "fake-model"}).exit, 0);
  auto env = box.env();
  env.push_back("TERM=xterm");
  {
    PtySession tty({LLMUX_BINARY, "provider", "test", "fake"}, env);
    EXPECT_EQ(tty.wait(), 0) << tty.transcript();
    EXPECT_TRUE(contains(tty.transcript(), "\033[1;32mPASS\033[0m")) << tty.transcript();
    EXPECT_TRUE(contains(tty.transcript(), "⠋ checking auth of fake")) << tty.transcript();
  }
  env.push_back("NO_COLOR=1");
  {
    PtySession tty({LLMUX_BINARY, "provider", "test", "fake"}, env);
    EXPECT_EQ(tty.wait(), 0) << tty.transcript();
    EXPECT_FALSE(contains(tty.transcript(), "\033[1;32m")) << tty.transcript();
    EXPECT_TRUE(contains(tty.transcript(), "PASS")) << tty.transcript();
  }
}

}  // namespace
}  // namespace llmux::test
