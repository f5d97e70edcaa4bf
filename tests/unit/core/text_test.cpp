#include <gtest/gtest.h>

#include <vector>

#include "core/env_refs.hpp"
#include "core/text.hpp"

namespace llmux {
namespace {

TEST(TextTest, EditDistanceCountsATranspositionAsOneEdit) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
  EXPECT_EQ(edit_distance("ca", "abc"), 3u);  // OSA: no substring edited twice
}

TEST(TextTest, CaseInsensitiveHelpers) {
  EXPECT_TRUE(iequals("Content-Type", "content-type"));
  EXPECT_FALSE(iequals("abc", "abcd"));
  EXPECT_TRUE(istarts_with("Bearer sk-1", "bearer "));
  EXPECT_TRUE(istarts_with("bearer x", "BEARER"));
  EXPECT_FALSE(istarts_with("Bear", "bearer"));
  EXPECT_EQ(to_lower("MiXeD-1"), "mixed-1");
}

std::vector<std::string> pieces(std::string_view text) {
  std::vector<std::string> out;
  for_each_env_piece(text, [&](const EnvPiece& p) {
    static const char* kinds[] = {"text", "escape", "ref", "open"};
    std::string s = std::string(kinds[static_cast<int>(p.kind)]) + ":" + std::string(p.raw);
    if (p.kind == EnvPiece::Kind::reference) {
      s += "|" + std::string(p.name);
      if (p.fallback) s += "|" + std::string(*p.fallback);
    }
    out.push_back(s);
    return true;
  });
  return out;
}

TEST(EnvRefsTest, SplitsTextEscapesReferencesAndUnterminated) {
  EXPECT_EQ(pieces("a $b ${X} $${Y} ${Z:-d}e ${open"),
            (std::vector<std::string>{"text:a $b ", "ref:${X}|X", "text: ", "escape:$${", "text:Y} ",
                                      "ref:${Z:-d}|Z|d", "text:e ", "open:${open"}));
  EXPECT_EQ(pieces("$$${A}"), (std::vector<std::string>{"text:$", "escape:$${", "text:A}"}));
  EXPECT_TRUE(pieces("").empty());
}

}  // namespace
}  // namespace llmux
