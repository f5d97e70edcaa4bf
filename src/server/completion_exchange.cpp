#include "server/completion_exchange.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include <boost/asio/post.hpp>

#include "core/text.hpp"
#include "observability/log.hpp"
#include "server/connection.hpp"
#include "server/endpoints/endpoints.hpp"
#include "json/body_edit.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace asio = boost::asio;

namespace {
constexpr size_t kMaxErrorBody = 1 << 20;
// A stream whose events carry no content for this many bytes is taken as started all the same.
constexpr size_t kMaxHeldBeforeContent = 64 * 1024;

// An empty request with the storage of `used`: every field at its default, whatever fields the
// type gains later.
void reuse(http::UpstreamRequest& used) {
  http::UpstreamRequest fresh;
  used.url.clear();
  used.body.clear();
  used.headers.clear();
  fresh.url = std::move(used.url);
  fresh.body = std::move(used.body);
  fresh.headers = std::move(used.headers);
  used = std::move(fresh);
}
// Whether an OpenAI stream event carries part of the answer (text, reasoning, a tool call) or its
// end. The role-only first chunk does not: a provider that sends it and then fails or stalls can
// still be left for another. Cheap substring checks; only used until the first such event.
// Whether `key` (written with its quotes and colon) is followed by a non-empty string value.
bool has_string_value(std::string_view data, std::string_view key) {
  for (size_t at = data.find(key); at != std::string_view::npos; at = data.find(key, at + 1)) {
    size_t i = at + key.size();
    while (i < data.size() && data[i] == ' ') ++i;
    if (i + 1 < data.size() && data[i] == '"' && data[i + 1] != '"') return true;
  }
  return false;
}

// Whether an OpenAI stream event carries part of the answer (text, reasoning, a tool call) or its
// end. The role-only first chunk does not: a provider that sends it and then fails or stalls can
// still be left for another. Cheap substring checks; only used until the first such event.
bool carries_content(std::string_view data) {
  return has_string_value(data, "\"content\":") || has_string_value(data, "\"reasoning_content\":") ||
         has_string_value(data, "\"text\":") || has_string_value(data, "\"finish_reason\":") ||
         data.find("\"tool_calls\"") != std::string_view::npos;
}

bool is_error_event(std::string_view data) {
  size_t i = 0;
  while (i < data.size() && (data[i] == ' ' || data[i] == '\n')) ++i;
  return data.substr(i).starts_with("{\"error\"");
}

}  // namespace

// --- content gate ----------------------------------------------------------------------------------

void ContentGate::on_event(const providers::StreamEvent& e) {
  using Kind = providers::StreamEvent::Kind;
  if (!content_) {
    if (e.kind == Kind::error) {  // before any content: the attempt failed, nothing is forwarded
      error_ = true;
      error_type_.assign(e.error_type);
      error_text_.assign(e.text);
      return;
    }
    bool text = (e.kind == Kind::text || e.kind == Kind::reasoning) && !e.text.empty();
    content_ = text || e.kind == Kind::tool_call || e.kind == Kind::tool_arguments || e.kind == Kind::finish ||
               e.kind == Kind::done;
  }
  next_->on_event(e);
}

// --- scratch ---------------------------------------------------------------------------------------

ExchangeScratch::Buffers& ExchangeScratch::lend() {
  auto& b = buffers_;
  reuse(b.upstream_request);
  for (std::string* s : {&b.upstream_body, &b.translated, &b.request_id, &b.headers, &b.upstream_content_type,
                         &b.retry_after})
    s->clear();
  b.sse.reset();
  b.chunk_writer = providers::OpenAIChunkWriter{};
  // read_request resets the fields before it fills them; they are emptied here all the same so
  // nothing of the last request is visible even to an exchange that fails before reading.
  auto keys = std::move(b.fields.top_level_keys);
  auto model = std::move(b.fields.model);
  keys.clear();
  model.clear();
  b.fields = json::RequestFields{};
  b.fields.top_level_keys = std::move(keys);
  b.fields.model = std::move(model);
  return b;
}

