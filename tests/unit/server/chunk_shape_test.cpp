// The one-pass check of a passed-through stream's content chunks: a chunk matched against the
// learned shape is one simdjson accepts, and its text is the one chunk_text reads.
#include <gtest/gtest.h>

#include <simdjson.h>

#include "server/chunk_shape.hpp"
#include "server/stream_repair.hpp"

namespace llmux::server {
namespace {

std::string chunk_with(std::string_view text) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"m","choices":[{"index":0,"delta":{"content":")" +
         std::string(text) + R"("},"logprobs":null,"finish_reason":null}]})";
}

bool simdjson_accepts(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element ignored;
  return !parser.parse(padded).get(ignored);
}

TEST(JsonStringBody, AcceptsWhatAJsonStringMayHold) {
  for (std::string_view body : {"", "plain words", R"(a \"quoted\" \\ \/ \b\f\n\r\t)", R"(\u00e9\u20AC)",
                                "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"})
    EXPECT_TRUE(is_json_string_body(body)) << body;
}

TEST(JsonStringBody, RefusesWhatWouldEndOrBreakTheString) {
  for (std::string_view body : {R"(a"b)", "tab\there", "nl\nhere", R"(trailing \)", R"(\q)", R"(\u12)", R"(\u12g4)",
                                R"(\ud83d)", R"(\uDC00)", "\xC3\x28", "\xFF", "\xE2\x82"})
    EXPECT_FALSE(is_json_string_body(body)) << body;
}

TEST(ChunkShape, MatchesTheLearnedChunkWithOtherTextAndGivesThatText) {
  ChunkShape shape;
  std::string first = chunk_with("Hello");
  EXPECT_FALSE(shape.text_of(first)) << "nothing learned yet";
  shape.learn(first, chunk_text(first));
  for (std::string_view text : {"", " world", R"(a \"much\" longer \u00e9 text than the first)"}) {
    std::string next = chunk_with(text);
    auto got = shape.text_of(next);
    ASSERT_TRUE(got) << next;
    EXPECT_EQ(*got, text);
    EXPECT_EQ(*got, chunk_text(next));
    EXPECT_TRUE(simdjson_accepts(next));
  }
  shape.forget();
  EXPECT_FALSE(shape.text_of(chunk_with("again")));
}

TEST(ChunkShape, RefusesAChunkThatDiffersAroundTheTextOrWhoseTextIsNoString) {
  ChunkShape shape;
  std::string first = chunk_with("Hello");
  shape.learn(first, chunk_text(first));
  std::string other_id = first;
  other_id.replace(other_id.find("chatcmpl-1"), 10, "chatcmpl-2");
  EXPECT_FALSE(shape.text_of(other_id));
  std::string finished = first;
  finished.replace(finished.find("\"finish_reason\":null"), 20, "\"finish_reason\":\"stop\"");
  EXPECT_FALSE(shape.text_of(finished));
  // Text that would close the string and add members: refused, the caller parses it.
  std::string injected = chunk_with(R"(x"},"finish_reason":"stop","y":{"z":")");
  EXPECT_TRUE(simdjson_accepts(injected));
  EXPECT_FALSE(shape.text_of(injected));
  for (std::string_view bad : {R"(\q)", "\x01", "\xC3\x28", R"(ends \)"}) {
    std::string chunk = chunk_with(bad);
    EXPECT_FALSE(shape.text_of(chunk)) << chunk;
    EXPECT_FALSE(simdjson_accepts(chunk)) << chunk;
  }
  EXPECT_FALSE(shape.text_of(first.substr(0, 40)));
}

}  // namespace
}  // namespace llmux::server
