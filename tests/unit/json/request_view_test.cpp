#include "json/request_view.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <limits>

namespace llmux::json {
namespace {

TEST(RequestViewTest, ReadsTheFieldsTheGatewayNeeds) {
  auto f = read_request(R"({"model":"p/m","stream":true,"stream_options":{"include_usage":true},)"
                        R"("messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}],"max_tokens":12})");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->model_type, JsonType::string);
  EXPECT_EQ(f->model, "p/m");
  EXPECT_TRUE(f->stream);
  EXPECT_TRUE(f->include_usage);
  EXPECT_EQ(f->messages_type, JsonType::array);
  EXPECT_EQ(f->message_count, 2u);
  EXPECT_EQ(f->max_tokens, 12);
}

TEST(RequestViewTest, MaxCompletionTokensCountsToo) {
  auto f = read_request(R"({"max_completion_tokens":7,"messages":[]})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->max_tokens, 7);
  EXPECT_STREQ(f->max_tokens_key, "max_completion_tokens");
}

TEST(RequestViewTest, SyntaxErrorNamesLineAndColumn) {
  auto f = read_request("{\n  \"model\": \"x\",\n  \"messages\": [,]\n}");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().http_status, 400);
  EXPECT_NE(f.error().message.find("line 3, column 16"), std::string::npos) << f.error().message;
}

// A server that keeps the first of two "model" keys would serve what the gateway did not route.
TEST(RequestViewTest, RepeatedTopLevelKeyIsRefusedNamingIt) {
  for (std::string body : {R"({"mod\u0065l":"gpt-4-SMUGGLED","model":"allowed/cheap","messages":[]})",
                           R"({"model":"a","messages":[],"max_tokens":5,"max_tokens":100000})",
                           R"({"stream":false,"messages":[],"stream":true})"}) {
    auto f = read_request(body);
    ASSERT_FALSE(f) << body;
    EXPECT_EQ(f.error().http_status, 400);
    EXPECT_EQ(f.error().code, "duplicate_key");
    EXPECT_NE(f.error().message.find("'" + f.error().param + "'"), std::string::npos) << f.error().message;
  }
  EXPECT_EQ(read_request(R"({"mod\u0065l":"a","model":"b"})").error().param, "model");
  EXPECT_EQ(read_request(R"({"max_tokens":1,"messages":[],"max_tokens":2})").error().param, "max_tokens");
  // Nested objects may repeat top-level names, and many distinct keys are fine.
  EXPECT_TRUE(read_request(R"({"model":"a","messages":[{"model":"b","content":"c"}],"metadata":{"model":1}})"));
  std::string many = "{";
  for (int i = 0; i < 200; ++i) many += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  EXPECT_TRUE(read_request(many + "\"model\":\"m\"}"));
  auto repeated = read_request(many + "\"k17\":0}");
  ASSERT_FALSE(repeated);
  EXPECT_EQ(repeated.error().param, "k17");
}

// Both spellings of the limit: the larger one is what the context-window check must see.
TEST(RequestViewTest, MaxTokensAndMaxCompletionTokensGiveTheLarger) {
  auto f = read_request(R"({"max_tokens":100000,"max_completion_tokens":5,"messages":[]})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->max_tokens, 100000);
  EXPECT_STREQ(f->max_tokens_key, "max_tokens");
  auto g = read_request(R"({"max_tokens":5,"max_completion_tokens":100000,"messages":[]})");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->max_tokens, 100000);
  EXPECT_STREQ(g->max_tokens_key, "max_completion_tokens");
}

std::string nested(size_t depth, std::string_view innermost = "1") {
  return std::string(depth, '[') + std::string(innermost) + std::string(depth, ']');
}

// Valid JSON deeper than Boost.JSON's default limit of 32 is valid (an upstream body is checked
// with this); only the request reader has a limit, and its error points at where it is exceeded.
TEST(RequestViewTest, DeepJsonIsValidAndTheRequestDepthErrorPointsAtTheLimit) {
  EXPECT_FALSE(locate_syntax_error(nested(40)));
  EXPECT_FALSE(locate_syntax_error("{\"a\":" + nested(5000) + "}"));
  auto ok = read_request("{\"model\":\"m\",\"messages\":[],\"x\":" + nested(100) + "}");
  EXPECT_TRUE(ok) << ok.error().message;

  auto deep = read_request("{\"a\":" + nested(3000) + "}");
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error().http_status, 400);
  EXPECT_NE(deep.error().message.find("deeper than 1024 levels (line 1, column 1029)"), std::string::npos)
      << deep.error().message;
  // A syntax error behind deep (but allowed) nesting is found where it is.
  auto broken = read_request("{\"a\":" + nested(100, "1,]") + "}");
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("column 108"), std::string::npos) << broken.error().message;
}

