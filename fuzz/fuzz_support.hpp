// Helpers shared by the fuzz targets: a property check that libFuzzer reports as a crash, and
// the split of one input into the pieces a socket might deliver it in.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace llmux::fuzz {

// A broken property aborts: libFuzzer saves the input and prints the stack like for a crash.
[[noreturn]] inline void property_failed(const char* what, const char* file, int line) {
  std::fprintf(stderr, "\nproperty violated at %s:%d: %s\n", file, line, what);
  std::abort();
}

#define LLMUX_FUZZ_CHECK(condition) \
  ((condition) ? void() : ::llmux::fuzz::property_failed(#condition, __FILE__, __LINE__))

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Cuts `text` into pieces whose lengths come from a generator seeded with the text's own hash.
// The corpus stays plain text (fixtures and hand-written seeds work as they are), an input always
// splits the same way (a crash reproduces), and every mutation splits differently. Lengths are
// mostly tiny, so separators such as "\r\n" regularly straddle two pieces.
inline std::vector<std::string_view> split_pieces(std::string_view text) {
  uint64_t state = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) state = (state ^ c) * 1099511628211ull;
  auto next = [&state] {  // splitmix64
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  static constexpr size_t kLengths[] = {1, 1, 2, 3, 5, 8, 13, 64, 512};
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = kLengths[next() % (sizeof kLengths / sizeof kLengths[0])];
    if (length > text.size() - pos) length = text.size() - pos;
    pieces.push_back(text.substr(pos, length));
    pos += length;
  }
  return pieces;
}

}  // namespace llmux::fuzz
