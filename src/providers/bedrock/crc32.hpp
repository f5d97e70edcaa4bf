// CRC-32 as zlib computes it (IEEE 802.3, reflected polynomial 0xEDB88320), which AWS's event-stream
// framing uses for its prelude and message checksums. Header-only so the fake provider, which does
// not link the gateway's libraries, frames its streams with the same sums.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace llmux::providers::bedrock {

namespace crc32_detail {

// Slicing-by-4 tables: four bytes per step (a stream's every byte passes through here).
constexpr std::array<std::array<uint32_t, 256>, 4> make_tables() {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][n] = c;
  }
  for (uint32_t n = 0; n < 256; ++n)
    for (size_t s = 1; s < 4; ++s) t[s][n] = (t[s - 1][n] >> 8) ^ t[0][t[s - 1][n] & 0xFF];
  return t;
}

inline constexpr auto kTables = make_tables();

}  // namespace crc32_detail

// Continues a CRC: crc32(b, crc32(a)) == crc32(a + b); crc32("") == 0.
inline uint32_t crc32(std::string_view bytes, uint32_t crc = 0) noexcept {
  const auto& t = crc32_detail::kTables;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size();
  crc = ~crc;
  while (n >= 4) {
    crc ^= static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
           static_cast<uint32_t>(p[3]) << 24;
    crc = t[3][crc & 0xFF] ^ t[2][(crc >> 8) & 0xFF] ^ t[1][(crc >> 16) & 0xFF] ^ t[0][crc >> 24];
    p += 4;
    n -= 4;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

}  // namespace llmux::providers::bedrock
