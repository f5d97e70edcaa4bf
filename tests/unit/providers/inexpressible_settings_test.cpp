// What a provider has no setting for is a 400 naming the field, never dropped: each translating
// adapter against the OpenAI fields the others carry (seed, penalties, logit_bias, logprobs,
// parallel_tool_calls false, user, metadata, service_tier, store, modalities, web_search_options,
// safety_identifier, prompt_cache_key, verbosity, audio, prediction, stream_options). A field that
// asks for the default (null, false, {}, a penalty of 0, store false, modalities ["text"], …)
// passes, since leaving it out means the same; a field the provider's drop_params names is left out.
#include <gtest/gtest.h>

#include <functional>
#include <span>
#include <string>

#include "providers/anthropic/anthropic.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/cohere/cohere.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/ollama/ollama.hpp"

namespace llmux::providers {
namespace {

using Dropped = std::span<const std::string>;
using Translate = std::function<Expected<void, Error>(std::string_view body, std::string& out, Dropped dropped)>;

// OpenAI's own services' settings, which no translating adapter has.
const std::vector<const char*> kServiceSettings = {"metadata", "store", "modalities", "web_search_options",
                                                   "prompt_cache_key", "verbosity", "prediction", "audio",
                                                   "stream_options"};

std::vector<const char*> with_service_settings(std::vector<const char*> fields) {
  fields.insert(fields.end(), kServiceSettings.begin(), kServiceSettings.end());
  return fields;
}

std::vector<const char*> without(std::vector<const char*> fields, std::string_view mapped) {
  std::erase_if(fields, [&](const char* f) { return f == mapped; });
  return fields;
}

struct Adapter {
  const char* name;
  Translate translate;
  std::vector<const char*> refused;  // fields this adapter has no setting for
};

std::vector<Adapter> adapters() {
  // Anthropic maps user, safety_identifier and service_tier auto/default, Bedrock user,
  // safety_identifier, metadata and service_tier auto/default/flex/priority; scale is nobody's.
  return {
      {"anthropic",
       [](std::string_view b, std::string& out, Dropped d) { return translate_chat_request(b, "claude-x", false, {}, out, d); },
       with_service_settings({"seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
                              "service_tier"})},
      {"vertex claude",
       [](std::string_view b, std::string& out, Dropped d) {
         return translate_vertex_chat_request(b, {"vertex-2023-10-16", ""}, false, {}, out, d);
       },
       with_service_settings({"seed", "presence_penalty", "logit_bias", "top_logprobs", "service_tier"})},
      {"bedrock",
       [](std::string_view b, std::string& out, Dropped d) {
         return translate_bedrock_request(b, "amazon.nova-micro-v1:0", {}, out, d);
       },
       without(with_service_settings({"seed", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs",
                                      "top_logprobs", "parallel_tool_calls", "service_tier"}),
               "metadata")},
      {"gemini",
       [](std::string_view b, std::string& out, Dropped d) { return translate_gemini_request(b, "gemini-2.5-flash", {}, out, d); },
       with_service_settings({"logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls", "user",
                              "safety_identifier", "service_tier"})},
      {"cohere",
       [](std::string_view b, std::string& out, Dropped d) {
         return translate_cohere_chat_request(b, "command-a", false, {}, out, d);
       },
       with_service_settings({"logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls", "user",
                              "safety_identifier", "service_tier"})},
      {"ollama",
       [](std::string_view b, std::string& out, Dropped d) { return translate_ollama_chat_request(b, "qwen3", false, {}, out, d); },
       with_service_settings({"logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls", "user",
                              "safety_identifier", "service_tier"})},
  };
}

// A value that sets each field (parallel_tool_calls is set by false: true is its default).
std::string setting(std::string_view field) {
  if (field == "logprobs") return "true";
  if (field == "parallel_tool_calls") return "false";
  if (field == "logit_bias") return R"({"50256":-100})";
  if (field.ends_with("_penalty")) return "0.5";
  if (field == "user" || field == "safety_identifier") return R"("end-user-7")";
  if (field == "metadata") return R"({"team":"blue"})";
  if (field == "service_tier") return R"("scale")";
  if (field == "store") return "true";
  if (field == "modalities") return R"(["text","audio"])";
  if (field == "web_search_options") return "{}";  // {} turns web search on
  if (field == "prompt_cache_key") return R"("cache-key-1")";
  if (field == "verbosity") return R"("low")";
  if (field == "prediction") return R"({"type":"content","content":"predicted"})";
  if (field == "audio") return R"({"voice":"alloy","format":"wav"})";
  if (field == "stream_options") return R"({"include_obfuscation":true})";
  return "3";
}

std::string body_with(std::string_view member) {
  return std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}])") +
         (member.empty() ? "" : ",") + std::string(member) + "}";
}

TEST(InexpressibleSettings, AreA400NamingTheFieldForEveryTranslatingAdapter) {
  for (const Adapter& a : adapters()) {
    std::string out;
    ASSERT_TRUE(a.translate(body_with(""), out, {})) << a.name;
    for (const char* field : a.refused) {
      out.clear();
      auto done = a.translate(body_with("\"" + std::string(field) + "\":" + setting(field)), out, {});
      ASSERT_FALSE(done) << a.name << " dropped " << field << ": " << out;
      EXPECT_EQ(done.error().param, field) << a.name;
      EXPECT_EQ(done.error().http_status, 400) << a.name;
    }
  }
}

