// The pieces a resume and the timeout errors are made of; the behaviour through the binary is in
// tests/integration/stream_repair_test.cpp.
#include <gtest/gtest.h>

#include "server/stream_repair.hpp"

namespace llmux::server {
namespace {

TEST(UrlForMessage, DropsCredentialsAndQuery) {
  EXPECT_EQ(url_for_message("https://user:s3cret@api.example.com/v1/chat/completions?key=abc"),
            "https://api.example.com/v1/chat/completions");
  EXPECT_EQ(url_for_message("http://127.0.0.1:8080/v1/chat/completions"), "http://127.0.0.1:8080/v1/chat/completions");
  // An '@' in the path is not userinfo.
  EXPECT_EQ(url_for_message("http://host/v1/models/a@b"), "http://host/v1/models/a@b");
}

TEST(ChunkText, IsTheDeltaContentAsWritten) {
  EXPECT_EQ(chunk_text(R"({"id":"c","choices":[{"index":0,"delta":{"content":"a \"b\"\n"},"finish_reason":null}]})"),
            R"(a \"b\"\n)");
  EXPECT_EQ(chunk_text(R"({"choices":[{"delta":{"role":"assistant","content":""}}]})"), "");
  EXPECT_EQ(chunk_text(R"({"choices":[{"delta":{"content":null}}]})"), "");
  EXPECT_EQ(chunk_text(R"({"choices":[{"text":"legacy","index":0}]})"), "legacy");
  EXPECT_TRUE(chunk_has_tool_call(R"({"choices":[{"delta":{"tool_calls":[{"index":0}]}}]})"));
  EXPECT_FALSE(chunk_has_tool_call(R"({"choices":[{"delta":{"content":"x"}}]})"));
}

TEST(ChunkIdentity, ReplacesIdCreatedAndModelOfAContinuation) {
  ChunkIdentity identity;
  identity.capture(R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":100,"model":"m-a","choices":[]})");
  ASSERT_TRUE(identity.known());
  std::string out;
  identity.append_as_own(R"({"id":"chatcmpl-2","created":200,"model":"m-b","choices":[{"delta":{"content":"x"}}]})", out);
  EXPECT_EQ(out, R"({"id":"chatcmpl-1","created":100,"model":"m-a","choices":[{"delta":{"content":"x"}}]})");
  out.clear();
  // Members in another order, and nested "id"s left alone.
  identity.append_as_own(R"({"model":"m-b","choices":[{"delta":{"tool":{"id":"t"}}}],"id":"z","created":5})", out);
  EXPECT_EQ(out, R"({"model":"m-a","choices":[{"delta":{"tool":{"id":"t"}}}],"id":"chatcmpl-1","created":100})");
}

TEST(ChunkIdentity, WritesAUsageChunkMarkedEstimated) {
  ChunkIdentity identity;
  identity.capture(R"({"id":"c1","created":7,"model":"m"})");
  std::string out;
  json::Usage usage;
  usage.prompt_tokens = 3;
  usage.completion_tokens = 4;
  identity.append_usage_chunk(usage, true, out);
  EXPECT_EQ(out,
            "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":7,\"model\":\"m\",\"choices\":[],"
            "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7,\"llmux_estimated\":true}}\n\n");
}

TEST(AppendPrefill, AddsATrailingAssistantMessage) {
  std::string out;
  ASSERT_TRUE(append_prefill(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true})",
                             R"(Hello \"x\")", PrefillStyle::assistant_message, out));
  EXPECT_EQ(out, R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Hello \"x\""}],"stream":true})");
  out.clear();
  ASSERT_TRUE(append_prefill(R"({"messages": [ {"role":"user","content":"]"} ] })", "a", PrefillStyle::prefix_flag, out));
  EXPECT_EQ(out, R"({"messages": [ {"role":"user","content":"]"} ,{"role":"assistant","content":"a","prefix":true}] })");
  out.clear();
  ASSERT_TRUE(append_prefill(R"( {"messages":[{"role":"user","content":"hi"}]})", "a", PrefillStyle::continue_final_message, out));
  EXPECT_EQ(out, R"( {"continue_final_message":true,"add_generation_prompt":false,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"a"}]})");
  out.clear();
  // Flags the client set itself are not repeated (a repeated key would be ambiguous upstream).
  ASSERT_TRUE(append_prefill(R"({"add_generation_prompt":false,"messages":[]})", "a", PrefillStyle::continue_final_message, out));
  EXPECT_EQ(out, R"({"add_generation_prompt":false,"messages":[{"role":"assistant","content":"a"}]})");
  out.clear();
  EXPECT_FALSE(append_prefill(R"({"prompt":"x"})", "a", PrefillStyle::assistant_message, out));
}

TEST(PrefillStyle, MistralAndDeepSeekTakeThePrefixFlag) {
  ProviderConfig p;
  p.base_url = "https://api.mistral.ai/v1";
  EXPECT_EQ(prefill_style(p), PrefillStyle::prefix_flag);
  p.base_url = "https://api.deepseek.com/beta";
  EXPECT_EQ(prefill_style(p), PrefillStyle::prefix_flag);
  p.base_url = "http://vllm.internal:8000/v1";
  EXPECT_EQ(prefill_style(p), PrefillStyle::continue_final_message);
  p.type = "anthropic";
  EXPECT_EQ(prefill_style(p), PrefillStyle::assistant_message);
}

}  // namespace
}  // namespace llmux::server
