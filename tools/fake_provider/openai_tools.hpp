// Tool calls of the fake OpenAI chat API: offered tools are called (once, with arguments sampled
// from the function's JSON schema) unless tool_choice is "none" or the conversation's last message
// is a tool result, which is answered in text so a tool loop ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace llmux::fake {

struct OpenAiToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, as text
};

std::optional<OpenAiToolCall> openai_tool_call(const boost::json::object& req, std::uint64_t id);

// The tool_calls array of a whole message, and the deltas a stream carries it in: one opening
// the call (id, name, empty arguments), then the arguments in `pieces` pieces.
std::string tool_calls_json(const OpenAiToolCall& call);
std::vector<std::string> tool_call_deltas(const OpenAiToolCall& call, int pieces);

}  // namespace llmux::fake