TEST(InexpressibleSettings, AFieldThatAsksForTheDefaultPasses) {
  for (const Adapter& a : adapters()) {
    for (const char* member : {R"("seed":null)", R"("presence_penalty":0)", R"("frequency_penalty":0.0)",
                               R"("logit_bias":{})", R"("logprobs":false)", R"("parallel_tool_calls":true)",
                               R"("store":false)", R"("modalities":["text"])", R"("service_tier":"auto")",
                               R"("service_tier":"default")", R"("verbosity":"medium")", R"("metadata":{})",
                               R"("stream_options":{"include_usage":true,"include_obfuscation":false})",
                               R"("web_search_options":null)", R"("prediction":null)"}) {
      std::string out;
      auto done = a.translate(body_with(member), out, {});
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
    auto done = a.translate(body_with(R"("seed":7,"presence_penalty":0.5,"frequency_penalty":0.25)"), out, {});
    ASSERT_TRUE(done) << a.name << ": " << done.error().message;
    EXPECT_NE(out.find("7"), std::string::npos) << a.name << ": " << out;
    EXPECT_NE(out.find("0.25"), std::string::npos) << a.name << ": " << out;
  }
}

// drop_params: each refused field the provider's config names is left out of the upstream body,
// and only that one (another refused field is still a 400).
TEST(InexpressibleSettings, AFieldInDropParamsIsLeftOutAndOnlyThatOne) {
  for (const Adapter& a : adapters()) {
    for (const char* field : a.refused) {
      if (std::string_view(field) == "parallel_tool_calls" || std::string_view(field) == "logprobs") continue;
      std::vector<std::string> dropped = {field};
      std::string value = setting(field);
      std::string out;
      auto done = a.translate(body_with("\"" + std::string(field) + "\":" + value), out, dropped);
      ASSERT_TRUE(done) << a.name << " refused dropped " << field << ": " << done.error().message;
      EXPECT_EQ(out.find("\"" + std::string(field) + "\":"), std::string::npos) << a.name << ": " << out;
      out.clear();
      const char* other = std::string_view(field) == "store" ? "prompt_cache_key" : "store";
      done = a.translate(body_with("\"" + std::string(field) + "\":" + value + ",\"" + other + "\":" + setting(other)),
                         out, dropped);
      ASSERT_FALSE(done) << a.name << " dropped " << other << " too";
      EXPECT_EQ(done.error().param, other) << a.name;
    }
  }
}

// What Anthropic and Bedrock have settings for is mapped, field by field.
TEST(InexpressibleSettings, AnthropicAndBedrockMapTheEndUserMetadataAndServiceTier) {
  auto anthropic = [](const std::string& member, Dropped dropped = {}) {
    std::string out;
    auto done = translate_chat_request(body_with(member), "claude-x", false, {}, out, dropped);
    EXPECT_TRUE(done) << member << ": " << (done ? "" : done.error().message);
    return out;
  };
  EXPECT_NE(anthropic(R"("user":"u-1")").find(R"("metadata":{"user_id":"u-1"})"), std::string::npos);
  EXPECT_NE(anthropic(R"("safety_identifier":"s-1")").find(R"("metadata":{"user_id":"s-1"})"), std::string::npos);
  EXPECT_NE(anthropic(R"("service_tier":"auto")").find(R"("service_tier":"auto")"), std::string::npos);
  EXPECT_NE(anthropic(R"("service_tier":"default")").find(R"("service_tier":"standard_only")"), std::string::npos);
  std::vector<std::string> drop_user = {"user"};
  EXPECT_EQ(anthropic(R"("user":"u-1")", drop_user).find("metadata"), std::string::npos);
  std::string vertex;
  ASSERT_TRUE(translate_vertex_chat_request(body_with(R"("service_tier":"auto")"), {"vertex-2023-10-16", ""}, false, {}, vertex));
  EXPECT_EQ(vertex.find("service_tier"), std::string::npos) << vertex;
  std::string out;
  auto both = translate_chat_request(body_with(R"("user":"u-1","safety_identifier":"s-1")"), "claude-x", false, {}, out);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().param, "safety_identifier");

  auto bedrock = [](const std::string& member) {
    std::string out;
    auto done = translate_bedrock_request(body_with(member), "amazon.nova-micro-v1:0", {}, out);
    EXPECT_TRUE(done) << member << ": " << (done ? "" : done.error().message);
    return out;
  };
  EXPECT_NE(bedrock(R"("user":"u-1","metadata":{"team":"blue","run":"7"})")
                .find(R"("requestMetadata":{"user":"u-1","team":"blue","run":"7"})"),
            std::string::npos);
  EXPECT_NE(bedrock(R"("safety_identifier":"s-1")").find(R"("requestMetadata":{"user":"s-1"})"), std::string::npos);
  for (const char* tier : {"default", "flex", "priority"})
    EXPECT_NE(bedrock(std::string(R"("service_tier":")") + tier + "\"").find(std::string(R"("serviceTier":{"type":")") + tier + "\"}"),
              std::string::npos)
        << tier;
  EXPECT_EQ(bedrock(R"("service_tier":"auto")").find("serviceTier"), std::string::npos);
  out.clear();
  auto number = translate_bedrock_request(body_with(R"("metadata":{"n":1})"), "amazon.nova-micro-v1:0", {}, out);
  ASSERT_FALSE(number);
  EXPECT_EQ(number.error().param, "metadata.n");
}

}  // namespace
}  // namespace llmux::providers
