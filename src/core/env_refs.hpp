// The ${VAR} / ${VAR:-default} / $${ grammar of config strings, in one place: expanding,
// listing and softening references must agree on what a reference is.
#pragma once

#include <optional>
#include <string_view>

namespace llmux {

struct EnvPiece {
  enum class Kind {
    text,          // literal text
    escape,        // "$${": a literal "${"
    reference,     // "${NAME}" or "${NAME:-fallback}"
    unterminated,  // "${" with no closing brace: the rest of the text
  };
  Kind kind;
  std::string_view raw;                      // the piece exactly as written
  std::string_view name;                     // reference: the variable name as written
  std::optional<std::string_view> fallback;  // reference: the text after ":-"
};

// Calls on_piece(const EnvPiece&) for each piece of `text`, in order; stops early when it
// returns false. An unterminated piece is always the last.
template <typename OnPiece>
void for_each_env_piece(std::string_view text, OnPiece&& on_piece) {
  size_t i = 0;
  while (i < text.size()) {
    size_t dollar = text.find('$', i);
    while (dollar != std::string_view::npos && text.substr(dollar, 2) != "${" && text.substr(dollar, 3) != "$${")
      dollar = text.find('$', dollar + 1);
    if (dollar != i) {
      size_t end = dollar == std::string_view::npos ? text.size() : dollar;
      if (!on_piece(EnvPiece{EnvPiece::Kind::text, text.substr(i, end - i), {}, {}})) return;
      i = end;
      continue;
    }
    if (text.substr(i, 3) == "$${") {
      if (!on_piece(EnvPiece{EnvPiece::Kind::escape, text.substr(i, 3), {}, {}})) return;
      i += 3;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      on_piece(EnvPiece{EnvPiece::Kind::unterminated, text.substr(i), {}, {}});
      return;
    }
    std::string_view body = text.substr(i + 2, close - i - 2);
    size_t sep = body.find(":-");
    EnvPiece piece{EnvPiece::Kind::reference, text.substr(i, close + 1 - i), body.substr(0, sep), {}};
    if (sep != std::string_view::npos) piece.fallback = body.substr(sep + 2);
    if (!on_piece(piece)) return;
    i = close + 1;
  }
}

}  // namespace llmux
