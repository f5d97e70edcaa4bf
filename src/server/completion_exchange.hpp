// One /v1 completion request (chat, legacy completions, embeddings) from arrival to accounting.
// The stages run in one direction: read and validate the body → resolve the model → encode the
// upstream request → attempts → answer or stream out → usage and metrics. An exchange is created
// for its request and dies with it, so nothing of one request can reach the next one on the same
// connection; the buffers it borrows for speed are emptied when lent (ExchangeScratch::lend).
//
// Thread-safety: none; an exchange lives on its connection's worker thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "core/heap_optional.hpp"
#include "http/message_parsers.hpp"
#include "http/sse.hpp"
#include "server/chunk_shape.hpp"
#include "server/stream_framing.hpp"
#include "governance/usage_record.hpp"
#include "http/upstream.hpp"
#include "json/simdjson_support.hpp"
#include "json/request_view.hpp"
#include "observability/provider_debug.hpp"
#include "providers/anthropic/anthropic_output.hpp"
#include "providers/openai_output.hpp"
#include "providers/provider.hpp"
#include "router/attempt_planner.hpp"
#include "router/model_catalog.hpp"
#include "router/route_table.hpp"
#include "server/gateway_state.hpp"
#include "server/inbound_dialect.hpp"
#include "server/stream_repair.hpp"

namespace llmux::server {

class Connection;
struct Worker;

// An upstream's error body is kept up to this size (the answer to the client is built from it).
inline constexpr size_t kMaxErrorBody = 1 << 20;

// Storage a connection keeps for its exchanges so that a warm connection allocates nothing per
// request. Only capacity carries over: lend() empties every buffer, and it is the only way an
// exchange gets them.
class ExchangeScratch {
 public:
  struct Buffers {
    json::RequestFields fields;
    http::UpstreamRequest upstream_request;
    std::string upstream_body;
    std::string translated;  // provider answers rewritten as OpenAI JSON or chunks
    std::string request_id;
    std::string headers;     // extra response header lines (x-request-id, CORS)
    std::string upstream_content_type;
    std::string retry_after;
    std::string error_type;  // the upstream's x-amzn-ErrorType
    StreamFramer sse;  // the upstream stream, cut into events
    ChunkShape chunk_shape;  // a passed-through stream's content chunks, checked in one pass
    providers::OpenAIChunkWriter chunk_writer;
    // What only a client of another dialect (Anthropic's) needs: made for the first such request
    // on the connection, so an OpenAI client's connection carries none of it.
    struct Dialect {
      // The request as an OpenAI chat request, what the adapters encode from.
      std::string chat_body;
      json::RequestFields chat_fields;
      providers::AnthropicEventWriter anthropic_writer;
    };
    HeapOptional<Dialect> dialect;
  };

  Buffers& lend();
  // One large answer must not pin its memory for as long as the connection stays open.
  void release_large();
  // Between two events of a stream: buffers that are empty give back their capacity above a
  // small size (a burst held before the first content, a long event), so an open stream holds
  // what is in flight only. Nothing refers into an empty buffer, so this is safe mid-exchange.
  size_t release_idle();  // the bytes released
  // The connection's decoder for the provider's wire format, reset for a new response; nullptr
  // when the provider's answers pass through. It keeps parse buffers from one answer to the next.
  providers::ResponseDecoder* decoder_for(const providers::Provider& provider);
  // The decoder of OpenAI-shaped answers, for a client of another dialect, reset.
  providers::ResponseDecoder* openai_decoder();

 private:
  Buffers buffers_;
  std::unique_ptr<providers::ResponseDecoder> decoder_;
  std::string decoder_type_;
  std::unique_ptr<providers::ResponseDecoder> openai_decoder_;
};

// Buffers used only within one call on the request path, never from one event or callback to the
// next: one set per worker thread instead of one per open stream. Nothing in them outlives the
// call that filled them, so no request can see another's bytes.
struct CallScratch {
  std::string events_out;    // a passed-through stream's events of one upstream read, re-framed
  std::string json_pad;      // a passed-through event, padded for the JSON check
  std::string cost_event;    // a passed-through usage chunk rewritten with its cost
  std::string answer_model;  // escaped: the model a translated answer names when its provider names none
  providers::ChatResponse chat_response;  // a translated answer, decoded

