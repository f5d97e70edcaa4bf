// What a provider has no setting for is a 400 naming the field, never dropped: each translating
// adapter against the OpenAI fields the others carry (seed, penalties, logit_bias, logprobs,
// parallel_tool_calls false). A field that asks for the default (null, false, {}, a penalty of 0)
// passes, since leaving it out means the same.
#include <gtest/gtest.h>

#include <functional>

#include "providers/anthropic/anthropic.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/cohere/cohere.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/ollama/ollama.hpp"

namespace llmux::providers {
namespace {

using Translate = std::function<Expected<void, Error>(std::string_view body, std::string& out)>;

struct Adapter {
  const char* name;
  Translate translate;
  std::vector<const char*> refused;  // fields this adapter has no setting for
};

std::vector<Adapter> adapters() {
  return {
      {"anthropic",
       [](std::string_view b, std::string& out) { return translate_chat_request(b, "claude-x", false, {}, out); },
       {"seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs"}},
      {"vertex claude",
       [](std::string_view b, std::string& out) {
         return translate_vertex_chat_request(b, {"vertex-2023-10-16", ""}, false, {}, out);
       },
       {"seed", "presence_penalty", "logit_bias", "top_logprobs"}},
      {"bedrock",
       [](std::string_view b, std::string& out) { return translate_bedrock_request(b, "amazon.nova-micro-v1:0", {}, out); },
       {"seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls"}},
      {"gemini",
       [](std::string_view b, std::string& out) { return translate_gemini_request(b, "gemini-2.5-flash", {}, out); },
       {"logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls"}},
      {"cohere",
       [](std::string_view b, std::string& out) { return translate_cohere_chat_request(b, "command-a", false, {}, out); },
       {"logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls"}},
      {"ollama",
       [](std::string_view b, std::string& out) { return translate_ollama_chat_request(b, "qwen3", false, {}, out); },
       {"logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls"}},
  };
}

// A value that sets each field (parallel_tool_calls is set by false: true is its default).
std::string setting(std::string_view field) {
  if (field == "logprobs") return "true";
  if (field == "parallel_tool_calls") return "false";
  if (field == "logit_bias") return R"({"50256":-100})";
  if (field.ends_with("_penalty")) return "0.5";
  return "3";
}

std::string body_with(std::string_view member) {
  return std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}])") +
         (member.empty() ? "" : ",") + std::string(member) + "}";
}

TEST(InexpressibleSettings, AreA400NamingTheFieldForEveryTranslatingAdapter) {
  for (const Adapter& a : adapters()) {
    std::string out;
    ASSERT_TRUE(a.translate(body_with(""), out)) << a.name;
    for (const char* field : a.refused) {
      out.clear();
      auto done = a.translate(body_with("\"" + std::string(field) + "\":" + setting(field)), out);
      ASSERT_FALSE(done) << a.name << " dropped " << field << ": " << out;
      EXPECT_EQ(done.error().param, field) << a.name;
      EXPECT_EQ(done.error().http_status, 400) << a.name;
    }
  }
}

TEST(InexpressibleSettings, AFieldThatAsksForTheDefaultPasses) {
  for (const Adapter& a : adapters()) {
    for (const char* member : {R"("seed":null)", R"("presence_penalty":0)", R"("frequency_penalty":0.0)",
                               R"("logit_bias":{})", R"("logprobs":false)", R"("parallel_tool_calls":true)"}) {
      std::string out;
      auto done = a.translate(body_with(member), out);
      EXPECT_TRUE(done) << a.name << " refused " << member << ": " << (done ? "" : done.error().message);
    }
  }
}

TEST(InexpressibleSettings, WhatTheProviderHasIsTranslatedNotRefused) {
  // Seeds and penalties exist in Gemini's, Cohere's and Ollama's own terms.
  for (const Adapter& a : adapters()) {
    if (std::string_view(a.name) != "gemini" && std::string_view(a.name) != "cohere" &&
        std::string_view(a.name) != "ollama")
      continue;
    std::string out;
    auto done = a.translate(body_with(R"("seed":7,"presence_penalty":0.5,"frequency_penalty":0.25)"), out);
    ASSERT_TRUE(done) << a.name << ": " << done.error().message;
    EXPECT_NE(out.find("7"), std::string::npos) << a.name << ": " << out;
    EXPECT_NE(out.find("0.25"), std::string::npos) << a.name << ": " << out;
  }
}

}  // namespace
}  // namespace llmux::providers
