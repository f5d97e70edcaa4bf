#include "server/chunk_shape.hpp"

#include <cstring>

#include <simdjson.h>

namespace llmux::server {

namespace {

bool is_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

bool is_json_string_body(std::string_view body) noexcept {
  bool ascii = true;
  for (size_t i = 0; i < body.size(); ++i) {
    auto c = static_cast<unsigned char>(body[i]);
    if (c == '"' || c < 0x20) return false;
    if (c >= 0x80) ascii = false;
    if (c != '\\') continue;
    if (++i == body.size()) return false;
    switch (body[i]) {
      case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
      case 'u': {
        if (body.size() - i < 5) return false;
        for (size_t h = 1; h <= 4; ++h)
          if (!is_hex(body[i + h])) return false;
        char first = body[i + 1];
        if ((first == 'd' || first == 'D') && body[i + 2] >= '8') return false;  // a surrogate half: D800-DFFF
        i += 4;
        break;
      }
      default: return false;
    }
  }
  return ascii || simdjson::validate_utf8(body.data(), body.size());
}

void ChunkShape::learn(std::string_view chunk, std::string_view text) {
  auto at = static_cast<size_t>(text.data() - chunk.data());
  if (chunk.size() >= kUnknown) return forget();  // no event is that large; a shape is only a shortcut
  around_.assign(chunk.substr(0, at));
  around_.append(chunk.substr(at + text.size()));
  text_at_ = static_cast<uint32_t>(at);
}

std::optional<std::string_view> ChunkShape::text_of(std::string_view chunk) const noexcept {
  if (text_at_ == kUnknown || chunk.size() < around_.size()) return std::nullopt;
  size_t after = around_.size() - text_at_;
  size_t text_size = chunk.size() - around_.size();
  if (std::memcmp(chunk.data(), around_.data(), text_at_) != 0 ||
      std::memcmp(chunk.data() + text_at_ + text_size, around_.data() + text_at_, after) != 0)
    return std::nullopt;
  std::string_view text = chunk.substr(text_at_, text_size);
  if (!is_json_string_body(text)) return std::nullopt;
  return text;
}

}  // namespace llmux::server
