#include "openai_tools.hpp"

#include <boost/json.hpp>

#include "anthropic.hpp"
#include "reply.hpp"

namespace llmux::fake {
namespace json = boost::json;

namespace {

bool last_is_tool_result(const json::object& req) {
  auto* messages = req.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty()) return false;
  auto* last = messages->get_array().back().if_object();
  return last && str_field(*last, "role") == "tool";
}

}  // namespace

std::optional<OpenAiToolCall> openai_tool_call(const json::object& req, std::uint64_t id) {
  auto* tools = req.if_contains("tools");
  if (!tools || !tools->is_array() || tools->get_array().empty() || last_is_tool_result(req)) return std::nullopt;
  std::string_view wanted;
  if (auto* choice = req.if_contains("tool_choice")) {
    if (choice->is_string() && choice->get_string() == "none") return std::nullopt;
    if (auto* o = choice->if_object())
      if (auto* f = o->if_contains("function"); f && f->is_object()) wanted = str_field(f->get_object(), "name");
  }
  const json::object* function = nullptr;
  for (auto& t : tools->get_array()) {
    auto* tool = t.if_object();
    auto* f = tool ? tool->if_contains("function") : nullptr;
    if (!f || !f->is_object()) continue;
    if (wanted.empty() || str_field(f->get_object(), "name") == wanted) {
      function = &f->get_object();
      break;
    }
  }
  if (!function) return std::nullopt;
  OpenAiToolCall call;
  call.id = "call_fake" + std::to_string(id);
  call.name = str_field(*function, "name");
  auto* schema = function->if_contains("parameters");
  append_object_sample(call.arguments, schema ? schema->if_object() : nullptr, 0);
  return call;
}

std::string tool_calls_json(const OpenAiToolCall& call) {
  std::string out = "[{\"id\":";
  append_str(out, call.id);
  out += ",\"type\":\"function\",\"function\":{\"name\":";
  append_str(out, call.name);
  out += ",\"arguments\":";
  append_str(out, call.arguments);
  out += "}}]";
  return out;
}

std::vector<std::string> tool_call_deltas(const OpenAiToolCall& call, int pieces) {
  std::vector<std::string> out;
  std::string open = "{\"tool_calls\":[{\"index\":0,\"id\":";
  append_str(open, call.id);
  open += ",\"type\":\"function\",\"function\":{\"name\":";
  append_str(open, call.name);
  open += ",\"arguments\":\"\"}}]}";
  out.push_back(std::move(open));
  for (auto piece : split_pieces(call.arguments, pieces)) {
    std::string delta = "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":";
    append_str(delta, piece);
    delta += "}}]}";
    out.push_back(std::move(delta));
  }
  return out;
}

}  // namespace llmux::fake
