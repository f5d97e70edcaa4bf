#include "server/completion_exchange.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include <boost/asio/post.hpp>

#include "core/text.hpp"
#include "providers/anthropic/anthropic_inbound.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"
#include "observability/log.hpp"
#include "server/connection.hpp"
#include "server/endpoints/endpoints.hpp"
#include "server/spare_buffers.hpp"
#include "json/body_edit.hpp"
#include "json/simdjson_support.hpp"
#include "providers/responses_support.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace asio = boost::asio;

namespace {

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

}  // namespace

// --- scratch ---------------------------------------------------------------------------------------

ExchangeScratch::Buffers& ExchangeScratch::lend() {
  auto& b = buffers_;
  reuse(b.upstream_request);
  for (std::string* s : {&b.upstream_body, &b.translated, &b.request_id, &b.headers, &b.upstream_content_type,
                         &b.retry_after, &b.error_type})
    s->clear();
  b.sse.reset();
  b.chunk_shape.forget();
  b.chunk_writer = providers::OpenAIChunkWriter{};
  if (b.dialect) b.dialect->chat_body.clear();
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
  auto& call = CallScratch::of_this_thread();
  for (std::string* s : {&call.events_out, &call.json_pad, &call.cost_event})
    if (s->capacity() > kKeep) std::string().swap(*s);
}

