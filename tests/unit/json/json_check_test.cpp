#include "json/json_check.hpp"

#include <gtest/gtest.h>

#include <string>

namespace llmux::json {
namespace {

// The offset of the first wrong byte, or -1 for valid JSON; the same fed whole, byte by byte and
// in every two-piece split.
long error_at(std::string_view text, JsonChecker::Root root = JsonChecker::Root::any) {
  auto check = [&](const std::vector<std::string_view>& pieces) -> long {
    JsonChecker checker(JsonChecker::kUnlimitedDepth, root);
    for (auto piece : pieces)
      if (!checker.feed(piece)) return static_cast<long>(checker.error_offset());
    return checker.finish() ? -1 : static_cast<long>(checker.error_offset());
  };
  long whole = check({text});
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  EXPECT_EQ(check(bytes), whole) << text << " byte by byte";
  for (size_t split = 0; split <= text.size(); ++split)
    EXPECT_EQ(check({text.substr(0, split), text.substr(split)}), whole) << text << " split at " << split;
  return whole;
}

TEST(JsonCheck, AcceptsJson) {
  for (const char* text :
       {"{}", "[]", " {\"a\" : [1, -0, 0.5, -12.5e+3, 1E9, 2e-1, true, false, null, \"x\"]}\n", "\"\"", "0", "-1.0e0",
        "[[[]],{}]", R"({"a":{"b":{"c":[{}]}},"d":"\"\\\/\b\f\n\r\t\u00e9\uD83D\uDE00"})",
        "\"\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF\""})
    EXPECT_EQ(error_at(text), -1) << text;
}

TEST(JsonCheck, PointsAtTheFirstByteThatCannotBeThere) {
  EXPECT_EQ(error_at("{\"a\":tru}"), 8);
  EXPECT_EQ(error_at("{\"a\":1,}"), 7);
  EXPECT_EQ(error_at("[1,]"), 3);
  EXPECT_EQ(error_at("[1 2]"), 3);
  EXPECT_EQ(error_at("{\"a\" 1}"), 5);
  EXPECT_EQ(error_at("{1:2}"), 1);
  EXPECT_EQ(error_at("[}"), 1);
  EXPECT_EQ(error_at("{]"), 1);
  EXPECT_EQ(error_at("[1]]"), 3);
  EXPECT_EQ(error_at("{} {}"), 3);
  EXPECT_EQ(error_at("01"), 1);
  EXPECT_EQ(error_at("-a"), 1);
  EXPECT_EQ(error_at("1.e5"), 2);
  EXPECT_EQ(error_at("1e"), 2);    // ended early: the offset is the length
  EXPECT_EQ(error_at("[1e+]"), 4);
  EXPECT_EQ(error_at("+1"), 0);
  EXPECT_EQ(error_at(".5"), 0);
  EXPECT_EQ(error_at("nul"), 3);
  EXPECT_EQ(error_at("nulL"), 3);
  EXPECT_EQ(error_at("\"a\\x\""), 3);
  EXPECT_EQ(error_at("\"\\u12G4\""), 5);
  EXPECT_EQ(error_at("\"a\tb\""), 2);  // control characters must be escaped
  EXPECT_EQ(error_at(std::string_view("{\"city\":\"Paris\"\0\0[1, 2]}", 24)), 15);
  EXPECT_EQ(error_at("{\"a\":"), 5);
  EXPECT_EQ(error_at("\"abc"), 4);
  EXPECT_EQ(error_at(""), 0);
  EXPECT_EQ(error_at("  "), 2);
}

TEST(JsonCheck, StringsMustBeUtf8) {
  EXPECT_EQ(error_at("\"\x80\""), 1);              // a continuation byte first
  EXPECT_EQ(error_at("\"\xC0\xAF\""), 1);          // overlong
  EXPECT_EQ(error_at("\"\xE0\x80\xAF\""), 2);      // overlong
  EXPECT_EQ(error_at("\"\xED\xA0\x80\""), 2);      // a UTF-16 surrogate
  EXPECT_EQ(error_at("\"\xF4\x90\x80\x80\""), 2);  // past U+10FFFF
  EXPECT_EQ(error_at("\"\xF5\x80\x80\x80\""), 1);
  EXPECT_EQ(error_at("\"\xC3\""), 2);              // cut short by the quote
  EXPECT_EQ(error_at("[\xC3\xA9]"), 1);            // outside a string
}

// simdjson and Boost.JSON refuse a \u escape of a surrogate that is not one of a pair; so does the
// checker (an upstream body was checked with Boost.JSON before).
TEST(JsonCheck, SurrogateEscapesOnlyInPairs) {
  EXPECT_EQ(error_at(R"("\uD83D\uDE00 \ud800\udc00 \udbff\udfff \ud7ff \ue000")"), -1);
  EXPECT_EQ(error_at(R"("\ud800")"), 7);         // the closing quote where the low one belongs
  EXPECT_EQ(error_at(R"("\ud800x\udc00")"), 7);
  EXPECT_EQ(error_at(R"("\ud800\n")"), 8);
  EXPECT_EQ(error_at(R"("\ud800\u0041")"), 12);  // its last hex digit: not a low surrogate
  EXPECT_EQ(error_at(R"("\ud800\ud800")"), 12);
  EXPECT_EQ(error_at(R"("\udc00")"), 6);         // a low one alone
  EXPECT_EQ(error_at(R"(["\udc00\ud800"])"), 7);
}

TEST(JsonCheck, ObjectRootRefusesOtherValues) {
  EXPECT_EQ(error_at("{\"a\":[1]}", JsonChecker::Root::object), -1);
  EXPECT_EQ(error_at(" [1]", JsonChecker::Root::object), 1);
  EXPECT_EQ(error_at("\"{}\"", JsonChecker::Root::object), 0);
}

TEST(JsonCheck, DepthLimitAndReuse) {
  JsonChecker checker(3);
  EXPECT_TRUE(checker.feed("[[[1]]]") && checker.finish());
  checker.reset();
  EXPECT_FALSE(checker.feed("[[[[1]]]]"));
  EXPECT_TRUE(checker.too_deep());
  EXPECT_EQ(checker.error_offset(), 3u);
  checker.reset();
  EXPECT_TRUE(checker.blank());
  EXPECT_TRUE(checker.feed(" \n"));
  EXPECT_TRUE(checker.blank());
  EXPECT_TRUE(checker.feed("{\"a\""));
  EXPECT_FALSE(checker.blank());
  EXPECT_FALSE(checker.finish());
  EXPECT_FALSE(checker.too_deep());

  auto error = check_json(std::string(5000, '[') + std::string(5000, ']'), 4999);
  ASSERT_TRUE(error);
  EXPECT_TRUE(error->too_deep);
  EXPECT_EQ(error->offset, 4999u);
  EXPECT_FALSE(check_json(std::string(5000, '[') + std::string(5000, ']')));
}

}  // namespace
}  // namespace llmux::json
