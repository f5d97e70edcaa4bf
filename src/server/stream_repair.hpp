// What the exchange needs to keep a broken or sloppy upstream stream honest: one error per timeout
// kind, the cheap reads of OpenAI stream chunks a resume needs (the text a chunk adds, the stream's
// id/created/model), the request body that asks a deployment to continue from the text already
// sent (prefill), and the usage chunk llmux adds when an upstream ends without one.
//
// Everything here runs off the hot path: on a successful pass-through stream only when the client
// asked for usage or a deployment of the route is marked `resume: prefill`, and then as scans of
// the chunk's bytes (no parse, no allocation once the buffers have grown).
//
// Thread-safety: pure functions; ChunkIdentity is a value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "json/request_view.hpp"
#include "llmux/error.hpp"
#include "providers/provider.hpp"

namespace llmux::server {

// The limits of `timeouts:`; each has its own error code (upstream_<kind>_timeout) and message.
enum class TimeoutKind : uint8_t { connect, headers, first_token, idle, total };

// 504 upstream_timeout naming the provider, the limit and the URL (without credentials).
// `setting` names where the limit comes from; default "timeouts.<kind>".
Error timeout_error(TimeoutKind kind, const providers::Provider& provider, std::string_view url,
                    std::chrono::milliseconds limit, std::string_view setting = {});

// `url` fit for a message or a log line: no user:password@ and no query (API keys travel there).
std::string url_for_message(std::string_view url);

// The text a chat chunk adds, as it is written in the chunk (JSON-escaped, quotes excluded):
// choices[0].delta.content, else a legacy completion's choices[0].text; "" when it adds none.
std::string_view chunk_text(std::string_view chunk) noexcept;
// The chunk starts or continues a tool call: such a stream cannot be resumed from its text.
bool chunk_has_tool_call(std::string_view chunk) noexcept;

// id, created and model of the client's stream, as JSON tokens of its first chunk. A resumed
// stream's chunks carry them instead of the continuation's own, so the client sees one stream.
struct ChunkIdentity {
  std::string id, created, model;
  bool known() const noexcept { return !id.empty(); }
  void capture(std::string_view chunk);
  // Appends `chunk` with its top-level id, created and model replaced by these.
  void append_as_own(std::string_view chunk, std::string& out) const;
  // `data: {...}` with no choices and `usage`; `estimated` adds "llmux_estimated":true to it.
  void append_usage_chunk(const json::Usage& usage, bool estimated, std::string& out) const;
};

// How a deployment is asked to continue a trailing assistant message.
enum class PrefillStyle : uint8_t {
  assistant_message,  // Anthropic, Gemini (translated by their encoders): a trailing assistant message
  prefix_flag,        // Mistral, DeepSeek: the trailing assistant message carries "prefix": true
  // Other OpenAI-compatible servers (vLLM, TGI, Ollama, LM Studio): the trailing assistant message
  // plus vLLM's "continue_final_message": true, "add_generation_prompt": false, without which vLLM
  // starts a new turn instead of continuing. A server that ignores them continues the message; one
  // that refuses them answers 400, and a refused prefill is skipped.
  continue_final_message,
};
PrefillStyle prefill_style(const ProviderConfig& provider) noexcept;

// `body` (a chat request) with an assistant message holding `sent` (JSON-escaped text, as
// chunk_text gives it) appended to its messages, written to `out`. False when the body has no
// messages array.
bool append_prefill(std::string_view body, std::string_view sent, PrefillStyle style, std::string& out);

// Characters of JSON-escaped text, roughly (an escape counts as its bytes), for estimate_tokens.
size_t count_code_points(std::string_view escaped) noexcept;
// Tokens of text no upstream counted: a quarter of its characters, rounded up.
inline int64_t estimate_tokens(size_t code_points) noexcept { return static_cast<int64_t>((code_points + 3) / 4); }

}  // namespace llmux::server
