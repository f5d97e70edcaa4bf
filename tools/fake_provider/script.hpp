// Per-request behaviour knobs of the fake provider and its command-line options.
#pragma once

#include "tls_front.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

namespace llmux::fake {

// What a request asks the fake provider to do. Command-line flags fill the defaults; x-fake-<knob>
// headers override them, and the body's "fake" object overrides the headers.
struct Script {
  int latency_ms = 0;         // before the response headers
  int status = 0;             // 0: answer normally; >= 400: an error body in the API's own shape
  std::string retry_after;    // empty: no Retry-After header
  int chunks = 5;             // content events in a stream
  int chunk_interval_ms = 0;  // between stream events
  int reset_after_chunks = -1;     // negative: off
  int truncate_after_chunks = -1;  // negative: off
  bool hang = false;
  bool malformed = false;
  bool early_hints = false;  // a 103 interim response, written on its own, before the answer
  bool stream_error = false;  // Anthropic: an error event instead of the stream's end
  std::optional<std::string> content;
  std::optional<bool> usage;
  // Hostile-upstream knobs:
  int content_size = 0;      // > 0: the answer is this many bytes of filler words (huge bodies and streams)
  bool chunked = false;      // a non-stream body sent with Transfer-Encoding: chunked (no Content-Length)
  std::string status_line;   // sent as is after "HTTP/1.1 " ("302 Found", "999 Odd"), any code
  std::string header;        // one extra header line, "Name: value"
  std::string echo_auth;     // json | detail | text: an error body quoting the credential headers received
  int nesting = 0;           // > 0: a chat completion carries an "x_nested" member of this many arrays

  // ---- Stateful faults (the router's fault matrix) ----
  // A provider that fails for a while and then recovers. The requests (POSTs) carrying the same
  // fault_key share one counter and one clock per fake-provider process; "" is the whole instance.
  int fail_first = 0;            // the first N requests under fault_key fail with fail_with
  int down_for_ms = 0;           // requests within this long of the first under fault_key fail
  std::string fail_with = "503"; // a status ("429", "500"), "reset" (RST before headers) or "hang"
  std::string fail_retry_after;  // Retry-After on the failing replies only
  std::string fault_key;
  // Persistent faults:
  bool reset_before_headers = false;  // every request: RST after reading it, streams too
  std::string error_code;  // an OpenAI error code for the error body (status 400 unless `status` says
                           // otherwise); context_length_exceeded and content_policy_violation get
                           // OpenAI's own wording

  // Stream-repair knobs (timeouts, broken streams, resume):
  int first_token_delay_ms = 0;  // a stream waits this long between its role chunk and its first content
  int stall_after_chunks = -1;   // negative: off; else this many content events, then silence (kept open)
  int malformed_event_at = -1;   // negative: off; else an unparseable event after this many content events
  // Negative: off; else after this many content events, copies of the last one whose text is no
  // valid JSON string (a bad escape, a control character, bad UTF-8): unparseable, same shape.
  int bad_text_events_at = -1;
  bool no_done = false;          // the stream ends without data: [DONE]
  bool reject_prefill = false;   // a chat request ending with an assistant message gets a 400

  // Usage and reasoning knobs (every wire format reports them in its own fields):
  int cached_tokens = 0;       // prompt tokens read from the provider's cache, on top of the prompt's own
  int cache_write_tokens = 0;  // prompt tokens written to it (Anthropic's cache_creation_input_tokens)
  std::string reasoning;       // visible reasoning the model gives before its answer ("": none)

  // Sets one knob from text. The name may use '-' or '_' and any case. Returns false for an
  // unknown knob or an unusable value (the knob is then left unchanged).
  bool set(std::string_view name, std::string_view value);
  // Applies every knob of a body "fake" object; unknown names and bad values are ignored.
  void apply(const boost::json::object& fake);

 private:
  bool set_fault(std::string_view normalized_name, std::string_view value);

  // The stream-repair knobs, by normalized name (snake_case); nullopt when `name` is none of them.
  std::optional<bool> set_repair_knob(std::string_view name, std::string_view value);
  // The usage and reasoning knobs, likewise.
  std::optional<bool> set_usage_knob(std::string_view name, std::string_view value);
};

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  int threads = 1;
  std::vector<std::string> models{"fake-model", "fake-model-2", "fake-embedding"};
  std::string require_key;  // empty: no authentication
  Script defaults;
  TlsOptions tls;
  // The fake Vertex AI token endpoint (vertex.hpp): lifetime of the tokens it issues, and a PEM
  // public key that assertions must be signed with (empty: their shape and claims are checked).
  int token_expires_in = 3600;
  std::string token_public_key;
};

}  // namespace llmux::fake
