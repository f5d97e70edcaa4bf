// The governance side of a completion exchange: what it costs and what the ledger records of it.
// Kept apart from the request path's stages in completion_exchange.cpp.
#include "server/completion_exchange.hpp"
#include "server/connection.hpp"
#include "server/worker.hpp"
#include "governance/key_snapshot.hpp"
#include "governance/prices.hpp"
#include "observability/access_log.hpp"

namespace llmux::server {

governance::Cost CompletionExchange::answer_cost(std::string_view answer_body) const {
  static const ModelPrices kUnpriced;
  const ModelPrices& prices = resolution_.model ? resolution_.model->prices : kUnpriced;
  return governance::request_cost(usage_, prices, {body_, answer_body, streamed_text_.bytes()});
}

governance::FinishedRequest CompletionExchange::finished_request(int status) const {
  governance::FinishedRequest f;
  f.key = key_.get();
  f.request_id = buffers_.request_id;
  if (resolution_.provider) f.provider = resolution_.provider->id();
  f.model = resolution_.model;
  f.upstream_model = resolution_.upstream_model;
  f.model_requested = buffers_.fields.model;
  f.usage = usage_;
  // The answer's body is still in its buffer: a translated one in `translated`, else as received.
  std::string_view answer = stream_ ? std::string_view() : decoder_ ? buffers_.translated : buffers_.upstream_body;
  f.estimate_basis = {body_, answer, decoder_ ? writer_->text_bytes() : streamed_text_.bytes()};
  auto now = Clock::now();
  f.latency = now - started_;
  if (answered_at_) f.first_token = *answered_at_ - started_;
  f.status = status;
  if (status >= 400) f.error_type = error_type_.empty() && status == 499 ? std::string_view("client_closed") : error_type_;
  f.attempts = planner_ ? planner_->attempts() : 0;
  return f;
}

std::optional<Error> CompletionExchange::model_denied() const {
  if (!key_ || key_->models.empty()) return std::nullopt;
  std::string_view model = buffers_.fields.model;
  if (!governance::model_allowed(*key_, model)) return governance::model_not_allowed(*key_, model);
  if (!head_.fallbacks.empty()) {
    auto header = router::parse_fallbacks_header(head_.fallbacks);
    if (!header) return std::nullopt;  // routing answers the malformed header
    for (size_t i = 0; i < header->count; ++i)
      if (!governance::model_allowed(*key_, header->names[i])) return governance::model_not_allowed(*key_, header->names[i]);
  }
  for (const auto& name : body_fallbacks_)
    if (!governance::model_allowed(*key_, name)) return governance::model_not_allowed(*key_, name);
  return std::nullopt;
}

// The usage chunk of a passed-through stream whose client asked for usage, with the answer's
// cost as usage.cost_usd. Returns the event's data, rewritten into a scratch buffer.
std::string_view CompletionExchange::with_cost(std::string_view data) {
  size_t usage = data.find("\"usage\"");
  size_t open = usage == std::string_view::npos ? usage : data.find('{', usage);
  if (open == std::string_view::npos) return data;
  std::string& out = CallScratch::of_this_thread().cost_event;
  out.clear();
  out.append(data.substr(0, open + 1));
  out += "\"cost_usd\":";
  governance::append_usd_nanos(out, answer_cost({}).nano_usd);
  size_t next = data.find_first_not_of(" \t\r\n", open + 1);
  if (next != std::string_view::npos && data[next] != '}') out += ',';
  out.append(data.substr(open + 1));
  return out;
}

// Once per request, after it ended: the provider's meter (when an attempt reached it) and the
// access log line, both from the ledger's row so that the three never disagree.
void CompletionExchange::observe_finished(const storage::UsageRow& row) {
  int attempts = planner_ ? planner_->attempts() : 0;
  if (auto* meter = resolution_.provider && attempts ? state_->meter_for(*resolution_.provider) : nullptr) {
    observability::ProviderSample s;
    s.failed = row.status >= 400;
    s.error_type = row.error_type;
    s.latency_us = row.latency_us;
    s.ttft_us = row.ttft_us;
    s.upstream_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - attempt_started_).count();
    s.cost_nano_usd = row.cost_nano_usd;
    s.tokens = row.input_tokens + row.output_tokens;
    meter->record(s, router::SteadyClock::now());
  }
  if (state_->access_log) {
    std::string_view target = head_.target;
    state_->access_log->write(row, boost::beast::http::to_string(head_.method), target.substr(0, target.find('?')));
  }
}

http::UpstreamHandler* CompletionExchange::attempt_handler() {
  const auto& provider = *resolution_.provider;
  if (!observability::provider_debug_enabled(provider.id())) return this;
  debug_tap_.reset();  // the previous attempt's, done or cancelled: logs before the next one starts
  debug_tap_ = std::make_unique<observability::UpstreamDebugTap>(*this, provider, buffers_.upstream_request,
                                                                 buffers_.request_id);
  return debug_tap_.get();
}

}  // namespace llmux::server
