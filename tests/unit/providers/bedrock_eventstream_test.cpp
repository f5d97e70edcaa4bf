// AWS event-stream framing (providers/bedrock/eventstream): the recorded ConverseStream bodies
// (shared/fixtures/providers/bedrock/*.eventstream.bin, and the base64 one) decode to the messages
// their .decoded.jsonl lists (derived by the corpus, not by this code), at every split of the
// bytes; any flipped byte is refused by one of the CRCs, and bad lengths are refused unread.
#include "providers/bedrock/eventstream.hpp"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "providers/bedrock/crc32.hpp"
#include "providers/bedrock/eventstream_writer.hpp"

namespace llmux::providers::bedrock {
namespace {

namespace bj = boost::json;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/bedrock/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string base64_decoded(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  EXPECT_GE(n, 0);
  out.resize(static_cast<size_t>(n) - (text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0));
  return out;
}

// {"headers":{…},"payload":…} per message, as the .decoded.jsonl files write them.
struct Decoded {
  std::vector<bj::value> messages;
  std::string failure;
  size_t left_over = 0;
};

Decoded decode_split(std::string_view bytes, size_t at, EventStreamDecoder& decoder) {
  decoder.reset();
  Decoded d;
  auto on_message = [&](const EventStreamMessage& m) {
    bj::object headers;
    for (size_t i = 0; i < m.header_count; ++i) headers[m.headers[i].name] = m.headers[i].value;
    boost::system::error_code ec;
    bj::value payload = bj::parse(m.payload, ec);
    EXPECT_FALSE(ec) << m.payload;
    d.messages.push_back(bj::object{{"headers", headers}, {"payload", payload}});
    return true;
  };
  at = std::min(at, bytes.size());
  if (decoder.feed(bytes.substr(0, at), on_message)) decoder.feed(bytes.substr(at), on_message);
  d.failure = std::string(decoder.failure());
  d.left_over = decoder.buffered();
  return d;
}

std::vector<bj::value> jsonl_values(const std::string& text) {
  std::vector<bj::value> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.push_back(bj::parse(line));
  return out;
}

class RecordedEventStream : public ::testing::TestWithParam<const char*> {};

TEST_P(RecordedEventStream, DecodesToTheCorpusMessagesAtEverySplit) {
  std::string name = GetParam();
  std::string bytes = fixture(name + ".eventstream.bin");
  auto want = jsonl_values(fixture(name + ".decoded.jsonl"));
  ASSERT_GT(want.size(), 10u);
  EventStreamDecoder decoder;
  Decoded whole = decode_split(bytes, bytes.size(), decoder);
  EXPECT_EQ(whole.failure, "");
  EXPECT_EQ(whole.left_over, 0u);
  ASSERT_EQ(whole.messages, want);
  for (size_t at = 0; at <= bytes.size(); ++at) {
    Decoded split = decode_split(bytes, at, decoder);
    ASSERT_EQ(split.failure, "") << "split at " << at;
    ASSERT_EQ(split.messages, want) << "split at " << at;
  }
}

INSTANTIATE_TEST_SUITE_P(Bedrock, RecordedEventStream,
                         ::testing::Values("converse-stream-text", "converse-stream-tool-use",
                                           "converse-stream-reasoning"));

TEST(EventStream, TheRecordedExceptionFrameCarriesItsTypeAndPayload) {
  std::string bytes = base64_decoded(fixture("converse-stream-model-stream-error.eventstream.base64.txt"));
  EventStreamDecoder decoder;
  Decoded d = decode_split(bytes, bytes.size(), decoder);
  ASSERT_EQ(d.failure, "");
  ASSERT_EQ(d.messages.size(), 1u);
  auto& headers = d.messages[0].at("headers").as_object();
  EXPECT_EQ(headers.at(":message-type"), "exception");
  EXPECT_EQ(headers.at(":exception-type"), "modelStreamErrorException");
  EXPECT_EQ(d.messages[0].at("payload").at("originalStatusCode"), 500);

  std::string name;
  decoder.reset();
  decoder.feed(bytes, [&](const EventStreamMessage& m) {
    http::SseEvent e = as_sse_event(m, name);
    EXPECT_EQ(e.event, "exception:modelStreamErrorException");
    EXPECT_EQ(e.data, m.payload);
    return true;
  });
}

TEST(EventStream, AFlippedByteAnywhereIsRefusedByACrc) {
  std::string bytes = fixture("converse-stream-text.eventstream.bin");
  EventStreamDecoder decoder;
  uint32_t first_length = static_cast<uint32_t>(static_cast<unsigned char>(bytes[2]) << 8 |
                                                static_cast<unsigned char>(bytes[3]));
  ASSERT_GT(first_length, 16u);
  // Every byte of the first message: prelude (lengths and CRC), headers, payload, message CRC.
  for (size_t at = 0; at < first_length; ++at) {
    std::string corrupt = bytes;
    corrupt[at] = static_cast<char>(corrupt[at] ^ 0x20);
    Decoded d = decode_split(corrupt, corrupt.size(), decoder);
    EXPECT_TRUE(d.messages.empty()) << "byte " << at;
    std::string_view want = at < 12 ? "event-stream prelude CRC mismatch" : "event-stream message CRC mismatch";
    EXPECT_EQ(d.failure, want) << "byte " << at;
  }
  // A corrupt later message: the ones before it came out, nothing after, and feeding stops.
  std::string corrupt = bytes;
  corrupt[first_length + 40] ^= 1;
  Decoded d = decode_split(corrupt, corrupt.size(), decoder);
  EXPECT_EQ(d.messages.size(), 1u);
  EXPECT_EQ(d.failure, "event-stream message CRC mismatch");
  EXPECT_FALSE(decoder.feed(bytes, [](const EventStreamMessage&) { return true; }));
}

// A prelude with a valid CRC over lengths that cannot be.
std::string prelude(uint32_t total, uint32_t headers) {
  std::string p;
  for (uint32_t v : {total, headers})
    for (int s = 24; s >= 0; s -= 8) p.push_back(static_cast<char>((v >> s) & 0xFF));
  uint32_t crc = crc32(p);
  for (int s = 24; s >= 0; s -= 8) p.push_back(static_cast<char>((crc >> s) & 0xFF));
  return p;
}

TEST(EventStream, LengthsAreBoundedBeforeAnythingIsBuffered) {
  EventStreamDecoder decoder;
  auto any = [](const EventStreamMessage&) { return true; };
  EXPECT_FALSE(decoder.feed(prelude(EventStreamDecoder::kMaxMessageBytes + 1, 0), any));
  EXPECT_EQ(decoder.failure(), "event-stream message length out of bounds");
  EXPECT_EQ(decoder.buffered(), 0u);
  decoder.reset();
  EXPECT_FALSE(decoder.feed(prelude(15, 0), any));
  EXPECT_EQ(decoder.failure(), "event-stream message length out of bounds");
  decoder.reset();
  EXPECT_FALSE(decoder.feed(prelude(100, 85), any));
  EXPECT_EQ(decoder.failure(), "event-stream headers length past the end of the message");
  decoder.reset();
  // Split inside the prelude: judged as soon as the 12 bytes are there.
  std::string p = prelude(1u << 30, 0);
  EXPECT_TRUE(decoder.feed(p.substr(0, 5), any));
  EXPECT_FALSE(decoder.feed(p.substr(5), any));
  EXPECT_TRUE(decoder.failed());
}

// A message with headers of every value type (checked and skipped but the strings), CRCs written.
std::string message_with_typed_headers(std::string_view last_header_tail) {
  std::string headers;
  auto header = [&](std::string_view name, char type, std::string_view value) {
    headers.push_back(static_cast<char>(name.size()));
    headers.append(name);
    headers.push_back(type);
    headers.append(value);
  };
  header("t", 0, "");
  header("f", 1, "");
  header("b", 2, std::string(1, 'x'));
  header("s", 3, std::string(2, 'x'));
  header("i", 4, std::string(4, 'x'));
  header("l", 5, std::string(8, 'x'));
  header("bytes", 6, std::string("\0\3abc", 5));
  header(":event-type", 7, std::string("\0\x0cmessageStart", 14));
  header("ts", 8, std::string(8, 'x'));
  header("id", 9, std::string(16, 'x'));
  headers.append(last_header_tail);
  std::string payload = "{\"role\":\"assistant\"}";
  std::string out = prelude(static_cast<uint32_t>(16 + headers.size() + payload.size()),
                            static_cast<uint32_t>(headers.size()));
  out += headers;
  out += payload;
  uint32_t crc = crc32(out);
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((crc >> s) & 0xFF));
  return out;
}

TEST(EventStream, EveryHeaderValueTypeIsSkippedAndStringsAreExposed) {
  EventStreamDecoder decoder;
  std::string bytes = message_with_typed_headers("");
  int seen = 0;
  ASSERT_TRUE(decoder.feed(bytes, [&](const EventStreamMessage& m) {
    ++seen;
    EXPECT_EQ(m.header_count, 1u);
    EXPECT_EQ(m.header(":event-type"), "messageStart");
    EXPECT_EQ(m.payload, "{\"role\":\"assistant\"}");
    return true;
  }));
  EXPECT_EQ(seen, 1);
  // A value type the framing does not have, and a string whose length runs past the headers.
  for (std::string tail : {std::string("\1z\x0a"), std::string("\1z\7\0\x7f", 5), std::string("\x09zz", 3)}) {
    decoder.reset();
    EXPECT_FALSE(decoder.feed(message_with_typed_headers(tail), [](const EventStreamMessage&) { return true; }));
    EXPECT_TRUE(decoder.failed()) << tail.size();
  }
}

TEST(EventStream, WrittenMessagesReadBackAndMapToEvents) {
  std::string bytes;
  append_event(bytes, "contentBlockDelta", "{\"delta\":{\"text\":\"hi\"}}");
  append_exception(bytes, "throttlingException", "{\"message\":\"slow down\"}");
  append_event_stream_message(bytes, {{":message-type", "error"}, {":error-code", "InternalFailure"},
                                      {":error-message", "it broke"}}, "");
  std::vector<std::pair<std::string, std::string>> events;
  std::string name;
  EventStreamDecoder decoder;
  ASSERT_TRUE(decoder.feed(bytes, [&](const EventStreamMessage& m) {
    http::SseEvent e = as_sse_event(m, name);
    events.emplace_back(e.event, e.data);
    return true;
  }));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], std::make_pair(std::string("contentBlockDelta"), std::string("{\"delta\":{\"text\":\"hi\"}}")));
  EXPECT_EQ(events[1], std::make_pair(std::string("exception:throttlingException"),
                                      std::string("{\"message\":\"slow down\"}")));
  EXPECT_EQ(events[2], std::make_pair(std::string("error:InternalFailure"), std::string("it broke")));
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);  // the standard check value of CRC-32
}

}  // namespace
}  // namespace llmux::providers::bedrock
