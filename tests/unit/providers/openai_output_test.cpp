// The OpenAI wire writer (providers/openai_output): the totals it computes itself.
#include "providers/openai_output.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <limits>

namespace llmux::providers {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Usage without a total gets prompt + completion; with the upstream's numbers that sum must not
// overflow (UBSan found it when fuzzing): it saturates.
TEST(OpenAIOutput, MissingTotalIsASaturatingSum) {
  ChatResponse response;
  response.usage = {kMax, 1, 0};
  std::string body;
  write_chat_completion(response, 0, body);
  auto usage = boost::json::parse(body).as_object().at("usage").as_object();
  EXPECT_EQ(usage.at("total_tokens").as_int64(), kMax);

  OpenAIChunkWriter writer;
  std::string out;
  writer.begin(&out, 0, /*include_usage=*/true);
  StreamEvent event;
  event.kind = StreamEvent::Kind::start;
  writer.on_event(event);
  event.kind = StreamEvent::Kind::usage;
  event.usage = {kMax, kMax, 0};
  writer.on_event(event);
  event.kind = StreamEvent::Kind::done;
  writer.on_event(event);
  EXPECT_EQ(writer.usage().total_tokens, kMax);
  EXPECT_NE(out.find("\"total_tokens\":9223372036854775807}"), std::string::npos) << out;

  writer.begin(&out, 0, true);
  event.kind = StreamEvent::Kind::usage;
  event.usage = {3, 4, 0};
  writer.on_event(event);
  EXPECT_EQ(writer.usage().total_tokens, 7);
}

}  // namespace
}  // namespace llmux::providers
