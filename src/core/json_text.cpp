#include "core/json_text.hpp"

#include <cstdint>
#include <cstring>

namespace llmux {

namespace {

constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;

// True when any byte of the word is below 0x20, '"' or '\\'. Exact (no false positives) for
// the any-byte question, which is all it is asked: text is checked 8 bytes at a time and
// only a word that needs escaping is looked at byte by byte.
inline bool needs_escape(uint64_t w) {
  uint64_t below_space = (w - kOnes * 0x20) & ~w;
  uint64_t quote = w ^ (kOnes * '"');
  uint64_t backslash = w ^ (kOnes * '\\');
  uint64_t has_quote = (quote - kOnes) & ~quote;
  uint64_t has_backslash = (backslash - kOnes) & ~backslash;
  return ((below_space | has_quote | has_backslash) & kHighs) != 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the stretch that needs no escaping: appended in one go
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if (!needs_escape(word)) {
        i += 8;
        continue;
      }
    }
    size_t end = i + 8 < text.size() ? i + 8 : text.size();
    for (; i < end; ++i) {
      auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out.append(text.data() + run, i - run);
      run = i + 1;
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

}  // namespace llmux
