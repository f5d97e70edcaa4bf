// Inputs shared by the micro-benchmarks, built once by main() before any benchmark runs, from the
// recorded provider fixtures (LLMUX_FIXTURES_DIR). Nothing here is read or built in a timed loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "providers/provider.hpp"
#include "router/model_catalog.hpp"

namespace llmux::bench {

struct Corpus {
  // Chat requests as an OpenAI SDK sends them (compact JSON, "messages" before "model").
  // Small: openai/chat-stream-tool-call-obfuscation.request.json, minified (~400 B: one user
  // message, one tool, stream with include_usage). Medium and large: the same request after a
  // chat history of recorded user prompts and the recorded assistant answer of
  // openai/chat-nonstream.json, grown until the body passes 4 KiB and 64 KiB.
  std::string chat_small, chat_medium, chat_large;

  std::string openai_sse;     // openai/chat-stream-text-usage.sse.txt (34 events, usage chunk, [DONE])
  std::string anthropic_sse;  // anthropic/stream-after-tool-result.sse.txt (event: + data: lines)
  size_t openai_sse_events = 0, anthropic_sse_events = 0;  // "data:" lines, counted at load

  std::string openai_final_chunk;  // the data payload carrying "usage" in openai_sse
  std::string openai_response;     // openai/chat-nonstream.json
  std::string openai_error_404;    // openai/error-404-model-not-found.json
  std::string anthropic_response;  // anthropic/messages-nonstream.json

  // 10 providers (openai-compatible), 161 models with a few aliases and upstream ids.
  std::vector<std::unique_ptr<providers::Provider>> providers;
  std::unique_ptr<router::ModelCatalog> catalog;
};

// Loads everything; throws std::runtime_error naming the file when a fixture is missing.
void load_corpus();
const Corpus& corpus();

}  // namespace llmux::bench
