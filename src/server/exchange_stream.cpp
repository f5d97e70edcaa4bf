// The stream half of a completion exchange: an upstream stream passed through event by event or
// translated into the client's wire format, the gate that holds it until its first content, and
// stream repair (resume on another deployment, or one error event) once the client has bytes.
#include <cstring>

#include "core/text.hpp"
#include "json/body_edit.hpp"
#include "json/simdjson_support.hpp"
#include "observability/log.hpp"
#include "providers/anthropic/anthropic_inbound.hpp"
#include "providers/responses_support.hpp"
#include "server/completion_exchange.hpp"
#include "server/connection.hpp"
#include "server/endpoints/endpoints.hpp"
#include "server/worker.hpp"

namespace llmux::server {

namespace {
// A stream whose events carry no content for this many bytes is taken as started all the same.
constexpr size_t kMaxHeldBeforeContent = 64 * 1024;

// Whether `key` (written with its quotes and colon) is followed by a non-empty string value.
// memmem, not find(): find() stops at every byte equal to the key's first one (each quote of the
// event), and this runs on every passed-through event until the finish reason.
bool has_string_value(std::string_view data, std::string_view key) {
  while (const void* hit = memmem(data.data(), data.size(), key.data(), key.size())) {
    size_t i = static_cast<size_t>(static_cast<const char*>(hit) - data.data()) + key.size();
    while (i < data.size() && data[i] == ' ') ++i;
    if (i + 1 < data.size() && data[i] == '"' && data[i + 1] != '"') return true;
    data.remove_prefix(i);
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
    content_ = text || e.kind == Kind::redacted_reasoning || e.kind == Kind::tool_call ||
               e.kind == Kind::tool_arguments || e.kind == Kind::finish || e.kind == Kind::done;
  }
  next_->on_event(e);
}

void SentTextTracker::on_event(const providers::StreamEvent& e) {
  using Kind = providers::StreamEvent::Kind;
  if (e.kind == Kind::start && drop_start_) return;
  if (e.kind == Kind::text && text_) text_->append(e.text);
  if (e.kind == Kind::tool_call || e.kind == Kind::tool_arguments) tool_call_ = true;
  next_->on_event(e);
}

// --- client stream ---------------------------------------------------------------------------------

void CompletionExchange::open_client_stream() {
  content_started();
  attempt_succeeded();
  streaming_ = true;
  if (response_status_ == 0) response_status_ = 200;  // a failure among the held events keeps its status
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
  } else if (resuming_) {
    // A continuation: its first content is spliced into the client's stream.
    auto& out = CallScratch::of_this_thread().events_out;
    buffers_.sse.feed(bytes, [&](const http::SseEvent& e) { return pass_resumed_event(e, out); });
    if (!attempt_error_ && !out.empty()) connection_->stream(out);
    out.clear();  // the thread's buffer: nothing of this read may reach another stream
    if (attempt_error_) return fail_attempt();
  } else if (streaming_) {
    // Forwarded per read, each complete event re-framed (an unparseable one is dropped).
    auto& out = CallScratch::of_this_thread().events_out;
    buffers_.sse.feed(bytes, [&](const http::SseEvent& e) {
      pass_event(e, out);
      return true;
    });
    if (!out.empty()) connection_->stream(out);
    out.clear();
  } else {
    // Held until the first event with content; an error event before it fails the attempt.
    bool content = false;
    buffers_.sse.feed(bytes, [&](const http::SseEvent& e) {
      if (endpoint_ == providers::Endpoint::responses) return hold_responses_event(e, content);
      if (!content && (native_ ? dialect_.native_error_event(e) : is_error_event(e.data))) {
        attempt_error_ = resolution_.provider->decode_error(502, e.data, {});
        return false;
      }
      content = content || (native_ ? dialect_.native_content_event(e) : carries_content(e.data));
      pass_event(e, buffers_.upstream_body);
      return true;
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
  content_started();
  attempt_succeeded();
  streaming_ = true;
  response_status_ = 200;
  add_routing_headers();
  connection_->begin_stream(200, "text/event-stream", buffers_.headers);
  connection_->stream(buffers_.translated);
  buffers_.translated.clear();
}

// The [DONE]-less finish and the usage of a passed-through event, read from the DOM the JSON
// check made of it: no second scan or parse. True when the event carries neither (nor did any
// before it end the answer): a chunk whose shape later chunks may be matched against.
bool CompletionExchange::note_parsed_event(simdjson::dom::element event) {
  simdjson::dom::object root;
  if (event.get_object().get(root)) return false;
  simdjson::dom::object usage;
  if (!root["usage"].get_object().get(usage)) {
    usage_ = json::usage_of(usage);
    usage_seen_ = true;
    return false;
  }
  if (saw_finish_) return false;
  simdjson::dom::array choices;
  if (root["choices"].get_array().get(choices)) return true;
  for (simdjson::dom::element choice : choices) {
    std::string_view finish;
    if (!choice["finish_reason"].get_string().get(finish) && !finish.empty()) saw_finish_ = true;
  }
  return !saw_finish_;
}

// A natively served Anthropic stream: usage from message_start and message_delta (output tokens
// are cumulative; newer API versions repeat the input counts), its end from message_stop.
void CompletionExchange::note_native_event(simdjson::dom::element event) {
  std::string_view type;
  if (event["type"].get_string().get(type)) return;
  simdjson::dom::object usage;
  if (type == "message_start" && !event["message"]["usage"].get_object().get(usage)) {
    usage_ = providers::anthropic_usage_of(usage);
    usage_seen_ = true;
  } else if (type == "message_delta") {
    if (!event["usage"].get_object().get(usage)) {
      json::Usage delta = providers::anthropic_usage_of(usage);
      int64_t ignored;
      if (!usage["input_tokens"].get_int64().get(ignored)) usage_ = delta;
      else usage_.completion_tokens = delta.completion_tokens;
      usage_.total_tokens = json::add_tokens(usage_.prompt_tokens, usage_.completion_tokens);
      usage_.reported = true;
      usage_seen_ = true;
    }
    std::string_view stop;
    if (!event["delta"]["stop_reason"].get_string().get(stop)) saw_finish_ = true;
  } else if (type == "message_stop") {
    saw_done_ = true;
  }
}

void CompletionExchange::pass_event(const http::SseEvent& e, std::string& out) {
  if (e.data == "[DONE]") {
    saw_done_ = true;
  } else if (auto text = buffers_.chunk_shape.text_of(e.data)) {
    // The last parsed chunk again with other text: valid, and nothing in it but that text.
    note_text(e.data, *text);
  } else if (!check_event(e)) {
    ++events_dropped_;
    return;
  }
  if (!e.event.empty()) {
    out += "event: ";
    out += e.event;
    out += '\n';
  }
  // A data field per line: the event's data may hold line breaks (pretty-printed JSON).
  std::string_view data = e.data;
  if (usage_seen_ && buffers_.fields.include_usage && json::has_usage_object(data)) data = with_cost(data);
  // Literals as views: operator+=(const char*) costs a strlen and an out-of-line call per event.
  using namespace std::string_view_literals;
  while (true) {
    size_t nl = data.find('\n');
    out += "data: "sv;
    if (resumed_ && nl == std::string_view::npos) identity_.append_as_own(data, out);
    else out.append(data.substr(0, nl));
    out += '\n';
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out += '\n';
}

// A passed-through event parsed (simdjson validates it whole, about 2.5 times faster than
// json::JsonChecker here) and read; false when it is not JSON (it is dropped). A chat chunk with
// text and nothing else becomes the shape the next chunks are matched against.
bool CompletionExchange::check_event(const http::SseEvent& e) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element parsed;
  if (parser.parse(json::padded_copy(e.data, CallScratch::of_this_thread().json_pad)).get(parsed)) return false;
  if (native_) {
    note_native_event(parsed);
  } else if (endpoint_ == providers::Endpoint::responses) {
    note_responses_event(e, parsed);
  } else {
    bool tool_call = chunk_has_tool_call(e.data);
    tool_call_seen_ = tool_call_seen_ || tool_call;
    bool text_only = note_parsed_event(parsed) && !tool_call;
    std::string_view text = chunk_text(e.data);
    if (text_only && !text.empty()) buffers_.chunk_shape.learn(e.data, text);
    note_text(e.data, text);
    return true;
  }
  if (track_text_) {
    tool_call_seen_ = tool_call_seen_ || chunk_has_tool_call(e.data);
    note_text(e.data, chunk_text(e.data));
  } else {
    streamed_text_.add(e.data);
  }
  return true;
}

// What a resume or an estimate needs of a passed-through chunk's text (its tool calls are noted
// by the caller).
void CompletionExchange::note_text(std::string_view data, std::string_view text) {
  streamed_text_.add(data);
  if (!track_text_) return;
  if (!identity_.known()) identity_.capture(data);
  if (resumable_route_) sent_text_.append(text);
  sent_code_points_ += count_code_points(text);
}

bool CompletionExchange::pass_resumed_event(const http::SseEvent& e, std::string& out) {
  if (resuming_) {
    if (is_error_event(e.data)) {
      attempt_error_ = resolution_.provider->decode_error(502, e.data, {});
      return false;
    }
    // The continuation's role chunk and other events before its content add nothing.
    if (!carries_content(e.data) && e.data != "[DONE]") return true;
    content_started();
  }
  pass_event(e, out);
  return true;
}

// Events of one upstream read leave as one chunk of OpenAI events.
bool CompletionExchange::translate_stream(std::string_view bytes) {
  auto& writer = *writer_;
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
  if (!streaming_ || resuming_) {
    if (!gate.content_seen()) return true;  // held in `translated` until the answer starts
    if (streaming_) content_started();      // a continuation, spliced into the client's stream
    else begin_translated_stream();
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
void CompletionExchange::finish_stream(const http::TransferResult& result) {
  const auto& provider = *resolution_.provider;
  auto& writer = *writer_;
  bool clean = result.failure == http::TransferFailure::none;
  // An NDJSON stream's last line may end without its newline: one completes it.
  if (decoder_ && clean && !writer.ended() && buffers_.sse.ends_with_open_line() && !translate_stream("\n")) {
    fail_attempt();
    return;
  }
  bool ended = decoder_ ? writer.ended() : saw_done_ && clean;
  // An upstream that finished its answer (a finish reason) and closed cleanly without [DONE] is a
  // success: the client gets the usage chunk it asked for (estimated when the upstream counted
  // nothing) and the [DONE] its SDK waits for.
  if (!ended && !decoder_ && !native_ && saw_finish_ && clean) {
    std::string& out = buffers_.translated;
    out.clear();
    if (buffers_.fields.include_usage && !usage_seen_) {
      usage_.completion_tokens = estimate_tokens(sent_code_points_);
      usage_.prompt_tokens = estimate_tokens(body_.size());
      identity_.append_usage_chunk(usage_, true, out);
      observability::log_info("request " + buffers_.request_id + ": provider '" + provider.id() +
                              "' ended its stream without usage or [DONE]; estimated usage added");
    }
    out += "data: [DONE]\n\n";
    connection_->stream(out);
    out.clear();
    ended = true;
  }
  if (!ended) {
    if (result.failure == http::TransferFailure::timeout && Clock::now() >= total_due_) return total_timed_out();
    std::string why = result.failure == http::TransferFailure::timeout ? std::string()
                      : !clean                                          ? "broke off: " + result.detail
                      : endpoint_ == providers::Endpoint::responses     ? "ended before response.completed"
                                                                        : "ended before [DONE]";
    Error e = result.failure == http::TransferFailure::timeout
                  ? timeout_error(TimeoutKind::idle, provider, buffers_.upstream_request.url, timeouts_.idle)
                  : Error::make(ErrorKind::upstream_error, "stream from provider '" + provider.id() + "' (" +
                                                               url_for_message(buffers_.upstream_request.url) + ") " + why);
    return stream_broke(std::move(e));
  }
  if (decoder_) usage_ = writer.usage();
  record_usage();
  connection_->end_stream();
}

// --- stream repair -----------------------------------------------------------------------------------

void CompletionExchange::stream_broke(Error e) {
  observability::log_warning("request " + buffers_.request_id + ": " + e.message);
  if (!broke_error_) {
    planner_->answer_broke(router::Instant::now());
    broke_error_ = e;
  }
  if (try_resume()) return;
  end_stream_with_error(*broke_error_);
}

// The next deployment marked resume: prefill (the one that broke first, then those after it in
// the route), asked to continue from exactly the text the client has: the original messages and
// a trailing assistant message holding that text.
bool CompletionExchange::try_resume() {
  bool tool_call = tool_call_seen_ || (tracker_ && tracker_->tool_call_seen());
  if (!resumable_route_ || tool_call || resumes_ >= state_->config.router.max_resumes) return false;
  auto now = Clock::now();
  if (now >= request_deadline_) return false;
  if (!resume_started_) {
    resume_started_ = true;
    for (resume_cursor_ = 0; resume_cursor_ < route_.size(); ++resume_cursor_)
      if (route_[resume_cursor_].provider == resolution_.provider &&
          route_[resume_cursor_].upstream_model == resolution_.upstream_model)
        break;
  } else {
    ++resume_cursor_;
  }
  const std::string& type = resolution_.provider->config().type;
  // The continuation must speak the same wire format: its chunks are spliced as they come.
  while (resume_cursor_ < route_.size() &&
         (!route_[resume_cursor_].resume_prefill || route_[resume_cursor_].provider->config().type != type))
    ++resume_cursor_;
  if (resume_cursor_ >= route_.size()) return false;
  const router::Deployment& d = route_[resume_cursor_];
  // A continuation on another provider is an attempt on it like any other: its limits and budget
  // are asked first (the first provider's hold is given back). The whole answer is then settled on
  // the provider that finishes it, the one its ledger row names.
  if (d.provider != resolution_.provider && admit(d, router::Instant::now()).refusal != router::AttemptGate::Refusal::none)
    return try_resume();
  ++resumes_;
  auto& resume = resume_request_.get_or_make();
  resume.body.clear();
  if (!append_prefill(body_, sent_text_, prefill_style(d.provider->config()), resume.body)) return false;
  if (auto read = json::read_request(resume.body, resume.fields); !read) return false;
  auto& request = buffers_.upstream_request;
  resolution_.provider = d.provider;
  resolution_.model = d.model;
  resolution_.upstream_model = d.upstream_model;
  decoder_ = scratch_.decoder_for(*d.provider);
  providers::EncodeInput input{endpoint_, resume.body, &resume.fields, d.upstream_model, buffers_.request_id, stream_};
  if (auto encoded = d.provider->encode_into(input, request); !encoded) return try_resume();
  if (fallbacks_in_body_) json::remove_top_level_member(request.body, "fallbacks");
  encoded_for_ = nullptr;
  auto remaining = std::chrono::duration_cast<router::Millis>(request_deadline_ - now);
  timeouts_ = router::attempt_timeouts(d.provider->config(),
                                       request_deadline_ == Clock::time_point::max() ? std::nullopt
                                                                                     : std::optional(remaining));
  request.connect_timeout = timeouts_.connect;
  resuming_ = true;
  observability::log_info("request " + buffers_.request_id + ": resuming the stream on provider '" + d.provider_id() +
                          "' (resume " + std::to_string(resumes_) + ")");
  start_attempt();
  return true;
}

// A resume attempt failed before adding anything: the next one, or the client's final error is
// why the stream first broke (a deployment's 400 to the prefill never becomes it).
void CompletionExchange::resume_attempt_failed(Error e) {
  observability::log_warning("request " + buffers_.request_id + ": resume on provider '" +
                             resolution_.provider->id() + "' failed" +
                             (upstream_status_ == 400 ? " (rejects the prefill, skipped): " : ": ") + e.message);
  resuming_ = false;
  if (try_resume()) return;
  end_stream_with_error(*broke_error_);
}

void CompletionExchange::end_stream_with_error(const Error& e) {
  std::string event;
  append_stream_error(e, event);
  connection_->stream(event);
  if (decoder_) usage_ = writer_->usage();
  record_usage();
  connection_->end_stream();
}

// The client's error event: the dialect's, except on /v1/responses (Responses' own error event).
void CompletionExchange::append_stream_error(const Error& e, std::string& out) const {
  if (endpoint_ == providers::Endpoint::responses) out += providers::stream_error_event(endpoint_, e);
  else dialect_.append_stream_error(e, out);
}

}  // namespace llmux::server
