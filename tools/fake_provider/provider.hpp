// The fake provider's request handling: the knobs, authentication and what every reply shares
// (headers, pacing, where a stream is cut); the wire formats are in openai.cpp and anthropic.cpp.
#pragma once

#include <chrono>
#include <map>
#include <mutex>

#include "anthropic.hpp"
#include "bedrock.hpp"
#include "cohere.hpp"
#include "gemini.hpp"
#include "ollama.hpp"
#include "openai.hpp"
#include "script.hpp"
#include "vertex.hpp"

namespace llmux::fake {

class Provider {
 public:
  explicit Provider(Options opt);

  // Thread-safe.
  Reply handle(const Request& req) const;

 private:
  Options opt_;
  OpenAiApi openai_;
  AnthropicApi anthropic_;
  GeminiApi gemini_;
  OllamaApi ollama_;
  CohereApi cohere_;
  BedrockApi bedrock_;
  VertexApi vertex_;  // after gemini_ and anthropic_, which it answers through

  // ---- Stateful faults (the router's fault matrix) ----
  // Whether this request falls in its fault_key's failing phase (fail_first, down_for_ms); counts it.
  bool in_failing_phase(const Script& s) const;
  mutable std::mutex faults_mu_;
  struct FaultCounter {
    long requests = 0;
    std::chrono::steady_clock::time_point first;
  };
  mutable std::map<std::string, FaultCounter, std::less<>> faults_;
};

}  // namespace llmux::fake