  static CallScratch& of_this_thread() {
    thread_local CallScratch scratch;
    return scratch;
  }
};

// Passes a translated stream's events on to the writer once one of them carries content (text,
// reasoning, a tool call, the finish); an error before that is kept, not forwarded, so the attempt
// can fail over while the client has seen nothing.
class ContentGate final : public providers::StreamSink {
 public:
  explicit ContentGate(providers::StreamSink& next) : next_(&next) {}
  void on_event(const providers::StreamEvent& event) override;
  bool content_seen() const noexcept { return content_; }
  bool failed() const noexcept { return error_; }
  const std::string& error_type() const noexcept { return error_type_; }
  const std::string& error_text() const noexcept { return error_text_; }

 private:
  providers::StreamSink* next_;
  bool content_ = false;
  bool error_ = false;
  std::string error_type_, error_text_;
};

// Between the gate and the writer of a translated stream: keeps the text that reached the client
// (a resume continues from it) and whether a tool call began; in a resumed attempt it drops the
// continuation's start, so the client's stream keeps its id and sends no second role chunk.
class SentTextTracker final : public providers::StreamSink {
 public:
  SentTextTracker(providers::StreamSink& next, std::string* text) : next_(&next), text_(text) {}
  void on_event(const providers::StreamEvent& event) override;
  void drop_start(bool drop) noexcept { drop_start_ = drop; }
  bool tool_call_seen() const noexcept { return tool_call_; }

