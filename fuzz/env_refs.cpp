// ${VAR} references in config strings (core/env_refs.hpp) and two of their users: expansion
// (config) and the softening of unset references (store). Properties: the pieces cover the
// text exactly, in order; a reference piece is "${" name [":-" fallback] "}"; expansion of text
// without references only turns "$${" into "${"; softened text has no reference left that
// expansion would refuse as unset, and the same pieces otherwise.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/env_refs.hpp"
#include "fuzz_support.hpp"
#include "llmux/config.hpp"
#include "store/yaml_util.hpp"

namespace {

using llmux::EnvPiece;

std::vector<EnvPiece> pieces_of(std::string_view text) {
  std::vector<EnvPiece> pieces;
  llmux::for_each_env_piece(text, [&](const EnvPiece& piece) {
    pieces.push_back(piece);
    return true;
  });
  return pieces;
}

bool valid_name(std::string_view name) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !letter(name.front())) return false;
  for (char c : name)
    if (!letter(c) && !digit(c)) return false;
  return true;
}

bool unset_without_default(const EnvPiece& piece) {
  return piece.kind == EnvPiece::Kind::reference && !piece.fallback &&
         std::getenv(std::string(piece.name).c_str()) == nullptr;
}

void check_pieces(std::string_view text, const std::vector<EnvPiece>& pieces) {
  std::string joined;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const EnvPiece& piece = pieces[i];
    LLMUX_FUZZ_CHECK(!piece.raw.empty());
    LLMUX_FUZZ_CHECK(piece.raw.data() == text.data() + joined.size());  // a view, in order
    joined.append(piece.raw);
    switch (piece.kind) {
      case EnvPiece::Kind::text:
        LLMUX_FUZZ_CHECK(piece.raw.find("${") == std::string_view::npos);
        break;
      case EnvPiece::Kind::escape:
        LLMUX_FUZZ_CHECK(piece.raw == "$${");
        break;
      case EnvPiece::Kind::unterminated:
        LLMUX_FUZZ_CHECK(i + 1 == pieces.size());
        LLMUX_FUZZ_CHECK(piece.raw.substr(0, 2) == "${" && piece.raw.find('}') == std::string_view::npos);
        break;
      case EnvPiece::Kind::reference: {
        std::string rebuilt = "${" + std::string(piece.name);
        if (piece.fallback) rebuilt += ":-" + std::string(*piece.fallback);
        rebuilt += "}";
        LLMUX_FUZZ_CHECK(piece.raw == rebuilt);
        LLMUX_FUZZ_CHECK(piece.raw.find('}') == piece.raw.size() - 1);
        break;
      }
    }
  }
  LLMUX_FUZZ_CHECK(joined == text);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setenv("LLMUX_FUZZ_KEY", "sk-fuzz-0000", 1);
  setenv("LLMUX_FUZZ_EMPTY", "", 1);
  setenv("LLMUX_FUZZ_DOLLAR", "$${X}", 1);  // a value is not expanded again
  unsetenv("LLMUX_FUZZ_UNSET");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = llmux::fuzz::as_text(data, size);
  std::vector<EnvPiece> pieces = pieces_of(text);
  check_pieces(text, pieces);

  // Stopping early: on_piece returning false ends the walk at once.
  size_t calls = 0;
  llmux::for_each_env_piece(text, [&](const EnvPiece&) { return ++calls < 2; });
  LLMUX_FUZZ_CHECK(calls == std::min<size_t>(pieces.size(), 2));

  auto expanded = llmux::expand_env(text);
  bool has_reference = false;
  for (const EnvPiece& piece : pieces)
    has_reference |= piece.kind == EnvPiece::Kind::reference || piece.kind == EnvPiece::Kind::unterminated;
  if (!has_reference) {
    std::string expected;
    for (const EnvPiece& piece : pieces) expected += piece.kind == EnvPiece::Kind::escape ? "${" : piece.raw;
    LLMUX_FUZZ_CHECK(expanded.has_value() && expanded.value() == expected);
  } else if (!expanded) {
    LLMUX_FUZZ_CHECK(!expanded.error().empty());
  }

  // Softening rewrites exactly the references expansion would refuse as unset: "${NAME}" with a
  // valid NAME that is not set becomes "${NAME:-}"; every other piece stays as written.
  std::string softened = llmux::store::soften_unset_refs(text);
  std::vector<EnvPiece> softened_pieces = pieces_of(softened);
  check_pieces(softened, softened_pieces);
  LLMUX_FUZZ_CHECK(softened_pieces.size() == pieces.size());
  for (size_t i = 0; i < pieces.size(); ++i) {
    const EnvPiece& before = pieces[i];
    const EnvPiece& after = softened_pieces[i];
    LLMUX_FUZZ_CHECK(after.kind == before.kind);
    if (unset_without_default(before) && valid_name(before.name))
      LLMUX_FUZZ_CHECK(after.raw == "${" + std::string(before.name) + ":-}");
    else
      LLMUX_FUZZ_CHECK(after.raw == before.raw);
  }
  return 0;
}