void ExchangeScratch::release_large() {
  constexpr size_t kKeep = 64 * 1024;
  auto& b = buffers_;
  for (std::string* s : {&b.upstream_body, &b.translated, &b.upstream_request.body})
    if (s->capacity() > kKeep) std::string().swap(*s);
}

providers::ResponseDecoder* ExchangeScratch::decoder_for(const providers::Provider& provider) {
  const std::string& type = provider.config().type;
  if (!decoder_ || decoder_type_ != type) {
    decoder_ = provider.make_response_decoder();
    decoder_type_ = type;
  }
  if (decoder_) decoder_->reset();
  return decoder_.get();
}

// --- exchange --------------------------------------------------------------------------------------

CompletionExchange::CompletionExchange(Worker& worker, std::shared_ptr<Connection> connection,
                                       std::shared_ptr<const GatewayState> state, ExchangeScratch& scratch,
                                       providers::Endpoint endpoint, const http::RequestHead& head,
                                       std::string_view request_id, std::string_view response_headers)
    : connection_(std::move(connection)),
      worker_(worker),
      state_(std::move(state)),
      buffers_(scratch.lend()),
      scratch_(scratch),
      endpoint_(endpoint),
      body_(head.body),
      head_(head) {
  buffers_.request_id.assign(request_id);
  buffers_.headers.assign(response_headers);
}

CompletionExchange::~CompletionExchange() {
  stop_upstream();
  scratch_.release_large();
}

void CompletionExchange::stop_upstream() {
  if (transfer_) {
    worker_.upstream.cancel(transfer_);
    transfer_ = 0;
  }
  if (retry_timer_) retry_timer_->cancel();
}

void CompletionExchange::start() {
  auto& fields = buffers_.fields;
  if (auto read = json::read_request(body_, fields); !read) return send_error(read.error());
  if (auto invalid = validate_fields(); invalid) return send_error(*invalid);

  // The route: the requested model's deployments in order, then the request's own fallbacks.
  if (std::find(fields.top_level_keys.begin(), fields.top_level_keys.end(), "fallbacks") != fields.top_level_keys.end()) {
    if (auto read = json::read_fallbacks(body_, body_fallbacks_); !read) return send_error(read.error());
    fallbacks_in_body_ = true;
  }
  const auto& router_config = state_->config.router;
  std::optional<router::Millis> header_timeout;
  if (!head_.timeout.empty()) {
    auto t = router::parse_timeout_header(head_.timeout, router_config);
    if (!t) return send_error(t.error());
    header_timeout = *t;
  }
  router::RouteRequest ask{fields.model, head_.provider, head_.fallbacks, body_fallbacks_};
  if (auto routed = state_->routes->route(ask, *state_->stats, router::thread_random(), route_); !routed)
    return send_error(routed.error());

  const router::Deployment& first = route_[0];
  if (fields.max_tokens && first.model && first.model->context_window &&
      *fields.max_tokens > *first.model->context_window) {
    return send_error(Error::make(
        ErrorKind::invalid_request,
        std::string("'") + fields.max_tokens_key + "' (" + std::to_string(*fields.max_tokens) +
            ") exceeds the context window of model '" + first.model->id + "' (" +
            std::to_string(*first.model->context_window) + " tokens)",
        fields.max_tokens_key, "context_length_exceeded"));
  }

  stream_ = fields.stream && endpoint_ != providers::Endpoint::embeddings;
  auto now = router::Instant::now();
  planner_.emplace(router_config, route_, *state_->breakers, *state_->stats, router::thread_random(), now,
                   router::request_budget(router_config, header_timeout));
  act(planner_->first(now));
}

