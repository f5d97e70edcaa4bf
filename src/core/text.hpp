// Small ASCII text helpers shared by config, routing, the server and the upstream client.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmux {

bool iequals(std::string_view a, std::string_view b);
// Case-insensitive prefix test.
bool istarts_with(std::string_view text, std::string_view prefix);
std::string to_lower(std::string_view text);
// `text` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim_whitespace(std::string_view text) noexcept;

// Optimal string alignment distance: a transposition ("prot" -> "port") counts as one edit.
// Case-sensitive; lower-case both sides first for a case-insensitive distance.
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace llmux
