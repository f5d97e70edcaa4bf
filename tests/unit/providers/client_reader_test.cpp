// How the library reads answers (src/client/answer_reader.cpp), over recorded traffic: OpenAI
// chunks and bodies as they pass through, and a translated provider's canonical events.
#include "client/answer_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "http/sse.hpp"
#include "providers/anthropic/anthropic.hpp"

namespace llmux::client_detail {
namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

struct Recorded {
  std::vector<StreamEvent::Type> types;
  std::vector<std::string> texts;  // each event's text, in order
};

// An answer being read, with every event it handed out recorded.
struct Reading {
  ChatResponse out;
  Recorded seen;
  std::function<void(const StreamEvent&)> on_event = [this](const StreamEvent& e) {
    seen.types.push_back(e.type);
    seen.texts.emplace_back(e.text);
  };
  AnswerAssembler assembler{out, on_event};
  CanonicalStreamReader reader{out, assembler};
};

TEST(ClientReader, EscapesAreResolvedIncludingSurrogatePairs) {
  std::string out;
  append_unescaped(R"(a\nb\t\"q\" \\ \/ \u00e9 \ud83d\ude00 \ud800x)", out);
  EXPECT_EQ(out, "a\nb\t\"q\" \\ / \xC3\xA9 \xF0\x9F\x98\x80 \xEF\xBF\xBDx");
}

TEST(ClientReader, ARecordedOpenAIToolCallStreamBecomesOneCallWithItsWholeArguments) {
  Reading reading;
  // Named references, not a structured binding: clang cannot capture bindings in a lambda.
  [[maybe_unused]] auto& out = reading.out;
  [[maybe_unused]] auto& seen = reading.seen;
  [[maybe_unused]] auto& assembler = reading.assembler;
  [[maybe_unused]] auto& reader = reading.reader;
  http::SseParser sse;
  sse.feed(fixture("openai/chat-stream-tool-call.sse.txt"), [&](const http::SseEvent& e) {
    if (e.data != "[DONE]") {
      EXPECT_TRUE(read_openai_chunk(e.data, out, assembler));
    }
    return true;
  });
  ASSERT_EQ(out.tool_calls.size(), 1u);
  EXPECT_EQ(out.tool_calls[0].id, "call_c91SqDXlYFuETYv8mUHzz6pp");
  EXPECT_EQ(out.tool_calls[0].name, "GetWeatherArgs");
  auto arguments = boost::json::parse(out.tool_calls[0].arguments).as_object();
  EXPECT_TRUE(arguments.contains("city"));
  EXPECT_EQ(out.finish_reason, "tool_calls");
  ASSERT_FALSE(seen.types.empty());
  EXPECT_EQ(seen.types.front(), StreamEvent::Type::tool_call);
  // The finish comes after the last piece of the arguments (the recording's usage chunk after it).
  auto finish = std::find(seen.types.begin(), seen.types.end(), StreamEvent::Type::finish);
  auto last_arguments = std::find(seen.types.rbegin(), seen.types.rend(), StreamEvent::Type::tool_arguments);
  ASSERT_NE(finish, seen.types.end());
  ASSERT_NE(last_arguments, seen.types.rend());
  EXPECT_GT(finish - seen.types.begin(), seen.types.rend() - last_arguments - 1);
  std::string joined;
  for (size_t i = 0; i < seen.types.size(); ++i)
    if (seen.types[i] == StreamEvent::Type::tool_arguments) joined += seen.texts[i];
  EXPECT_EQ(joined, out.tool_calls[0].arguments);
}

TEST(ClientReader, ARecordedBodyWithReasoningKeepsItApartFromTheAnswer) {
  ChatResponse out;
  std::string body = fixture("ollama/v1-chat-completions-nonstream.json");
  ASSERT_TRUE(read_openai_completion(body, out));
  auto message = boost::json::parse(body).at("choices").at(0).at("message");
  EXPECT_EQ(out.reasoning, message.at("reasoning").as_string());
  EXPECT_EQ(out.content, message.at("content").as_string());
  EXPECT_GT(out.usage.total_tokens, 0);
}

TEST(ClientReader, ARecordedAnthropicStreamOfTwoToolCallsComesThroughItsDecoderAsTypedEvents) {
  Reading reading;
  // Named references, not a structured binding: clang cannot capture bindings in a lambda.
  [[maybe_unused]] auto& out = reading.out;
  [[maybe_unused]] auto& seen = reading.seen;
  [[maybe_unused]] auto& assembler = reading.assembler;
  [[maybe_unused]] auto& reader = reading.reader;
  auto decoder = providers::make_anthropic_decoder();
  http::SseParser sse;
  sse.feed(fixture("anthropic/stream-tool-use-two-calls.sse.txt"), [&](const http::SseEvent& e) {
    EXPECT_TRUE(decoder->decode_event(e, reader));
    return true;
  });
  EXPECT_TRUE(reader.done());
  EXPECT_FALSE(reader.error());
  ASSERT_EQ(out.tool_calls.size(), 2u);
  for (const auto& call : out.tool_calls) {
    EXPECT_FALSE(call.id.empty());
    EXPECT_FALSE(call.name.empty());
    EXPECT_TRUE(boost::json::parse(call.arguments).is_object()) << call.arguments;
  }
  EXPECT_EQ(out.finish_reason, "tool_calls");
  EXPECT_GT(out.usage.completion_tokens, 0);
  EXPECT_EQ(std::count(seen.types.begin(), seen.types.end(), StreamEvent::Type::tool_call), 2);
}

TEST(ClientReader, CanonicalReasoningAndErrorsAreUnescapedAndKept) {
  Reading reading;
  // Named references, not a structured binding: clang cannot capture bindings in a lambda.
  [[maybe_unused]] auto& out = reading.out;
  [[maybe_unused]] auto& seen = reading.seen;
  [[maybe_unused]] auto& assembler = reading.assembler;
  [[maybe_unused]] auto& reader = reading.reader;
  providers::StreamEvent e;
  e.kind = providers::StreamEvent::Kind::reasoning;
  e.text = R"(step one\nthen \"two\")";
  reader.on_event(e);
  e.kind = providers::StreamEvent::Kind::error;
  e.error_type = "overloaded_error";
  e.text = R"(Overloaded \u2014 retry)";
  reader.on_event(e);
  EXPECT_EQ(out.reasoning, "step one\nthen \"two\"");
  ASSERT_EQ(seen.types.size(), 1u);
  EXPECT_EQ(seen.types[0], StreamEvent::Type::reasoning);
  ASSERT_TRUE(reader.error());
  EXPECT_EQ(reader.error()->first, "overloaded_error");
  EXPECT_EQ(reader.error()->second, "Overloaded \xE2\x80\x94 retry");
}

}  // namespace
}  // namespace llmux::client_detail