// The router's decision, carried out; the exchange never decides a retry or a fallback itself.
void CompletionExchange::act(const router::Decision& d) {
  switch (d.action) {
    case router::Decision::Action::answer: return;  // the caller sends the answer it has
    case router::Decision::Action::fail: return send_error(planner_->final_error());
    case router::Decision::Action::attempt: break;
  }
  if (auto prepared = prepare_attempt(*d.deployment, d.timeouts); !prepared) {
    return act(planner_->after(router::AttemptOutcome::http_error(400, prepared.error().code), router::Instant::now(),
                               prepared.error()));
  }
  auto wait = d.start_at - router::SteadyClock::now();
  if (wait <= router::SteadyClock::duration::zero()) return start_attempt();
  retry_timer_.emplace(worker_.io, wait);
  retry_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->ended_) self->start_attempt();
  });
}

// The upstream request for `deployment`, encoded again only when the deployment changed.
Expected<void, Error> CompletionExchange::prepare_attempt(const router::Deployment& deployment,
                                                          const router::AttemptTimeouts& timeouts) {
  auto& request = buffers_.upstream_request;
  if (encoded_for_ != &deployment) {
    resolution_.provider = deployment.provider;
    resolution_.model = deployment.model;
    resolution_.upstream_model = deployment.upstream_model;
    decoder_ = scratch_.decoder_for(*deployment.provider);
    if (decoder_ && created_ == 0) created_ = static_cast<int64_t>(std::time(nullptr));
    providers::EncodeInput input{endpoint_, body_, &buffers_.fields, deployment.upstream_model, buffers_.request_id,
                                 stream_};
    if (auto encoded = deployment.provider->encode_into(input, request); !encoded)
      return unexpected(std::move(encoded).error());
    if (fallbacks_in_body_) json::remove_top_level_member(request.body, "fallbacks");
    encoded_for_ = &deployment;
    // With one deployment the body is never encoded again: a large one need not live as long as
    // the answer takes.
    if (route_.size() == 1) connection_->release_request_body();
  }
  request.connect_timeout = timeouts.connect;
  request.timeout = std::max(timeouts.headers, timeouts.idle);
  return {};
}

std::optional<Error> CompletionExchange::validate_fields() const {
  using json::JsonType;
  const auto& f = buffers_.fields;
  if (f.model_type != JsonType::absent && f.model_type != JsonType::string)
    return Error::make(ErrorKind::invalid_request, "'model' must be a string", "model", "invalid_type");
  switch (endpoint_) {
    case providers::Endpoint::chat_completions:
      if (f.messages_type == JsonType::absent)
        return Error::make(ErrorKind::invalid_request, "'messages' is required", "messages", "missing_required_parameter");
      if (f.messages_type != JsonType::array)
        return Error::make(ErrorKind::invalid_request, "'messages' must be an array", "messages", "invalid_type");
      if (f.message_count == 0)
        return Error::make(ErrorKind::invalid_request, "'messages' must contain at least one message", "messages", "empty_array");
      break;
    case providers::Endpoint::completions:
      if (f.prompt_type == JsonType::absent)
        return Error::make(ErrorKind::invalid_request, "'prompt' is required", "prompt", "missing_required_parameter");
      if (f.prompt_type != JsonType::string && f.prompt_type != JsonType::array)
        return Error::make(ErrorKind::invalid_request, "'prompt' must be a string or an array", "prompt", "invalid_type");
      break;
    case providers::Endpoint::embeddings:
      if (f.input_type == JsonType::absent)
        return Error::make(ErrorKind::invalid_request, "'input' is required", "input", "missing_required_parameter");
      if (f.input_type != JsonType::string && f.input_type != JsonType::array)
        return Error::make(ErrorKind::invalid_request, "'input' must be a string or an array", "input", "invalid_type");
      if (f.input_type == JsonType::array && f.input_count == 0)
        return Error::make(ErrorKind::invalid_request, "'input' must not be empty", "input", "empty_array");
      break;
    case providers::Endpoint::models: break;
  }
  return std::nullopt;
}