size_t ExchangeScratch::release_idle() {
  // Anything empty goes: the sweep runs once a second, so a busy stream regrows a buffer at most
  // once a second, and a slow one holds only what is in flight (issue 12: memory per stream).
  auto& b = buffers_;
  size_t released = b.sse.release_idle();
  for (std::string* s : {&b.upstream_body, &b.translated})
    if (s->empty() && s->capacity() > spare_buffers::kIdleKeep) {
      released += s->capacity();
      std::string().swap(*s);
    }
  return released;
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

providers::ResponseDecoder* ExchangeScratch::openai_decoder() {
  if (!openai_decoder_) openai_decoder_ = providers::make_openai_decoder();
  openai_decoder_->reset();
  return openai_decoder_.get();
}

// --- exchange --------------------------------------------------------------------------------------

CompletionExchange::CompletionExchange(Worker& worker, std::shared_ptr<Connection> connection,
                                       std::shared_ptr<const GatewayState> state, ExchangeScratch& scratch,
                                       providers::Endpoint endpoint, const http::RequestHead& head,
                                       std::string& request_id, std::string& response_headers,
                                       std::shared_ptr<const governance::KeyPolicy> key,
                                       const InboundDialect& dialect)
    : connection_(std::move(connection)),
      worker_(worker),
      state_(std::move(state)),
      key_(std::move(key)),
      buffers_(scratch.lend()),
      scratch_(scratch),
      endpoint_(endpoint),
      dialect_(dialect),
      writer_(dialect.native_api()
                  ? static_cast<providers::ClientStreamWriter*>(&buffers_.dialect.get_or_make().anthropic_writer)
                                   : &buffers_.chunk_writer),
      body_(head.body),
      head_(head) {
  buffers_.request_id.swap(request_id);  // lend() emptied the scratch's
  buffers_.headers.swap(response_headers);
}

CompletionExchange::~CompletionExchange() {
  settle_governance(0, 0);  // after end() nothing is held; an exchange that never ended gives back
  stop_upstream();
  scratch_.release_large();
}

void CompletionExchange::stop_upstream() {
  if (transfer_) {
    worker_.upstream.cancel(transfer_);
    transfer_ = 0;
  }
  if (timer_) timer_->cancel();
}

void CompletionExchange::start() {
  auto& fields = buffers_.fields;
  if (auto read = json::read_request(body_, fields); !read) return send_error(read.error());
  if (auto invalid = validate_fields(); invalid) return send_error(*invalid);
  // Another dialect's request in OpenAI's form, for the providers that do not serve it natively.
  // A request that has none may still go to one that does: the error waits for the route.
  if (dialect_.native_api()) {
    auto& chat = *buffers_.dialect;  // made with the exchange for a native_api() dialect
    if (auto converted = dialect_.to_chat_request(body_, chat.chat_body); !converted)
      conversion_error_ = std::move(converted).error();
    else if (prompt_text_bytes_ = *converted; !json::read_request(chat.chat_body, chat.chat_fields))
      conversion_error_ = Error::make(ErrorKind::internal, "the translated request is not valid JSON");
    // The fields' key views live in the reader's per-thread buffer, which the read above reused.
    if (auto read = json::read_request(body_, fields); !read) return send_error(read.error());
  }

  // The route: the requested model's deployments in order, then the request's own fallbacks.
  if (std::find(fields.top_level_keys.begin(), fields.top_level_keys.end(), "fallbacks") != fields.top_level_keys.end()) {
    if (auto read = json::read_fallbacks(body_, body_fallbacks_); !read) return send_error(read.error());
    fallbacks_in_body_ = true;
  }
  if (auto denied = model_denied()) return send_error(*denied);
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

  if (auto api = dialect_.native_api()) {
    bool any_native = false;
    for (size_t i = 0; i < route_.size(); ++i) any_native = any_native || route_[i].provider->serves_native(*api);
    if (conversion_error_ && !any_native) return send_error(*conversion_error_);
    if (*api == providers::NativeApi::anthropic_count_tokens && !route_[0].provider->serves_native(*api))
      return answer_token_estimate();
  }
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
  auto budget = router::request_budget(router_config, header_timeout);
  if (budget) request_deadline_ = started_ + *budget;
  if (stream_ && endpoint_ == providers::Endpoint::chat_completions && !dialect_.native_api() &&
      router_config.max_resumes > 0)
    for (size_t i = 0; i < route_.size(); ++i) resumable_route_ = resumable_route_ || route_[i].resume_prefill;
  track_text_ = stream_ && (resumable_route_ || fields.include_usage);
  if (auto refused = admit_key()) return send_error(*refused);
  auto now = router::Instant::now();
  planner_.emplace(router_config, route_, *state_->breakers, *state_->stats, router::thread_random(), now, budget);
  if (state_->governance->any_provider_governed()) planner_->set_gate(this);
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
    // Its own status: 400 for a request the deployment cannot take, 501 (moved past, no breaker
    // failure) for an endpoint its provider does not serve.
    return act(planner_->after(router::AttemptOutcome::http_error(prepared.error().http_status, prepared.error().code),
                               router::Instant::now(), prepared.error()));
  }
  auto wait = d.start_at - router::SteadyClock::now();
  if (wait <= router::SteadyClock::duration::zero()) return start_attempt();
  if (!timer_) timer_.emplace(worker_.io);
  timer_->expires_after(wait);
  timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
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
    auto api = dialect_.native_api();
    native_ = api && deployment.provider->serves_native(*api);
    if (native_) {
      decoder_ = nullptr;
      providers::EncodeInput input{endpoint_, body_, &buffers_.fields, deployment.upstream_model, buffers_.request_id,
                                   stream_, head_.anthropic_beta};
      if (auto encoded = deployment.provider->encode_native(*api, input, request); !encoded)
        return unexpected(std::move(encoded).error());
    } else {
      if (api && conversion_error_) return unexpected(*conversion_error_);
      // Responses bodies pass through: only providers that speak them are sent them.
      if (endpoint_ == providers::Endpoint::responses && !serves_responses(deployment.provider->config()))
        return unexpected(providers::unsupported_responses(*deployment.provider));
      decoder_ = endpoint_ == providers::Endpoint::responses ? nullptr : scratch_.decoder_for(*deployment.provider);
      if (!decoder_ && api) decoder_ = scratch_.openai_decoder();  // OpenAI's shape, written in the client's
      if (decoder_ && created_ == 0) created_ = static_cast<int64_t>(std::time(nullptr));
      providers::EncodeInput input{endpoint_, api ? std::string_view(buffers_.dialect->chat_body) : body_,
                                   api ? &buffers_.dialect->chat_fields : &buffers_.fields, deployment.upstream_model,
                                   buffers_.request_id, stream_, head_.anthropic_beta};
      if (auto encoded = deployment.provider->encode_into(input, request); !encoded)
        return unexpected(std::move(encoded).error());
    }
    if (fallbacks_in_body_) json::remove_top_level_member(request.body, "fallbacks");
    encoded_for_ = &deployment;
    // With one deployment the body is never encoded again: a large one need not live as long as
    // the answer takes.
    if (route_.size() == 1 && !resumable_route_) connection_->release_request_body();
  }
  timeouts_ = timeouts;
  request.connect_timeout = timeouts.connect;
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
    case providers::Endpoint::responses:
      if (f.input_type != JsonType::absent && f.input_type != JsonType::string && f.input_type != JsonType::array)
        return Error::make(ErrorKind::invalid_request, "'input' must be a string or an array", "input", "invalid_type");
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
  buffers_.sse.reset(decoder_ ? decoder_->stream_framing() : providers::StreamFraming::sse);
  if (decoder_) {
    decoder_->reset();
    if (!resuming_) {  // a resumed stream keeps its writer: same id, one role chunk
      if (writer_ == &buffers_.chunk_writer) buffers_.chunk_writer = providers::OpenAIChunkWriter{};
      writer_->begin(&buffers_.translated, created_, buffers_.fields.include_usage);
      writer_->default_model(resolution_.upstream_model);
    }
    if (tracker_) tool_call_seen_ = tool_call_seen_ || tracker_->tool_call_seen();
    writer_->price_usage_with(resolution_.model ? &resolution_.model->prices : nullptr, body_);
    tracker_.emplace(*writer_, resumable_route_ ? &sent_text_ : nullptr);
    tracker_->drop_start(resuming_);
    gate_.emplace(*tracker_);
  }
  auto now = Clock::now();
  overhead_ += now - phase_start_;
  attempt_started_ = now;
  // Until the headers come the engine's inactivity limit is the headers limit; the total is
  // enforced by the attempt timer from then on, and before by cutting the headers limit to it.
  first_token_due_ = Clock::time_point::max();
  total_due_ = timeouts_.total ? now + *timeouts_.total : Clock::time_point::max();
  auto& request = buffers_.upstream_request;
  request.timeout = timeouts_.total ? std::min(timeouts_.headers, *timeouts_.total) : timeouts_.headers;
  transfer_ = worker_.upstream.start(buffers_.upstream_request, attempt_handler());
  self_while_transfer_ = shared_from_this();
}