 private:
  providers::StreamSink* next_;
  std::string* text_;  // null: nothing to keep (no resume possible)
  bool drop_start_ = false;
  bool tool_call_ = false;
};

class CompletionExchange final : public std::enable_shared_from_this<CompletionExchange>,
                                 public http::UpstreamHandler,
                                 private router::AttemptGate {
 public:
  using Clock = std::chrono::steady_clock;

  // `request_id` and `response_headers` (the handler's) are taken, not copied: an open stream
  // holds them once. The handler's strings are left empty, with the storage of the last request's.
  CompletionExchange(Worker& worker, std::shared_ptr<Connection> connection, std::shared_ptr<const GatewayState> state,
                     ExchangeScratch& scratch, providers::Endpoint endpoint, const http::RequestHead& head,
                     std::string& request_id, std::string& response_headers,
                     std::shared_ptr<const governance::KeyPolicy> key,
                     const InboundDialect& dialect = openai_chat_dialect());
  ~CompletionExchange() override;
  CompletionExchange(const CompletionExchange&) = delete;
  CompletionExchange& operator=(const CompletionExchange&) = delete;

  // The gateway key the request came with (null: no gateway key is configured). Before start().
  void start();
  // The connection has written the whole answer (client_left = false) or lost its client.
  void end(bool client_left);
  // Records the finished request once (metrics, governance, access log, ledger): when the answer
  // is complete, or at end() for one the client left.
  void account(bool client_left);
  void resume_output();  // the client has caught up with a paused stream
  // The connection's once-a-second sweep while the answer is open: the scratch's empty buffers
  // and, once the client's stream has begun, the upstream request the engine has sent for good
  // (no retry or fallback sends it again; a resume encodes its own). Returns the bytes released.
  size_t release_idle();
  void cut_for_shutdown();

  // UpstreamHandler
  void on_headers(int status, std::string_view content_type, std::string_view retry_after,
                  std::string_view error_type) override;
  bool on_body(std::string_view bytes) override;
  void on_complete(const http::TransferResult& result) override;

 private:
  std::optional<Error> validate_fields() const;
  void act(const router::Decision& decision);
  Expected<void, Error> prepare_attempt(const router::Deployment& deployment, const router::AttemptTimeouts& timeouts);
  void start_attempt();
  void attempt_succeeded();
  void add_routing_headers();
  void begin_translated_stream();
  bool translate_stream(std::string_view bytes);  // false: the attempt failed (attempt_error_)
  void open_client_stream();
  bool fail_attempt();  // from inside a transfer callback; returns false (pause the transfer)
  void attempt_failed(router::FailureKind kind, Error error);
  void finish_stream(const http::TransferResult& result);
  void send_translated_body();
  void send_translated_embeddings();  // an embeddings answer in a provider's own shape
  void answer_token_estimate();       // count_tokens where no provider counts
  void note_native_event(simdjson::dom::element event);  // a natively served dialect's event
  void send_error(const Error& e);
  void send(int status, std::string_view content_type, std::string_view body);
  void record_usage();
  void stop_upstream();
  // Limits of their own (the engines enforce connect, headers and idle): first token and total.
  void arm_attempt_timer();
  void on_attempt_timer();
  void content_started();  // this attempt's first content: the first-token limit is met
  Error engine_timeout_error(const http::TransferResult& result) const;
  void total_timed_out();
  // Pass-through events, re-framed one by one: an unparseable one is dropped and counted.
  void pass_event(const http::SseEvent& e, std::string& out);
  bool check_event(const http::SseEvent& e);
  bool note_parsed_event(simdjson::dom::element event);
  void note_text(std::string_view data, std::string_view text);
  // The same for /v1/responses streams (exchange_responses.cpp): held until the answer starts (an
  // error before it fails the attempt; false then), their usage and end read as they pass.
  bool hold_responses_event(const http::SseEvent& e, bool& content);
  void note_responses_event(const http::SseEvent& e, simdjson::dom::element event);
  bool pass_resumed_event(const http::SseEvent& e, std::string& out);  // false: the attempt failed
  // After the first byte: resume the stream on a `resume: prefill` deployment, else end it with
  // one error event.
  void stream_broke(Error e);
  bool try_resume();
  void resume_attempt_failed(Error e);
  void end_stream_with_error(const Error& e);
  // One error event in the client's wire format (the dialect's, or Responses' own), appended to `out`.
  void append_stream_error(const Error& e, std::string& out) const;
  governance::FinishedRequest finished_request(int status) const;  // exchange_accounting.cpp
  // The 403 when the key may not use the requested model or one of the request's fallbacks.
  std::optional<Error> model_denied() const;  // exchange_accounting.cpp
  governance::Cost answer_cost(std::string_view answer_body) const;
  std::string_view with_cost(std::string_view usage_event);  // a passed-through stream's usage chunk
  // The provider's meter and the access log (exchange_accounting.cpp); the attempt's handler,
  // tapped when LLMUX_DEBUG selects the provider.
  void observe_finished(const storage::UsageRow& row);
  http::UpstreamHandler* attempt_handler();

  // Rate limits and budgets (exchange_governance.cpp): the key's are taken once for the request,
  // a provider's for each attempt (router::AttemptGate); all are settled with the real usage.
  struct Held {
    governance::SubjectState* state = nullptr;
    const governance::RateLimits* limits = nullptr;
    const governance::BudgetLimits* budget = nullptr;
    std::string_view id;
    const char* subject = "";
    governance::LimitTicket ticket;
    governance::BudgetReservation reservation;
  };
  std::optional<Error> admit_key();
  Verdict admit(const router::Deployment& deployment, router::Instant now) override;
  int64_t worst_case_nano(const router::Deployment& deployment) const;
  void settle(HeapOptional<Held>& held, int64_t tokens, int64_t cost_nano);
  void settle_governance(int64_t tokens, int64_t cost_nano);
  void count_rejection(std::string_view scope, std::string_view name);  // llmux_rate_limit_rejections_total

  // Declared first so it is destroyed last: the scratch below belongs to the connection's handler.
  std::shared_ptr<Connection> connection_;
  Worker& worker_;
  std::shared_ptr<const GatewayState> state_;  // this request's config snapshot
  const std::shared_ptr<const governance::KeyPolicy> key_;  // the gateway key; null: open gateway
  ExchangeScratch::Buffers& buffers_;
  ExchangeScratch& scratch_;
  const providers::Endpoint endpoint_;
  const InboundDialect& dialect_;
  providers::ClientStreamWriter* writer_;  // a translated stream's, in the client's format
  bool native_ = false;  // this attempt's provider serves the client's dialect: bytes pass through
  HeapOptional<Error> conversion_error_;  // the dialect's request has no OpenAI form
  size_t prompt_text_bytes_ = 0;
  const std::string_view body_;    // the request body, owned by the connection
  const http::RequestHead& head_;  // the request's head, owned by the connection
  const Clock::time_point started_ = Clock::now();

  router::Resolution resolution_;  // the deployment of the attempt in flight (or that answered)
  router::Route route_;
  std::optional<router::AttemptPlanner> planner_;
  std::vector<std::string> body_fallbacks_;
  bool fallbacks_in_body_ = false;
  const router::Deployment* encoded_for_ = nullptr;
  bool routing_headers_added_ = false;
  Clock::time_point phase_start_ = started_;  // overhead: time in llmux, not waiting for upstreams
  Clock::duration overhead_{};
  Clock::time_point attempt_started_;
  providers::ResponseDecoder* decoder_ = nullptr;  // null: the answer passes through
  http::UpstreamClient::TransferId transfer_ = 0;
  std::shared_ptr<CompletionExchange> self_while_transfer_;
  int upstream_status_ = 0;
  int response_status_ = 0;
  bool stream_ = false;
  bool upstream_streaming_ = false;  // this attempt's upstream answered a stream with 2xx
  bool streaming_ = false;           // the client's stream has begun (its 200 is sent)
  HeapOptional<Error> attempt_error_;
  std::optional<ContentGate> gate_;  // translated streams
  bool saw_done_ = false;
  bool saw_finish_ = false;  // a pass-through stream's finish_reason event
  bool paused_ = false;
  bool ended_ = false;
  bool accounted_ = false;
  json::Usage usage_;
  int64_t created_ = 0;

  // Timeouts (stream_repair.hpp); the engines read upstream_request.timeout as the phase moves.
  router::AttemptTimeouts timeouts_;
  Clock::time_point request_deadline_ = Clock::time_point::max();
  Clock::time_point first_token_due_ = Clock::time_point::max();
  Clock::time_point total_due_ = Clock::time_point::max();
  // The wait before a retry, then the attempt's first-token and total limits: never both at once
  // (setting it cancels what it waited for), so one timer serves both.
  std::optional<boost::asio::steady_timer> timer_;

  // Stream repair. Off the hot path: text is tracked only when a resume or an added usage chunk
  // may need it.
  uint32_t events_dropped_ = 0;
  bool usage_seen_ = false;
  bool track_text_ = false;       // pass-through: keep identity and text of forwarded chunks
  bool resumable_route_ = false;  // a deployment of the route is marked resume: prefill
  bool resuming_ = false;         // a resume attempt has not produced content yet
  bool resumed_ = false;          // the client's stream carries a continuation
  bool tool_call_seen_ = false;
  bool resume_started_ = false;
  int resumes_ = 0;               // resume attempts started
  uint32_t resumes_spliced_ = 0;  // ... that continued the client's stream
  size_t resume_cursor_ = 0;
  size_t sent_code_points_ = 0;
  std::string sent_text_;  // JSON-escaped text the client has been sent
  // The request a continuation is encoded from: the client's with the sent text as a prefill.
  struct ResumeRequest {
    std::string body;
    json::RequestFields fields;
  };
  HeapOptional<ResumeRequest> resume_request_;  // made by the first resume
  ChunkIdentity identity_;
  HeapOptional<Error> broke_error_;  // why the client's stream first broke
  std::optional<SentTextTracker> tracker_;
  std::optional<Clock::time_point> answered_at_;  // first content (stream) or the whole answer
  governance::StreamTextEstimate streamed_text_;  // pass-through streams, for a cost estimate
  std::string error_type_;                        // of the error answered, for the ledger

  // Made only for a governed key or provider: an ungoverned request's exchange holds two pointers.
  HeapOptional<Held> key_held_, provider_held_;
  int64_t prompt_estimate_ = 0, output_reserve_ = 0;  // tokens, for reservations
  std::unique_ptr<observability::UpstreamDebugTap> debug_tap_;  // LLMUX_DEBUG only
};

}  // namespace llmux::server