// One attempt's state starts empty; what the request itself carries (fields, encoded request)
// stays for the next attempt.
void CompletionExchange::start_attempt() {
  upstream_status_ = 0;
  saw_done_ = false;
  saw_finish_ = false;
  upstream_streaming_ = false;
  attempt_error_.reset();
  buffers_.upstream_body.clear();
  buffers_.translated.clear();
  buffers_.sse.reset();
  if (decoder_) {
    decoder_->reset();
    buffers_.chunk_writer = providers::OpenAIChunkWriter{};
    buffers_.chunk_writer.begin(&buffers_.translated, created_, buffers_.fields.include_usage);
    buffers_.chunk_writer.price_usage_with(resolution_.model ? &resolution_.model->prices : nullptr, body_);
    gate_.emplace(buffers_.chunk_writer);
  }
  auto now = Clock::now();
  overhead_ += now - phase_start_;
  attempt_started_ = now;
  transfer_ = worker_.upstream.start(buffers_.upstream_request, this);
  self_while_transfer_ = shared_from_this();
}

// The attempt in flight succeeded (a whole answer, or a stream's first content): the router
// records it, and the answer goes out.
void CompletionExchange::attempt_succeeded() {
  auto now = Clock::now();
  phase_start_ = now;
  answered_at_ = now;
  auto ttft = std::chrono::duration_cast<std::chrono::microseconds>(now - attempt_started_);
  planner_->after(router::AttemptOutcome::success(ttft), router::Instant::now());
}

// x-llmux-provider, -model, -attempts and -overhead-ms on the answer (success or final error).
void CompletionExchange::add_routing_headers() {
  if (!planner_ || routing_headers_added_) return;
  routing_headers_added_ = true;
  auto& h = buffers_.headers;
  if (resolution_.provider) {
    h += "x-llmux-provider: ";
    h += resolution_.provider->id();
    h += "\r\nx-llmux-model: ";
    h += resolution_.upstream_model;
    h += "\r\n";
  }
  h += "x-llmux-attempts: ";
  planner_->append_attempts_header(h);
  overhead_ += Clock::now() - phase_start_;
  phase_start_ = Clock::now();
  // Milliseconds with three decimals, written without printf's floating-point formatting.
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(overhead_).count();
  char digits[24];
  h += "\r\nx-llmux-overhead-ms: ";
  h.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, us / 1000).ptr - digits));
  char fraction[4] = {static_cast<char>('.'), static_cast<char>('0' + us / 100 % 10),
                      static_cast<char>('0' + us / 10 % 10), static_cast<char>('0' + us % 10)};
  h.append(fraction, 4);
  h += "\r\n";
}

// --- upstream events -------------------------------------------------------------------------------

void CompletionExchange::on_headers(int status, std::string_view content_type, std::string_view retry_after) {
  upstream_status_ = status;
  buffers_.retry_after.assign(retry_after);
  buffers_.upstream_content_type.assign(content_type);
  // A stream's 200 goes to the client only with its first content (open_client_stream): until
  // then a failure of this attempt can still be answered by another.
  upstream_streaming_ = status >= 200 && status < 300 && stream_;
}

void CompletionExchange::open_client_stream() {
  attempt_succeeded();
  streaming_ = true;
  response_status_ = 200;
  add_routing_headers();
  connection_->begin_stream(200, "text/event-stream", buffers_.headers);
  // What arrived before the content (a role-only chunk, comments) goes out first, in order.
  connection_->stream(buffers_.upstream_body);
  buffers_.upstream_body.clear();
}

