// OpenAI's Responses API (POST /v1/responses) as the gateway passes it through: which stream
// events start the answer, end it or fail it, and where its token counts are. The body and the
// events go to the client as the provider sent them; only these facts are read from them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/sse.hpp"
#include "json/request_view.hpp"
#include "json/simdjson_support.hpp"
#include "llmux/error.hpp"
#include "providers/provider.hpp"

namespace llmux::providers {

enum class ResponsesEventRole {
  preamble,   // response.created / in_progress / queued, an item or part opened empty
  content,    // a piece of the answer (text, reasoning, tool-call arguments, a finished item)
  completed,  // response.completed or response.incomplete: the stream's successful end
  failed,     // response.failed or an `error` event: the provider gave up; nothing follows
};

// The event's role, by its `event:` name, or by its data's "type" when it has none. Cheap: no
// parse, called for every event until the answer starts.
ResponsesEventRole responses_event_role(const http::SseEvent& event);

// What a passed-through stream event carries for accounting, from the DOM the JSON check built.
struct ResponsesEventFacts {
  ResponsesEventRole role = ResponsesEventRole::preamble;
  std::optional<json::Usage> usage;  // a terminal event's response.usage
  std::string_view error_code;       // a failed event's code (into the DOM)
};
ResponsesEventFacts responses_event_facts(const http::SseEvent& event, simdjson::dom::element parsed);

// Token counts of a Responses `usage` object in OpenAI chat terms: input_tokens (with
// input_tokens_details.cached_tokens) and output_tokens (with output_tokens_details.reasoning_tokens).
json::Usage responses_usage_of(simdjson::dom::object usage);
// The usage of a whole Responses body; nullopt when it has none.
std::optional<json::Usage> read_responses_usage(std::string_view body);

// The error of an `error` or `response.failed` event that came before any content: the attempt
// failed (502, or 429 for a rate limit) and another deployment may answer.
Error responses_event_error(const Provider& provider, std::string_view data);

// The stream event that tells a client its stream broke: the Responses API's `error` event for
// `responses`, the OpenAI error chunk for chat and completions.
std::string stream_error_event(Endpoint endpoint, const Error& error);

}  // namespace llmux::providers
