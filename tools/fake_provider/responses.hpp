// The fake OpenAI Responses API (POST /v1/responses, also under Azure's /openai/v1 and dated
// /openai/responses paths): a whole response object, or its stream of typed events. The answer,
// its pieces and its token counts are the chat API's (reply.hpp).
#pragma once

#include <cstdint>
#include <string_view>

#include "reply.hpp"

namespace llmux::fake {

// `stream_error` fails the stream: with `chunks: 0` an `error` event before any content, else a
// response.failed after it. The usage reports the `cached_tokens` knob, and the body's "fake"
// object may set "reasoning_tokens" too.
Reply responses_answer(const boost::json::object& req, const Script& s, std::string_view model, std::uint64_t id);

}  // namespace llmux::fake