bool CompletionExchange::on_body(std::string_view bytes) {
  if (!upstream_streaming_) {
    auto& body = buffers_.upstream_body;
    bool success = upstream_status_ >= 200 && upstream_status_ < 300;
    if (success || body.size() < kMaxErrorBody) body.append(bytes);
    return true;
  }
  if (decoder_) {
    if (!translate_stream(bytes)) return fail_attempt();
  } else if (streaming_ && buffers_.fields.include_usage) {
    forward_with_cost(bytes);
  } else if (streaming_) {
    // Forward as received: no re-framing, no waiting for event boundaries.
    connection_->stream(bytes);
    buffers_.sse.feed(bytes, [this](const http::SseEvent& e) { return note_event(e); });
  } else {
    // Held until the first event with content; an error event before it fails the attempt.
    buffers_.upstream_body.append(bytes);
    bool content = false;
    buffers_.sse.feed(bytes, [&](const http::SseEvent& e) {
      if (!content && is_error_event(e.data)) {
        attempt_error_ = resolution_.provider->decode_error(502, e.data, {});
        return false;
      }
      content = content || carries_content(e.data);
      return note_event(e);
    });
    if (attempt_error_) return fail_attempt();
    if (content || buffers_.upstream_body.size() > kMaxHeldBeforeContent) open_client_stream();
  }
  if (connection_->over_high_water()) {
    paused_ = true;
    return false;
  }
  return true;
}

void CompletionExchange::begin_translated_stream() {
  attempt_succeeded();
  streaming_ = true;
  response_status_ = 200;
  add_routing_headers();
  connection_->begin_stream(200, "text/event-stream", buffers_.headers);
  connection_->stream(buffers_.translated);
  buffers_.translated.clear();
}

bool CompletionExchange::note_event(const http::SseEvent& e) {
  if (e.data == "[DONE]") {
    saw_done_ = true;
    return true;
  }
  if (json::has_usage_object(e.data)) {
    if (auto u = json::read_usage(e.data)) usage_ = *u;
  }
  streamed_text_.add(e.data);
  if (!saw_finish_ && has_string_value(e.data, "\"finish_reason\":")) saw_finish_ = true;
  return true;
}

// Events of one upstream read leave as one chunk of OpenAI events.
bool CompletionExchange::translate_stream(std::string_view bytes) {
  auto& writer = buffers_.chunk_writer;
  auto& gate = *gate_;
  buffers_.sse.feed(bytes, [&](const http::SseEvent& e) {
    if (writer.ended() || gate.failed()) return false;
    if (auto decoded = decoder_->decode_event(e, gate); !decoded) {
      Error error = std::move(decoded).error();
      error.message = "provider '" + resolution_.provider->id() + "': " + error.message;
      if (!gate.content_seen()) {
        attempt_error_ = std::move(error);
        attempt_error_->http_status = 502;
        attempt_error_->retryable = false;
        return false;
      }
      writer.fail(error);
    }
    return true;
  });
  if (gate.failed() && !attempt_error_) {
    Error e = Error::make(ErrorKind::upstream_error,
                          "provider '" + resolution_.provider->id() + "' failed before answering: " + gate.error_text(),
                          {}, gate.error_type());
    e.http_status = gate.error_type() == "overloaded_error" ? 529 : 502;
    e.retryable = true;
    attempt_error_ = resolution_.provider->scrubbed(std::move(e));
  }
  if (attempt_error_) return false;
  if (!streaming_) {
    if (!gate.content_seen()) return true;  // held in `translated` until the answer starts
    begin_translated_stream();
  }
  if (!buffers_.translated.empty()) {
    // An upstream error event's text reaches the client: it goes through the provider's scrubber
    // like every other upstream text.
    if (writer.failed()) resolution_.provider->scrub(buffers_.translated);
    connection_->stream(buffers_.translated);
    buffers_.translated.clear();
  }
  return true;
}

// Called from inside the transfer's callbacks, which must not cancel it: the upstream is paused
// (on_body returns false) and the attempt is given up from the loop.
bool CompletionExchange::fail_attempt() {
  asio::post(worker_.io, [self = shared_from_this()] {
    if (self->ended_ || !self->attempt_error_) return;
    self->stop_upstream();
    self->self_while_transfer_.reset();
    Error e = std::move(*self->attempt_error_);
    self->attempt_error_.reset();
    self->attempt_failed(router::FailureKind::error_event, std::move(e));
  });
  return false;
}

