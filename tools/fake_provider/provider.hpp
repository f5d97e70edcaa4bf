// The fake provider's request handling: the knobs, authentication and what every reply shares
// (headers, pacing, where a stream is cut); the wire formats are in openai.cpp and anthropic.cpp.
#pragma once

#include "anthropic.hpp"
#include "gemini.hpp"
#include "openai.hpp"
#include "script.hpp"

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
};

}  // namespace llmux::fake
