// The library's request as an OpenAI chat-completions body: the canonical form every adapter
// encodes from, so a library call reaches each provider exactly as a gateway client's would.
#include <boost/json.hpp>

#include "llmux/client.hpp"

namespace llmux {

namespace bjson = boost::json;

namespace {

bjson::value message_content(const ChatMessage& m) {
  if (m.parts.empty()) {
    // An assistant turn of tool calls alone has no text: null, as OpenAI writes it.
    if (m.content.empty() && !m.tool_calls.empty()) return nullptr;
    return bjson::value(m.content);
  }
  bjson::array parts;
  for (const auto& p : m.parts) {
    if (p.type == ContentPart::Type::text) {
      parts.push_back(bjson::object{{"type", "text"}, {"text", p.text}});
      continue;
    }
    bjson::object image{{"url", p.url}};
    if (!p.detail.empty()) image["detail"] = p.detail;
    parts.push_back(bjson::object{{"type", "image_url"}, {"image_url", std::move(image)}});
  }
  return parts;
}

bjson::value parameters_of(const ToolDefinition& tool) {
  boost::system::error_code ec;
  auto parsed = bjson::parse(tool.parameters, ec);
  if (ec || !parsed.is_object()) return bjson::object{};
  return parsed;
}

bjson::value tool_choice_of(const std::string& choice) {
  if (choice == "auto" || choice == "none" || choice == "required") return bjson::value(choice);
  return bjson::object{{"type", "function"}, {"function", bjson::object{{"name", choice}}}};
}

}  // namespace

std::string chat_request_body(const ChatRequest& r, bool stream) {
  bjson::object body;
  bjson::array messages;
  for (const auto& m : r.messages) {
    bjson::object message{{"role", m.role}, {"content", message_content(m)}};
    if (!m.tool_calls.empty()) {
      bjson::array calls;
      for (const auto& c : m.tool_calls)
        calls.push_back(bjson::object{{"id", c.id},
                                      {"type", "function"},
                                      {"function", bjson::object{{"name", c.name}, {"arguments", c.arguments}}}});
      message["tool_calls"] = std::move(calls);
    }
    if (!m.tool_call_id.empty()) message["tool_call_id"] = m.tool_call_id;
    messages.push_back(std::move(message));
  }
  body["model"] = r.model;
  body["messages"] = std::move(messages);
  if (r.temperature) body["temperature"] = *r.temperature;
  if (r.max_tokens) body["max_tokens"] = *r.max_tokens;
  if (!r.tools.empty()) {
    bjson::array tools;
    for (const auto& t : r.tools) {
      bjson::object function{{"name", t.name}, {"parameters", parameters_of(t)}};
      if (!t.description.empty()) function["description"] = t.description;
      tools.push_back(bjson::object{{"type", "function"}, {"function", std::move(function)}});
    }
    body["tools"] = std::move(tools);
  }
  if (!r.tool_choice.empty()) body["tool_choice"] = tool_choice_of(r.tool_choice);
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = bjson::object{{"include_usage", true}};
  }
  return bjson::serialize(body);
}

}  // namespace llmux
