#include "json/body_edit.hpp"

#include <gtest/gtest.h>

namespace llmux::json {
namespace {

std::string removed(std::string body, std::string_view key = "fallbacks") {
  remove_top_level_member(body, key);
  return body;
}

TEST(BodyEdit, RemovesTheMemberAndItsComma) {
  EXPECT_EQ(removed(R"({"model":"m","fallbacks":["a","b"],"stream":true})"), R"({"model":"m","stream":true})");
  EXPECT_EQ(removed(R"({"fallbacks":["a"],"model":"m"})"), R"({"model":"m"})");
  EXPECT_EQ(removed(R"({"model":"m","fallbacks":["a"]})"), R"({"model":"m"})");
  EXPECT_EQ(removed(R"({"fallbacks":[]})"), R"({})");
  EXPECT_EQ(removed("{\n  \"model\": \"m\",\n  \"fallbacks\": [ \"a\" ]\n}"), "{\n  \"model\": \"m\"\n}");
  EXPECT_EQ(removed(R"({"model":"m", "fallbacks" : ["a"] , "n":1})"), R"({"model":"m", "n":1})");
}

TEST(BodyEdit, LeavesNestedAndLookalikeKeysAlone) {
  std::string body = R"({"metadata":{"fallbacks":["x"]},"messages":[{"content":"\"fallbacks\":[1]"}],"fallbacksX":1})";
  EXPECT_FALSE(remove_top_level_member(body, "fallbacks"));
  EXPECT_EQ(body, R"({"metadata":{"fallbacks":["x"]},"messages":[{"content":"\"fallbacks\":[1]"}],"fallbacksX":1})");
  EXPECT_EQ(removed(R"({"fall\u0062acks":["a"],"model":"m"})"), R"({"model":"m"})");
}

TEST(BodyEdit, ReadsFallbacks) {
  std::vector<std::string> names{"stale"};
  ASSERT_TRUE(read_fallbacks(R"({"model":"m","fallbacks":["b/claude-sonnet-4-5","local-\u006clama"]})", names));
  EXPECT_EQ(names, (std::vector<std::string>{"b/claude-sonnet-4-5", "local-llama"}));
  ASSERT_TRUE(read_fallbacks(R"({"model":"m"})", names));
  EXPECT_TRUE(names.empty());
  ASSERT_TRUE(read_fallbacks(R"({"fallbacks":null})", names));
  for (const char* bad : {R"({"fallbacks":"b/x"})", R"({"fallbacks":[1]})", R"({"fallbacks":[""]})"}) {
    auto r = read_fallbacks(bad, names);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_EQ(r.error().param, "fallbacks");
  }
}

}  // namespace
}  // namespace llmux::json