void CompletionExchange::attempt_failed(router::FailureKind kind, Error e) {
  observability::log_warning("request " + buffers_.request_id + ": provider '" + resolution_.provider->id() +
                             "' attempt " + std::to_string(planner_->attempts()) + " failed: " + e.message);
  router::AttemptOutcome outcome{kind, e.http_status, e.code, e.message, buffers_.retry_after};
  phase_start_ = Clock::now();
  act(planner_->after(outcome, router::Instant::now(), std::move(e)));
}

void CompletionExchange::resume_output() {
  if (paused_ && transfer_) {
    paused_ = false;
    worker_.upstream.resume(transfer_);
  }
}

void CompletionExchange::on_complete(const http::TransferResult& result) {
  transfer_ = 0;
  auto self = std::move(self_while_transfer_);  // alive through this function
  const auto& provider = *resolution_.provider;
  if (attempt_error_) return;  // fail_attempt has taken over
  if (upstream_streaming_ && !streaming_ && result.failure == http::TransferFailure::none) {
    // The stream ended before anything with content: complete (an empty answer), or cut.
    bool complete = decoder_ ? buffers_.chunk_writer.ended() && !gate_->failed() : saw_done_;
    if (!complete) {
      Error e = Error::make(ErrorKind::upstream_error,
                            "stream from provider '" + provider.id() + "' (" + buffers_.upstream_request.url +
                                ") ended before any content",
                            {}, "upstream_stream_ended");
      e.http_status = 502;
      e.retryable = true;
      return attempt_failed(router::FailureKind::reset_before_headers, std::move(e));
    }
    if (decoder_) begin_translated_stream();
    else open_client_stream();
  }
  if (streaming_) return finish_stream(result);
  if (result.failure != http::TransferFailure::none) {
    Error e = providers::transfer_error(provider, buffers_.upstream_request.url, result,
                                        buffers_.upstream_request.timeout);
    router::FailureKind kind = router::FailureKind::malformed;
    switch (result.failure) {
      case http::TransferFailure::connect: kind = router::FailureKind::connect; break;
      case http::TransferFailure::reset: kind = router::FailureKind::reset_before_headers; break;
      case http::TransferFailure::timeout:
        kind = upstream_status_ ? router::FailureKind::first_token_timeout : router::FailureKind::headers_timeout;
        break;
      default: break;
    }
    return attempt_failed(kind, std::move(e));
  }
  if (upstream_status_ < 200 || upstream_status_ >= 300) {
    Error e = provider.decode_error(upstream_status_, buffers_.upstream_body, buffers_.retry_after);
    observability::log_warning("request " + buffers_.request_id + ": provider '" + provider.id() + "' attempt " +
                               std::to_string(planner_->attempts()) + " failed: status " +
                               std::to_string(upstream_status_));
    router::AttemptOutcome outcome = router::AttemptOutcome::from_error(e, buffers_.retry_after);
    outcome.status = upstream_status_;
    phase_start_ = Clock::now();
    return act(planner_->after(outcome, router::Instant::now(), std::move(e)));
  }
  if (decoder_) return send_translated_body();
  const auto& body = buffers_.upstream_body;
  auto usage = json::read_usage(body);
  if (!usage && json::locate_syntax_error(body)) {
    Error e = Error::make(ErrorKind::upstream_error,
                          "provider '" + provider.id() + "' returned a malformed response (" +
                              buffers_.upstream_request.url + ")",
                          {}, "upstream_malformed_response");
    e.http_status = 502;
    return attempt_failed(router::FailureKind::malformed, std::move(e));
  }
  attempt_succeeded();
  if (usage) usage_ = *usage;
  record_usage();
  const auto& type = buffers_.upstream_content_type;
  send(200, type.empty() ? std::string_view("application/json") : std::string_view(type), body);
}

