// Writing JSON text by hand where a DOM would be waste (request rewriting, config to JSON).
#pragma once

#include <string>
#include <string_view>

namespace llmux {

// Appends `text` as a JSON string literal, quotes included.
void append_json_string(std::string& out, std::string_view text);

}  // namespace llmux
