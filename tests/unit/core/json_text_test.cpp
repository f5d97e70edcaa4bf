#include "core/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <random>

namespace llmux {
namespace {

// The plain byte-at-a-time rule the word-at-a-time scan must agree with.
std::string reference(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string escaped(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(AppendJsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped(""), "\"\"");
  EXPECT_EQ(escaped("plain text, longer than one word"), "\"plain text, longer than one word\"");
  EXPECT_EQ(escaped("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(escaped(std::string("a\0b\x1f\x7f", 5)), "\"a\\u0000b\\u001f\x7f\"");
  EXPECT_EQ(escaped("caf\xC3\xA9 \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");  // UTF-8 as is
}

// Every position within and across 8-byte words, every byte value that needs escaping next to
// bytes that do not (including 0x20, 0x7f and bytes >= 0x80, which sit at the edges of the test).
TEST(AppendJsonString, AgreesWithTheByteRuleAtEveryPositionAndByte) {
  for (size_t length = 0; length <= 24; ++length) {
    for (size_t at = 0; at < length; ++at) {
      for (int b = 0; b < 256; ++b) {
        std::string text(length, 'x');
        text[at] = static_cast<char>(b);
        if (at + 1 < length) text[at + 1] = static_cast<char>(0x80 | (b & 0x7f));
        ASSERT_EQ(escaped(text), reference(text)) << "length " << length << " at " << at << " byte " << b;
      }
    }
  }
  std::mt19937 random(7);
  for (int n = 0; n < 2000; ++n) {
    std::string text(random() % 100, '\0');
    for (auto& c : text) c = static_cast<char>(random() % 4 == 0 ? random() % 0x30 : 0x20 + random() % 0xe0);
    ASSERT_EQ(escaped(text), reference(text));
  }
}

TEST(AppendJsonString, OutputParsesBackToTheInput) {
  std::string text = "line 1\nline 2\t\"quoted\" \\ back\x01 caf\xC3\xA9";
  EXPECT_EQ(boost::json::parse(escaped(text)).as_string(), text);
}

}  // namespace
}  // namespace llmux