// The attempt in flight succeeded (a whole answer, or a stream's first content): the router
// records it, and the answer goes out.
void CompletionExchange::attempt_succeeded() {
  auto now = Clock::now();
  phase_start_ = now;
  answered_at_ = now;
  auto ttft = std::chrono::duration_cast<std::chrono::microseconds>(now - attempt_started_);
  state_->record_success(*resolution_.provider, now);
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

void CompletionExchange::on_headers(int status, std::string_view content_type, std::string_view retry_after,
                                    std::string_view error_type) {
  upstream_status_ = status;
  buffers_.retry_after.assign(retry_after);
  buffers_.error_type.assign(error_type);
  buffers_.upstream_content_type.assign(content_type);
  // A stream's 200 goes to the client only with its first content (open_client_stream): until
  // then a failure of this attempt can still be answered by another.
  upstream_streaming_ = status >= 200 && status < 300 && stream_;
  // One timer arm per attempt: the first-token limit of a stream (then, lazily, the total).
  if (upstream_streaming_) {
    first_token_due_ = Clock::now() + timeouts_.first_token;
    buffers_.upstream_request.timeout = timeouts_.first_token;
  } else {
    buffers_.upstream_request.timeout = timeouts_.idle;
  }
  arm_attempt_timer();
}

bool CompletionExchange::fail_attempt() {
  asio::post(worker_.io, [self = shared_from_this()] {
    if (self->ended_ || !self->attempt_error_) return;
    self->stop_upstream();
    self->self_while_transfer_.reset();
    Error e = std::move(*self->attempt_error_);
    self->attempt_error_.reset();
    if (self->resuming_) return self->resume_attempt_failed(std::move(e));
    self->attempt_failed(router::FailureKind::error_event, std::move(e));
  });
  return false;
}

void CompletionExchange::attempt_failed(router::FailureKind kind, Error e) {
  observability::log_warning("request " + buffers_.request_id + ": provider '" + resolution_.provider->id() +
                             "' attempt " + std::to_string(planner_->attempts()) + " failed: " + e.message);
  router::AttemptOutcome outcome{kind, e.http_status, e.code, e.message, buffers_.retry_after};
  state_->record_failure(*resolution_.provider, outcome);
  phase_start_ = Clock::now();
  act(planner_->after(outcome, router::Instant::now(), std::move(e)));
}

size_t CompletionExchange::release_idle() {
  size_t released = scratch_.release_idle();
  if (streaming_ && transfer_ && worker_.upstream.release_sent_request(transfer_, released)) {
    auto& request = buffers_.upstream_request;
    if (request.body.capacity() > std::string().capacity()) {
      released += request.body.capacity();
      std::string().swap(request.body);
    }
    released += request.headers.release();
    encoded_for_ = nullptr;  // whatever came next would encode the request again
  }
  return released;
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
  if (resuming_ && (result.failure != http::TransferFailure::none || !upstream_streaming_)) {
    if (result.failure != http::TransferFailure::none) return resume_attempt_failed(engine_timeout_error(result));
    return resume_attempt_failed(provider.decode_error_with_type(upstream_status_, buffers_.upstream_body, buffers_.retry_after,
                                                                     buffers_.error_type));
  }
  if (upstream_streaming_ && !streaming_ && result.failure == http::TransferFailure::none) {
    // The stream ended before anything with content: complete (an empty answer), or cut.
    bool complete = decoder_ ? writer_->ended() && !gate_->failed() : saw_done_;
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
    if (result.failure == http::TransferFailure::timeout && Clock::now() >= total_due_) return total_timed_out();
    Error e = engine_timeout_error(result);
    if (result.failure == http::TransferFailure::not_allowed) {  // the upstream guard: no retry, no fallback
      observability::log_warning("request " + buffers_.request_id + ": " + e.message);
      planner_->abandon();
      return send_error(e);
    }
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
    Error e = provider.decode_error_with_type(upstream_status_, buffers_.upstream_body, buffers_.retry_after,
                                                                     buffers_.error_type);
    observability::log_warning("request " + buffers_.request_id + ": provider '" + provider.id() + "' attempt " +
                               std::to_string(planner_->attempts()) + " failed: status " +
                               std::to_string(upstream_status_));
    router::AttemptOutcome outcome = router::AttemptOutcome::from_error(e, buffers_.retry_after);
    outcome.status = upstream_status_;
    state_->record_failure(provider, outcome);
    phase_start_ = Clock::now();
    return act(planner_->after(outcome, router::Instant::now(), std::move(e)));
  }
  if (decoder_) return send_translated_body();
  const auto& body = buffers_.upstream_body;
  auto usage = native_                                       ? providers::read_anthropic_usage(body)
               : endpoint_ == providers::Endpoint::responses ? providers::read_responses_usage(body)
                                                             : json::read_usage(body);
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

// --- timeouts ----------------------------------------------------------------------------------------

void CompletionExchange::arm_attempt_timer() {
  auto due = std::min(first_token_due_, total_due_);
  if (due == Clock::time_point::max()) return;
  if (!timer_) timer_.emplace(worker_.io);
  timer_->expires_at(due);
  timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->on_attempt_timer();
  });
}

