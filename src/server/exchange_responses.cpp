// A /v1/responses stream passed through: the few facts the exchange reads from its events (when
// the answer starts, its usage, how it ended). The events themselves leave as they came.
#include "providers/responses_support.hpp"
#include "server/completion_exchange.hpp"

namespace llmux::server {

using providers::ResponsesEventRole;

bool CompletionExchange::hold_responses_event(const http::SseEvent& e, bool& content) {
  ResponsesEventRole role = providers::responses_event_role(e);
  if (!content && role == ResponsesEventRole::failed) {
    attempt_error_ = providers::responses_event_error(*resolution_.provider, e.data);
    return false;
  }
  content = content || role == ResponsesEventRole::content || role == ResponsesEventRole::completed;
  pass_event(e, buffers_.upstream_body);
  return true;
}

void CompletionExchange::note_responses_event(const http::SseEvent& e, simdjson::dom::element event) {
  auto facts = providers::responses_event_facts(e, event);
  if (facts.usage) {
    usage_ = *facts.usage;
    usage_seen_ = true;
  }
  if (facts.role == ResponsesEventRole::completed) saw_done_ = true;
  if (facts.role == ResponsesEventRole::failed) {
    // After content the client has the provider's own failure event, which ends its stream; the
    // request is recorded as the failure it was, not as a success.
    saw_done_ = true;
    response_status_ = 502;
    error_type_.assign(facts.error_code);
  }
}

}  // namespace llmux::server
