// An OpenAI chat stream reassembled the way the openai SDKs do, for the tests that run clients
// through the gateway to translating adapters.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "harness.hpp"

namespace llmux::test {

struct StreamResult {
  std::string text, finish, role;
  std::string reasoning;  // the reasoning_content deltas joined
  struct Call {
    std::string id, name, arguments;
  };
  std::vector<Call> calls;
  boost::json::object usage;
  bool done = false;
  boost::json::object error;
};

// Reassembles an OpenAI stream the way the openai SDKs do; every event must be JSON.
inline StreamResult read_stream(const std::string& body) {
  StreamResult s;
  for (const auto& data : sse_data(body)) {
    EXPECT_FALSE(s.done) << "event after [DONE]: " << data;
    if (data == "[DONE]") {
      s.done = true;
      continue;
    }
    auto chunk = boost::json::parse(data).as_object();
    if (auto* e = chunk.if_contains("error")) {
      s.error = e->as_object();
      continue;
    }
    // Azure opens its streams with an annotation-only chunk: no choices, and "object":"".
    if (!(chunk.at("object").as_string().empty() && chunk.at("choices").as_array().empty()))
      EXPECT_EQ(chunk.at("object").as_string(), "chat.completion.chunk");
    if (auto* u = chunk.if_contains("usage"); u && u->is_object()) s.usage = u->as_object();
    for (const auto& c : chunk.at("choices").as_array()) {
      const auto& delta = c.at("delta").as_object();
      if (auto* r = delta.if_contains("role")) s.role = r->as_string();
      if (auto* t = delta.if_contains("content"); t && t->is_string()) s.text += t->as_string();
      if (auto* t = delta.if_contains("reasoning_content"); t && t->is_string()) s.reasoning += t->as_string();
      if (auto* calls = delta.if_contains("tool_calls")) {
        for (const auto& call : calls->as_array()) {
          auto index = call.at("index").to_number<size_t>();
          if (index >= s.calls.size()) s.calls.resize(index + 1);
          if (auto* id = call.as_object().if_contains("id")) s.calls[index].id = id->as_string();
          const auto& fn = call.at("function").as_object();
          if (auto* n = fn.if_contains("name")) s.calls[index].name = n->as_string();
          if (auto* a = fn.if_contains("arguments")) s.calls[index].arguments += a->as_string();
        }
      }
      if (!c.at("finish_reason").is_null()) s.finish = c.at("finish_reason").as_string();
    }
  }
  return s;
}

}  // namespace llmux::test