void CompletionExchange::on_attempt_timer() {
  if (ended_ || !transfer_) return;
  auto now = Clock::now();
  if (now >= total_due_) {
    stop_upstream();
    self_while_transfer_.reset();
    return total_timed_out();
  }
  if (now < first_token_due_) return arm_attempt_timer();  // content came: the total is left
  stop_upstream();
  auto self = std::move(self_while_transfer_);
  Error e = timeout_error(TimeoutKind::first_token, *resolution_.provider, buffers_.upstream_request.url,
                          timeouts_.first_token);
  if (resuming_) return resume_attempt_failed(std::move(e));
  attempt_failed(router::FailureKind::first_token_timeout, std::move(e));
}

void CompletionExchange::content_started() {
  first_token_due_ = Clock::time_point::max();
  // The timer waited for the first token; now it waits for the total limit, or for nothing: a
  // stream without a total limit then holds no pending wait while it is open.
  if (timer_ && total_due_ == Clock::time_point::max()) timer_->cancel();
  buffers_.upstream_request.timeout = timeouts_.idle;
  if (resuming_) {
    resuming_ = false;
    resumed_ = true;
    ++resumes_spliced_;
    observability::log_info("request " + buffers_.request_id + ": stream resumed on provider '" +
                            resolution_.provider->id() + "' after " + std::to_string(sent_text_.size()) +
                            " bytes of text");
  }
}

// The error of an attempt the engine gave up, with the limit that ran out named.
Error CompletionExchange::engine_timeout_error(const http::TransferResult& result) const {
  const auto& provider = *resolution_.provider;
  const auto& url = buffers_.upstream_request.url;
  if (result.failure == http::TransferFailure::connect && result.detail.find("timed out") != std::string::npos)
    return timeout_error(TimeoutKind::connect, provider, url, timeouts_.connect);
  if (result.failure != http::TransferFailure::timeout)
    return providers::transfer_error(provider, url_for_message(url), result, buffers_.upstream_request.timeout);
  if (!upstream_status_) return timeout_error(TimeoutKind::headers, provider, url, timeouts_.headers);
  if (upstream_streaming_ && first_token_due_ != Clock::time_point::max())
    return timeout_error(TimeoutKind::first_token, provider, url, timeouts_.first_token);
  return timeout_error(TimeoutKind::idle, provider, url, timeouts_.idle);
}