void CompletionExchange::finish_stream(const http::TransferResult& result) {
  const auto& provider = *resolution_.provider;
  auto& writer = buffers_.chunk_writer;
  bool ended = decoder_ ? writer.ended() : saw_done_ && result.failure == http::TransferFailure::none;
  // An upstream that finished its answer (a finish reason) and closed cleanly without [DONE] is a
  // success: the client gets the [DONE] its SDK waits for.
  if (!ended && !decoder_ && saw_finish_ && result.failure == http::TransferFailure::none) {
    connection_->stream("data: [DONE]\n\n");
    ended = true;
  }
  if (!ended) {
    std::string why = result.failure == http::TransferFailure::timeout
                          ? "stopped sending for " + providers::format_duration(buffers_.upstream_request.timeout)
                      : result.failure != http::TransferFailure::none ? "broke off: " + result.detail
                                                                       : "ended before [DONE]";
    Error e = Error::make(ErrorKind::upstream_error,
                          "stream from provider '" + provider.id() + "' (" + buffers_.upstream_request.url + ") " + why);
    observability::log_warning("request " + buffers_.request_id + ": " + e.message);
    planner_->answer_broke(router::Instant::now());
    std::string event = "data: " + to_openai_json(e) + "\n\n";
    connection_->stream(event);
  }
  if (decoder_) usage_ = writer.usage();
  record_usage();
  connection_->end_stream();
}

void CompletionExchange::send_translated_body() {
  if (auto decoded = decoder_->decode_body(buffers_.upstream_body, chat_response_); !decoded) {
    Error e = std::move(decoded).error();
    e.message = "provider '" + resolution_.provider->id() + "' (" + buffers_.upstream_request.url + "): " + e.message;
    e.provider = resolution_.provider->id();
    e.http_status = 502;
    return attempt_failed(router::FailureKind::malformed, std::move(e));
  }
  attempt_succeeded();
  auto& out = buffers_.translated;
  out.clear();
  providers::write_chat_completion(chat_response_, created_, out);
  usage_ = chat_response_.usage;
  record_usage();
  send(200, "application/json", out);
}

// --- answering -------------------------------------------------------------------------------------

void CompletionExchange::send_error(const Error& e) {
  response_status_ = e.http_status;
  error_type_ = e.type.empty() ? default_type(e.kind) : e.type;
  add_routing_headers();
  answer_error(*connection_, e, buffers_.request_id, buffers_.headers);
}

void CompletionExchange::send(int status, std::string_view content_type, std::string_view body) {
  response_status_ = status;
  add_routing_headers();
  if (status == 200) governance::append_cost_header(buffers_.headers, answer_cost(body));
  connection_->respond(status, content_type, body, buffers_.headers);
}

void CompletionExchange::record_usage() {
  auto& totals = worker_.usage_for(resolution_.provider->id());
  totals.requests.fetch_add(1, std::memory_order_relaxed);
  totals.prompt_tokens.fetch_add(static_cast<uint64_t>(usage_.prompt_tokens), std::memory_order_relaxed);
  totals.completion_tokens.fetch_add(static_cast<uint64_t>(usage_.completion_tokens), std::memory_order_relaxed);
}

void CompletionExchange::end(bool client_left) {
  if (ended_) return;
  ended_ = true;
  stop_upstream();
  self_while_transfer_.reset();
  if (planner_ && (client_left || transfer_)) planner_->abandon();
  observability::RequestRecord r;
  if (resolution_.provider) r.provider = resolution_.provider->id();
  if (resolution_.model) r.model = resolution_.model->id;
  r.status = client_left ? 499 : response_status_;  // 499: the client left first (nginx's code)
  r.duration = Clock::now() - started_;
  r.prompt_tokens = usage_.prompt_tokens;
  r.completion_tokens = usage_.completion_tokens;
  worker_.metrics.record(r);
  if (auto& ledger = worker_.server.ledger) ledger->record(governance::usage_row(finished_request(r.status)));
}

void CompletionExchange::cut_for_shutdown() {
  stop_upstream();
  Error e = Error::make(ErrorKind::upstream_error, "gateway shutting down: the answer was cut", {}, "gateway_shutdown");
  e.http_status = 503;
  if (!streaming_) return send_error(e);
  std::string event = "data: " + to_openai_json(e) + "\n\n";
  connection_->stream(event);
  connection_->end_stream();
}

}  // namespace llmux::server