TEST(RequestViewTest, RejectsNonObjectsAndBadTypes) {
  EXPECT_FALSE(read_request("[]"));
  EXPECT_FALSE(read_request(R"({"stream":"yes"})"));
  EXPECT_FALSE(read_request(R"({"max_tokens":0})"));
  EXPECT_FALSE(read_request(R"({"max_tokens":1.5})"));
  EXPECT_FALSE(read_request(""));
  EXPECT_FALSE(read_request("{\"a\":1} trailing"));
}

std::string rewrite(std::string_view body, std::string_view model, std::string_view defaults = {}) {
  auto f = read_request(body);
  EXPECT_TRUE(f);
  return rewrite_request(body, *f, model, defaults);
}

TEST(RequestViewTest, RewritesOnlyTheTopLevelModelValue) {
  std::string body = R"({"messages":[{"role":"user","content":"{\"model\":\"inner\"}"}], "model" : "a\"b" ,"n":1})";
  std::string out = rewrite(body, "upstream-id");
  EXPECT_EQ(out, R"({"messages":[{"role":"user","content":"{\"model\":\"inner\"}"}], "model" : "upstream-id" ,"n":1})");
  EXPECT_NO_THROW(boost::json::parse(out));
}

TEST(RequestViewTest, InsertsModelWhenAbsentAndEscapesIt) {
  std::string out = rewrite(R"({"messages":[]})", "we\"ird");
  auto v = boost::json::parse(out).as_object();
  EXPECT_EQ(v.at("model").as_string(), "we\"ird");
  EXPECT_EQ(v.at("messages").as_array().size(), 0u);
  EXPECT_EQ(rewrite("{}", "m"), R"({"model":"m"})");
}

TEST(RequestViewTest, MergesDefaultsUnderTheRequestsOwnValues) {
  std::string out = rewrite(R"({"model":"x","temperature":1,"messages":[]})", "y",
                            R"({"temperature":0.2,"top_p":0.5,"stop":["\n"]})");
  auto v = boost::json::parse(out).as_object();
  EXPECT_EQ(v.at("model").as_string(), "y");
  EXPECT_EQ(v.at("temperature").as_int64(), 1);
  EXPECT_EQ(v.at("top_p").as_double(), 0.5);
  EXPECT_EQ(v.at("stop").at(0).as_string(), "\n");
  EXPECT_EQ(v.size(), 5u);
}

TEST(RequestViewTest, ReadsUsageFromResponsesAndChunks) {
  auto u = read_usage(R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, 3);
  EXPECT_EQ(u->completion_tokens, 4);
  EXPECT_EQ(u->total_tokens, 7);
  EXPECT_FALSE(read_usage(R"({"usage":null})"));
  EXPECT_FALSE(read_usage(R"({"choices":[]})"));
  EXPECT_FALSE(read_usage("not json"));
}

