// The OpenAI chat request translators (Anthropic, Claude on Vertex AI, Bedrock, Gemini, Cohere,
// Ollama): a client's /v1/chat/completions body, with and without drop_params. Properties: a body
// a translator accepts becomes one valid JSON object; a body it refuses gets a 400 with a message;
// a translator that accepts a body without drop_params accepts it with them too (dropping only
// leaves fields out), and leaves the dropped fields out of what it writes.
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "json/request_view.hpp"
#include "providers/anthropic/anthropic.hpp"
#include "providers/bedrock/bedrock.hpp"
#include "providers/cohere/cohere.hpp"
#include "providers/gemini/gemini.hpp"
#include "providers/ollama/ollama.hpp"

namespace {

using namespace llmux;
using namespace llmux::providers;
using Dropped = std::span<const std::string>;

const std::vector<std::string> kDropped = {"user", "metadata", "service_tier", "store", "stream_options"};

Expected<void, Error> translate(int which, std::string_view body, std::string& out, Dropped dropped) {
  switch (which) {
    case 0: return translate_chat_request(body, "claude-x", false, {}, out, dropped);
    case 1: return translate_vertex_chat_request(body, {"vertex-2023-10-16", ""}, true, {}, out, dropped);
    case 2: return translate_bedrock_request(body, "anthropic.claude-x", {}, out, dropped);
    case 3: return translate_gemini_request(body, "gemini-2.5-flash", {}, out, dropped);
    case 4: return translate_cohere_chat_request(body, "command-a", false, {}, out, dropped);
    default: return translate_ollama_chat_request(body, "qwen3", true, {}, out, dropped);
  }
}

void check(const Expected<void, Error>& done, const std::string& out) {
  if (!done) {
    LLMUX_FUZZ_CHECK(done.error().http_status == 400 && !done.error().message.empty());
    return;
  }
  LLMUX_FUZZ_CHECK(!out.empty() && out.front() == '{' && !json::locate_syntax_error(out));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::as_text(data, size);
  for (int which = 0; which < 6; ++which) {
    std::string plain, dropping;
    auto kept = translate(which, body, plain, {});
    check(kept, plain);
    auto dropped = translate(which, body, dropping, kDropped);
    check(dropped, dropping);
    if (kept) LLMUX_FUZZ_CHECK(dropped.has_value());
  }
  return 0;
}
