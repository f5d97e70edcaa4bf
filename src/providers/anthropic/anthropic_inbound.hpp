// The inbound side of Anthropic's Messages API: what the gateway's own POST /v1/messages and
// /v1/messages/count_tokens need to serve Anthropic clients from any provider. Pure functions,
// safe from any thread (per-thread parsers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "json/request_view.hpp"
#include "json/simdjson_support.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::providers {

// The anthropic-version values llmux accepts: "2023-01-01", and any YYYY-MM-DD date from
// "2023-06-01" on (the SDKs send newer dated versions as the API grows).
bool accepted_anthropic_version(std::string_view version) noexcept;
// The 400 for a missing or unknown version, in Anthropic's words.
Error anthropic_version_error(std::string_view version);

struct MessagesConversion {
  size_t text_bytes = 0;  // of the prompt's text: system, text blocks, tool results, tool inputs, tools
};

// Anthropic Messages request body → OpenAI chat completions body, appended to `out`. What an
// OpenAI-shaped request cannot carry is a 400 naming the field (server tools, documents, images in
// tool results, unknown top-level members); thinking blocks of earlier turns are left out (they
// cannot be sent back to another provider). `count_only`: a count_tokens body (no max_tokens).
Expected<MessagesConversion, Error> messages_to_chat_request(std::string_view anthropic_body, std::string& out,
                                                             bool count_only = false);

// The count_tokens estimate for a provider that cannot count: the prompt's text bytes / 4,
// rounded up (at least 1).
int64_t estimate_tokens_from_text(size_t text_bytes) noexcept;

// The usage of an Anthropic message body (or of a stream event's "usage" object given as
// text), in canonical terms: input + cache reads + cache writes = prompt tokens.
std::optional<json::Usage> read_anthropic_usage(std::string_view body);
json::Usage anthropic_usage_of(simdjson::dom::object usage);

}  // namespace llmux::providers
