// What an OpenAI client makes of a translated response, for the tests of the adapters that
// translate other providers' wire formats: a stream of chunks assembled into one answer, checked
// to be valid JSON all along.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "http/sse.hpp"

namespace llmux::providers::test {

namespace bj = boost::json;

struct Assembled {
  std::string id, model, text, reasoning, finish;
  struct Call {
    std::string id, name, arguments;
  };
  std::vector<Call> calls;
  int64_t prompt_tokens = -1, completion_tokens = -1;
  bool done = false;
  std::string error_type, error_message;
};

// What an OpenAI client makes of the translated stream; every event must be valid JSON.
inline Assembled assemble_openai(const std::string& sse) {
  Assembled a;
  http::SseParser parser;
  parser.feed(sse, [&](const http::SseEvent& event) {
    EXPECT_FALSE(a.done) << "event after [DONE]";
    if (event.data == "[DONE]") {
      a.done = true;
      return true;
    }
    boost::system::error_code ec;
    auto v = bj::parse(event.data, ec);
    EXPECT_FALSE(ec) << event.data;
    if (ec) return true;
    auto& o = v.as_object();
    if (auto* err = o.if_contains("error")) {
      a.error_type = err->as_object().at("type").as_string();
      a.error_message = err->as_object().at("message").as_string();
      return true;
    }
    EXPECT_EQ(o["object"], "chat.completion.chunk");
    a.id = o["id"].as_string();
    a.model = o["model"].as_string();
    if (auto* u = o.if_contains("usage"); u && u->is_object()) {
      a.prompt_tokens = u->as_object().at("prompt_tokens").to_number<int64_t>();
      a.completion_tokens = u->as_object().at("completion_tokens").to_number<int64_t>();
      EXPECT_EQ(u->as_object().at("total_tokens").to_number<int64_t>(), a.prompt_tokens + a.completion_tokens);
    }
    for (auto& c : o["choices"].as_array()) {
      auto& choice = c.as_object();
      auto& delta = choice["delta"].as_object();
      if (auto* t = delta.if_contains("content")) a.text += t->as_string();
      if (auto* t = delta.if_contains("reasoning_content")) a.reasoning += t->as_string();
      if (auto* calls = delta.if_contains("tool_calls")) {
        for (auto& call : calls->as_array()) {
          auto& co = call.as_object();
          auto index = co["index"].to_number<size_t>();
          if (index == a.calls.size()) a.calls.push_back({});
          EXPECT_LT(index, a.calls.size());
          if (index >= a.calls.size()) continue;
          if (auto* id = co.if_contains("id")) a.calls[index].id = id->as_string();
          auto& fn = co["function"].as_object();
          if (auto* name = fn.if_contains("name")) a.calls[index].name = name->as_string();
          if (auto* args = fn.if_contains("arguments")) a.calls[index].arguments += args->as_string();
        }
      }
      if (!choice["finish_reason"].is_null()) a.finish = choice["finish_reason"].as_string();
    }
    return true;
  });
  return a;
}

inline std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  http::SseParser parser;
  parser.feed(body, [&](const http::SseEvent& e) {
    out.emplace_back(e.data);
    return true;
  });
  return out;
}

inline std::vector<std::string> jsonl(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

inline void expect_same(const Assembled& want, const Assembled& got) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.text, want.text);
  EXPECT_EQ(got.reasoning, want.reasoning);
  EXPECT_EQ(got.finish, want.finish);
  ASSERT_EQ(got.calls.size(), want.calls.size());
  for (size_t i = 0; i < want.calls.size(); ++i) {
    EXPECT_EQ(got.calls[i].id, want.calls[i].id);
    EXPECT_EQ(got.calls[i].name, want.calls[i].name);
    EXPECT_EQ(got.calls[i].arguments, want.calls[i].arguments);
  }
  EXPECT_EQ(got.done, want.done);
  EXPECT_EQ(got.prompt_tokens, want.prompt_tokens);
  EXPECT_EQ(got.completion_tokens, want.completion_tokens);
  EXPECT_EQ(got.error_type, want.error_type);
  EXPECT_EQ(got.error_message, want.error_message);
}

}  // namespace llmux::providers::test