// Fuzzing found it (UBSan: signed overflow in the missing total); the sum saturates instead.
TEST(RequestViewTest, UsageTotalSaturatesInsteadOfOverflowing) {
  auto u = read_usage(R"({"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":1}})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->prompt_tokens, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(u->total_tokens, std::numeric_limits<int64_t>::max());
  auto negative = read_usage(R"({"usage":{"prompt_tokens":-9223372036854775808,"completion_tokens":-1}})");
  ASSERT_TRUE(negative);
  EXPECT_EQ(negative->total_tokens, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(add_tokens(3, 4), 7);
  EXPECT_EQ(add_tokens(std::numeric_limits<int64_t>::max(), -1), std::numeric_limits<int64_t>::max() - 1);
}

// A body nested a million levels deep that simdjson refuses for something else than depth (here
// invalid UTF-8 at the end) was located by a recursive parser, which ran out of stack; the same
// for an upstream body checked with locate_syntax_error.
TEST(RequestViewTest, MillionLevelsDeepIsCheckedWithoutRecursion) {
  constexpr size_t kDepth = 1'000'000;
  std::string invalid = std::string(kDepth, '[') + "\xff";
  auto f = read_request(invalid);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().message.find("deeper than 1024 levels (line 1, column 1025)"), std::string::npos)
      << f.error().message;
  auto where = locate_syntax_error(invalid);
  ASSERT_TRUE(where);
  EXPECT_EQ(*where, std::make_pair(1, static_cast<int>(kDepth) + 1));
  std::string valid = std::string(kDepth, '[') + std::string(kDepth, ']');
  EXPECT_FALSE(locate_syntax_error(valid));
}

// The reader routes by the unescaped key, so "m\u006fdel" is the model; the rewrite must replace
// that value too, or the upstream receives the client's model id (found by fuzzing).
TEST(RequestViewTest, ModelKeyWrittenWithEscapesIsRewritten) {
  for (std::string body : {R"({"m\u006fdel":"a"})", R"({"messages":[],"\u006dodel" : "a" ,"n":1})",
                           R"({"m\u006fdel":"a","model}" : "b\"c","max_toke+ns":1e2,"stream":false})",
                           R"({"m\u006fdel":"a","podel}" : "b\"c","max_tokenE":0e1,"stream":false})"}) {
    auto f = read_request(body);
    ASSERT_TRUE(f) << body << ": " << f.error().message;
    EXPECT_EQ(f->model, "a");
    std::string out = rewrite_request(body, *f, "upstream-id", JsonMembers{});
    auto reread = read_request(out);
    ASSERT_TRUE(reread) << out;
    EXPECT_EQ(reread->model, "upstream-id") << out;
    EXPECT_EQ(out.find("\"a\""), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace llmux::json

namespace llmux::json {
namespace {

// A string ending in an escaped backslash ("...\\") closes at the next quote; one ending in an
// escaped quote (\") does not.
TEST(RequestViewTest, ReadingIntoReusedFieldsResetsEverything) {
  RequestFields f;
  ASSERT_TRUE(read_request(R"({"model":"first-model","stream":true,"stream_options":{"include_usage":true},)"
                           R"("messages":[{"role":"user","content":"a"}],"max_completion_tokens":9,"input":[1]})",
                           f));
  ASSERT_TRUE(read_request(R"({"prompt":"p"})", f));
  auto fresh = read_request(R"({"prompt":"p"})");
  ASSERT_TRUE(fresh);
  EXPECT_EQ(f.model_type, JsonType::absent);
  EXPECT_EQ(f.model, "");
  EXPECT_EQ(f.model_begin, fresh->model_begin);
  EXPECT_EQ(f.model_end, fresh->model_end);
  EXPECT_FALSE(f.stream);
  EXPECT_FALSE(f.include_usage);
  EXPECT_EQ(f.messages_type, JsonType::absent);
  EXPECT_EQ(f.message_count, 0u);
  EXPECT_EQ(f.input_type, JsonType::absent);
  EXPECT_EQ(f.input_count, 0u);
  EXPECT_EQ(f.prompt_type, JsonType::string);
  EXPECT_FALSE(f.max_tokens);
  EXPECT_STREQ(f.max_tokens_key, "max_tokens");
  EXPECT_EQ(f.top_level_keys, fresh->top_level_keys);
}

TEST(RequestViewTest, UsagePreCheckWantsAnObjectValue) {
  EXPECT_TRUE(has_usage_object(R"({"choices":[],"usage":{"prompt_tokens":3}})"));
  EXPECT_TRUE(has_usage_object(R"({"usage" :  {"prompt_tokens":3}})"));
  EXPECT_FALSE(has_usage_object(R"({"choices":[{"delta":{"content":"x"}}],"usage":null})"));
  EXPECT_FALSE(has_usage_object(R"({"choices":[{"delta":{"content":"usage"}}]})"));
  EXPECT_FALSE(has_usage_object(""));
  // A first mention that is not a member with an object value does not hide a later one.
  EXPECT_TRUE(has_usage_object(R"({"note":"usage","x":"\"usage\"","usage":{"total_tokens":1}})"));
}

TEST(RequestViewTest, FindsModelAfterStringsWithBackslashRuns) {
  std::string body = R"({"messages":[{"role":"user","content":"path C:\\dir\\"},{"content":"say \"model\": \"x\""}],"model":"m"})";
  auto out = rewrite(body, "upstream");
  auto v = boost::json::parse(out).as_object();
  EXPECT_EQ(v.at("model").as_string(), "upstream");
  EXPECT_EQ(v.at("messages").at(0).at("content").as_string(), "path C:\\dir\\");
  EXPECT_EQ(v.at("messages").at(1).at("content").as_string(), "say \"model\": \"x\"");
}

TEST(RequestViewTest, PreParsedDefaultsGiveTheSameBody) {
  std::string body = R"({"model":"x","messages":[]})";
  auto f = read_request(body);
  ASSERT_TRUE(f);
  std::string defaults = R"({"temperature":0.2,"stop":["a"]})";
  EXPECT_EQ(rewrite_request(body, *f, "y", object_members(defaults)), rewrite_request(body, *f, "y", defaults));
  EXPECT_TRUE(object_members("[1]").empty());
  EXPECT_TRUE(object_members("").empty());
}

}  // namespace
}  // namespace llmux::json
