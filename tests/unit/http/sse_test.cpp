#include "http/sse.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <vector>

namespace llmux::http {
namespace {

struct Collected {
  std::string event;
  std::string data;
  bool operator==(const Collected&) const = default;
};

std::vector<Collected> parse_in_pieces(std::string_view text, const std::vector<size_t>& cuts) {
  SseParser parser;
  std::vector<Collected> out;
  size_t prev = 0;
  auto sink = [&](const SseEvent& e) {
    out.push_back({std::string(e.event), std::string(e.data)});
    return true;
  };
  for (size_t cut : cuts) {
    parser.feed(text.substr(prev, cut - prev), sink);
    prev = cut;
  }
  parser.feed(text.substr(prev), sink);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SseParserTest, ParsesEventsDataAndComments) {
  auto events = parse_in_pieces(
      ": keep-alive\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: x\ndata: y\n\n", {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], (Collected{"message_start", "{\"a\":1}"}));
  EXPECT_EQ(events[1], (Collected{"", "x\ny"}));
}

TEST(SseParserTest, HandlesCrLfAndBareCr) {
  auto events = parse_in_pieces("data: a\r\n\r\ndata: b\r\rdata:c\n\n", {});
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "a");
  EXPECT_EQ(events[1].data, "b");
  EXPECT_EQ(events[2].data, "c");
}

TEST(SseParserTest, IncompleteEventIsHeldUntilBlankLine) {
  SseParser parser;
  int count = 0;
  parser.feed("data: partial", [&](const SseEvent&) { return ++count, true; });
  EXPECT_EQ(count, 0);
  EXPECT_GT(parser.buffered(), 0u);
  parser.feed("\n", [&](const SseEvent&) { return ++count, true; });
  EXPECT_EQ(count, 0);
  parser.feed("\n", [&](const SseEvent& e) {
    EXPECT_EQ(e.data, "partial");
    return ++count, true;
  });
  EXPECT_EQ(count, 1);
}

// Issue 12: an open stream between two events holds no data buffer; the event's data is built in
// a buffer lent per thread, which the next event (of any stream on the thread) reuses, and two
// streams interleaved on one thread keep their own incomplete events apart.
TEST(SseParserTest, AParserBetweenEventsHoldsNoDataBufferAndStreamsShareTheLentOne) {
  const std::string payload(300, 'x');  // past any small-string buffer
  const std::string event = "data: " + payload + "\n\n";
  SseParser a, b;
  std::vector<std::string> seen;
  auto sink = [&](const SseEvent& e) {
    seen.emplace_back(e.data);
    return true;
  };
  a.feed(event, sink);
  EXPECT_EQ(a.held_capacity(), 0u);
  const char* lent = nullptr;
  b.feed(event, [&](const SseEvent& e) {
    lent = e.data.data();
    return sink(e);
  });
  EXPECT_EQ(b.held_capacity(), 0u);
  a.feed(event, [&](const SseEvent& e) {
    EXPECT_EQ(e.data.data(), lent);  // the same storage: no allocation once the thread is warm
    return sink(e);
  });
  // Interleaved incomplete events: each parser keeps its own until its blank line.
  a.feed("data: from-a-" + payload, sink);
  b.feed("data: from-b-" + payload + "\n", sink);
  EXPECT_GT(a.held_capacity(), 0u);
  EXPECT_GT(b.held_capacity(), 0u);
  a.feed("\n\n", sink);
  b.feed("\n", sink);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[3], "from-a-" + payload);
  EXPECT_EQ(seen[4], "from-b-" + payload);
  EXPECT_EQ(a.held_capacity(), 0u);
  EXPECT_EQ(b.held_capacity(), 0u);
}

// Every recorded provider stream, cut at every single position and at random multi-cuts, must
// give the same events as the whole body parsed at once.
TEST(SseParserTest, RecordedStreamsSurviveArbitrarySplits) {
  const std::vector<std::string> files = {
      "openai/chat-stream-text-usage.sse.txt", "openai/chat-stream-tool-call.sse.txt",
      "openai/chat-stream-parallel-tool-calls.sse.txt", "anthropic/stream-text.sse.txt",
      "anthropic/stream-tool-use-two-calls.sse.txt", "mistral/chat-stream-thinking.sse.txt"};
  std::mt19937 rng(42);
  for (const auto& name : files) {
    std::string body = read_file(std::string(LLMUX_FIXTURES_DIR) + "/" + name);
    ASSERT_FALSE(body.empty()) << name;
    auto whole = parse_in_pieces(body, {});
    ASSERT_GT(whole.size(), 2u) << name;
    for (size_t cut = 1; cut < body.size(); ++cut)
      ASSERT_EQ(parse_in_pieces(body, {cut}), whole) << name << " cut at " << cut;
    for (int round = 0; round < 200; ++round) {
      std::vector<size_t> cuts;
      for (size_t p = 0; p < body.size();) {
        p += 1 + rng() % 17;
        if (p < body.size()) cuts.push_back(p);
      }
      ASSERT_EQ(parse_in_pieces(body, cuts), whole) << name;
    }
  }
}

TEST(SseParserTest, OpenAIStreamEndsWithDone) {
  std::string body =
      read_file(std::string(LLMUX_FIXTURES_DIR) + "/openai/chat-stream-text-usage.sse.txt");
  auto events = parse_in_pieces(body, {});
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().data, "[DONE]");
}

}  // namespace
}  // namespace llmux::http
