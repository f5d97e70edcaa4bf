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

#include "http/message_parsers.hpp"
#include "http/sse.hpp"
#include "governance/usage_record.hpp"
#include "http/upstream.hpp"
#include "json/request_view.hpp"
#include "providers/openai_output.hpp"
#include "providers/provider.hpp"
#include "router/attempt_planner.hpp"
#include "router/model_catalog.hpp"
#include "router/route_table.hpp"
#include "server/gateway_state.hpp"

namespace llmux::server {

class Connection;
struct Worker;

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
    http::SseParser sse;
    providers::OpenAIChunkWriter chunk_writer;
  };

  Buffers& lend();
  // One large answer must not pin its memory for as long as the connection stays open.
  void release_large();
  // The connection's decoder for the provider's wire format, reset for a new response; nullptr
  // when the provider's answers pass through. It keeps parse buffers from one answer to the next.
  providers::ResponseDecoder* decoder_for(const providers::Provider& provider);

 private:
  Buffers buffers_;
  std::unique_ptr<providers::ResponseDecoder> decoder_;
  std::string decoder_type_;
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

class CompletionExchange final : public std::enable_shared_from_this<CompletionExchange>,
                                 public http::UpstreamHandler {
 public:
  using Clock = std::chrono::steady_clock;

  CompletionExchange(Worker& worker, std::shared_ptr<Connection> connection, std::shared_ptr<const GatewayState> state,
                     ExchangeScratch& scratch, providers::Endpoint endpoint, const http::RequestHead& head,
                     std::string_view request_id, std::string_view response_headers);
  ~CompletionExchange() override;
  CompletionExchange(const CompletionExchange&) = delete;
  CompletionExchange& operator=(const CompletionExchange&) = delete;

  void start();
  // The connection has written the whole answer (client_left = false) or lost its client.
  void end(bool client_left);
  void resume_output();  // the client has caught up with a paused stream
  void cut_for_shutdown();

  // UpstreamHandler
  void on_headers(int status, std::string_view content_type, std::string_view retry_after) override;
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
  bool note_event(const http::SseEvent& event);   // [DONE] and usage of a passed-through stream
  void open_client_stream();
  bool fail_attempt();  // from inside a transfer callback; returns false (pause the transfer)
  void attempt_failed(router::FailureKind kind, Error error);
  void finish_stream(const http::TransferResult& result);
  void send_translated_body();
  void send_error(const Error& e);
  void send(int status, std::string_view content_type, std::string_view body);
  void record_usage();
  void stop_upstream();
  governance::FinishedRequest finished_request(int status) const;  // exchange_accounting.cpp
  governance::Cost answer_cost(std::string_view answer_body) const;
  void forward_with_cost(std::string_view bytes);  // a passed-through stream whose client asked for usage

  // Declared first so it is destroyed last: the scratch below belongs to the connection's handler.
  std::shared_ptr<Connection> connection_;
  Worker& worker_;
  std::shared_ptr<const GatewayState> state_;  // this request's config snapshot
  ExchangeScratch::Buffers& buffers_;
  ExchangeScratch& scratch_;
  const providers::Endpoint endpoint_;
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
  providers::ChatResponse chat_response_;
  http::UpstreamClient::TransferId transfer_ = 0;
  std::shared_ptr<CompletionExchange> self_while_transfer_;
  std::optional<boost::asio::steady_timer> retry_timer_;
  int upstream_status_ = 0;
  int response_status_ = 0;
  bool stream_ = false;
  bool upstream_streaming_ = false;  // this attempt's upstream answered a stream with 2xx
  bool streaming_ = false;           // the client's stream has begun (its 200 is sent)
  std::optional<Error> attempt_error_;
  std::optional<ContentGate> gate_;  // translated streams
  bool saw_done_ = false;
  bool saw_finish_ = false;  // a pass-through stream's finish_reason event
  bool paused_ = false;
  bool ended_ = false;
  json::Usage usage_;
  int64_t created_ = 0;
  std::optional<Clock::time_point> answered_at_;  // first content (stream) or the whole answer
  governance::StreamTextEstimate streamed_text_;  // pass-through streams, for a cost estimate
  std::string error_type_;                        // of the error answered, for the ledger
};

}  // namespace llmux::server
