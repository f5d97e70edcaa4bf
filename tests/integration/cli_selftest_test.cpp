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
    // Measured, not rounded down to whole milliseconds: loopback answers take less than one.
    ASSERT_TRUE(c.at("latency_ms").is_number()) << bjson::serialize(c);
    EXPECT_GT(c.at("latency_ms").to_number<double>(), 0.0) << bjson::serialize(c);
  }
  // A passing check reads like a pass.
  std::string errors_detail(checks[4].at("detail").as_string());
  EXPECT_TRUE(contains(errors_detail, "refused cleanly")) << errors_detail;
  EXPECT_FALSE(contains(errors_detail, "->")) << errors_detail;
  EXPECT_FALSE(contains(r.out, " 0 ms ")) << r.out;

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
  // The same cause is explained once, naming every check it failed.
  const std::string hint = "no API key is set for 'nokey': store one with `llmux api-key nokey`";
  EXPECT_TRUE(contains(r.out, "auth, models, chat, streaming, errors: " + hint)) << r.out;
  EXPECT_EQ(r.out.find(hint), r.out.rfind(hint)) << r.out;
  EXPECT_TRUE(contains(r.out, "0/5 checks passed")) << r.out;
}

// A server that is down: one diagnosis, the remaining checks not run, and no advice to run the
// command that was just run.
TEST(CliSelfTest, AServerThatIsDownGetsOneDiagnosis) {
  Sandbox box;
  ASSERT_EQ(box.run({"provider", "add", "dead", "http://127.0.0.1:1/v1", "--model", "m"}).exit, 0);
  auto text = box.run({"provider", "test", "dead"});
  EXPECT_EQ(text.exit, 1);
  EXPECT_TRUE(contains(text.out, "auth       FAIL")) << text.out;
  for (const char* row : {"models     SKIP    -        not run: http://127.0.0.1:1/v1 did not answer",
                          "chat       SKIP    -", "streaming  SKIP    -", "errors     SKIP    -"})
    EXPECT_TRUE(contains(text.out, row)) << row << "\n" << text.out;
  const std::string hint = "auth: nothing answers at http://127.0.0.1:1/v1: start the server (or check the host and "
                           "port), or point the provider at the right URL with `llmux provider update dead --url URL`";
  EXPECT_TRUE(contains(text.out, hint)) << text.out;
  EXPECT_EQ(text.out.find("nothing answers"), text.out.rfind("nothing answers")) << text.out;
  EXPECT_FALSE(contains(text.all(), "llmux provider test")) << text.all();
  EXPECT_TRUE(contains(text.out, "0/5 checks passed (4 not run)")) << text.out;

  auto dead = box.run({"provider", "test", "dead", "--json"});
  EXPECT_EQ(dead.exit, 1);
  auto v = bjson::parse(dead.out);
  EXPECT_EQ(v.at("passed"), false);
  const auto& checks = v.at("checks").as_array();
  ASSERT_EQ(checks.size(), 5u);
  EXPECT_EQ(checks[0].at("result"), "fail");
  EXPECT_TRUE(checks[0].at("latency_ms").is_number());
  EXPECT_FALSE(checks[0].as_object().at("hint").as_string().empty());
  for (size_t i = 0; i < checks.size(); ++i) {
    EXPECT_TRUE(contains(std::string(checks[i].at("detail").as_string()), "http://127.0.0.1:1/v1")) << bjson::serialize(checks[i]);
    if (i == 0) continue;
    EXPECT_EQ(checks[i].at("result"), "skip") << bjson::serialize(checks[i]);
    EXPECT_TRUE(checks[i].at("latency_ms").is_null()) << bjson::serialize(checks[i]);
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