// The deadline ends the request: no other deployment is asked, whatever has reached the client.
void CompletionExchange::total_timed_out() {
  const auto& own = resolution_.provider->config().timeouts.total;
  router::Millis limit = timeouts_.total.value_or(timeouts_.idle);
  bool providers_own = own && *own <= limit;
  Error e = timeout_error(TimeoutKind::total, *resolution_.provider, buffers_.upstream_request.url, limit,
                          providers_own ? "timeouts.total" : "the request's deadline: router.total_timeout, x-llmux-timeout");
  observability::log_warning("request " + buffers_.request_id + ": " + e.message);
  if (streaming_) {
    planner_->answer_broke(router::Instant::now());
    return end_stream_with_error(e);
  }
  planner_->abandon();
  send_error(e);
}

void CompletionExchange::send_translated_body() {
  if (endpoint_ == providers::Endpoint::embeddings) return send_translated_embeddings();
  auto& call = CallScratch::of_this_thread();
  auto& answer = call.chat_response;
  answer.clear();
  if (auto decoded = decoder_->decode_body(buffers_.upstream_body, answer); !decoded) {
    Error e = std::move(decoded).error();
    e.message = "provider '" + resolution_.provider->id() + "' (" + buffers_.upstream_request.url + "): " + e.message;
    e.provider = resolution_.provider->id();
    e.http_status = 502;
    return attempt_failed(router::FailureKind::malformed, std::move(e));
  }
  if (answer.model.empty()) {
    auto& model = call.answer_model;
    model.clear();
    append_json_string(model, resolution_.upstream_model);
    answer.model = std::string_view(model).substr(1, model.size() - 2);
  }
  attempt_succeeded();
  auto& out = buffers_.translated;
  out.clear();
  dialect_.write_body(answer, created_, out);
  usage_ = answer.usage;
  record_usage();
  send(200, "application/json", out);
}

void CompletionExchange::send_translated_embeddings() {
  auto& out = buffers_.translated;
  out.clear();
  if (auto decoded = decoder_->decode_embeddings(buffers_.upstream_body, resolution_.upstream_model, out, usage_);
      !decoded) {
    Error e = std::move(decoded).error();
    e.message = "provider '" + resolution_.provider->id() + "' (" + buffers_.upstream_request.url + "): " + e.message;
    e.provider = resolution_.provider->id();
    e.http_status = 502;
    return attempt_failed(router::FailureKind::malformed, std::move(e));
  }
  attempt_succeeded();
  record_usage();
  send(200, "application/json", out);
}

// --- answering -------------------------------------------------------------------------------------

void CompletionExchange::send_error(const Error& e) {
  response_status_ = e.http_status;
  error_type_ = e.type.empty() ? default_type(e.kind) : e.type;
  add_routing_headers();
  answer_error(*connection_, e, buffers_.request_id, buffers_.headers, dialect_.error_json(e));
}

// count_tokens for a provider that cannot count: the prompt's text bytes / 4, said to be estimated.
void CompletionExchange::answer_token_estimate() {
  resolution_.provider = route_[0].provider;
  resolution_.model = route_[0].model;
  resolution_.upstream_model = route_[0].upstream_model;
  auto& out = buffers_.translated;
  out = "{\"input_tokens\":";
  out += std::to_string(providers::estimate_tokens_from_text(prompt_text_bytes_));
  out += '}';
  buffers_.headers += "x-llmux-estimated: true\r\nx-llmux-provider: ";
  buffers_.headers += resolution_.provider->id();
  buffers_.headers += "\r\n";
  response_status_ = 200;
  connection_->respond(200, "application/json", out, buffers_.headers);
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
  account(client_left);
}

void CompletionExchange::account(bool client_left) {
  if (accounted_) return;
  accounted_ = true;
  observability::RequestRecord r;
  if (resolution_.provider) r.provider = resolution_.provider->id();
  if (resolution_.model) r.model = resolution_.model->id;
  r.status = client_left ? 499 : response_status_;  // 499: the client left first (nginx's code)
  r.duration = Clock::now() - started_;
  r.prompt_tokens = usage_.prompt_tokens;
  r.completion_tokens = usage_.completion_tokens;
  r.stream_events_dropped = events_dropped_;
  r.stream_resumes = resumes_spliced_;
  worker_.metrics.record(r);
  auto row = governance::usage_row(finished_request(r.status));
  settle_governance(row.input_tokens + row.output_tokens, row.cost_nano_usd);
  observe_finished(row);
  if (auto& ledger = worker_.server.ledger) ledger->record(std::move(row));
}

void CompletionExchange::cut_for_shutdown() {
  stop_upstream();
  Error e = Error::make(ErrorKind::upstream_error, "gateway shutting down: the answer was cut", {}, "gateway_shutdown");
  e.http_status = 503;
  if (!streaming_) return send_error(e);
  std::string event;
  append_stream_error(e, event);
  connection_->stream(event);
  connection_->end_stream();
}

}  // namespace llmux::server
