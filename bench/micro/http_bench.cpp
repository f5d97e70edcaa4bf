// HTTP/1.1 message heads on both sides of the proxy: the client request (RequestParser, which
// keeps six headers and the body) and the upstream response (ResponseParser, body handed to a
// sink), as the connections' read loops drive them: head alone, then the body eagerly. Plus the
// per-event usage pre-check the stream path runs on every SSE event.
#include <benchmark/benchmark.h>

#include <boost/beast/http/error.hpp>

#include "corpus.hpp"
#include "http/message_parsers.hpp"
#include "json/request_view.hpp"

namespace llmux::bench {
namespace {

namespace bhttp = boost::beast::http;

// Modelled on what the openai npm package sends: its X-Stainless-* headers, a bearer key.
std::string client_request(const std::string& body) {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:4000\r\nAccept: application/json\r\n"
         "Content-Type: application/json\r\nUser-Agent: OpenAI/JS 5.23.2\r\nX-Stainless-Lang: js\r\n"
         "X-Stainless-Package-Version: 5.23.2\r\nX-Stainless-OS: Linux\r\nX-Stainless-Arch: x64\r\n"
         "X-Stainless-Runtime: node\r\nX-Stainless-Runtime-Version: v18.19.0\r\n"
         "Authorization: Bearer sk-gateway-0123456789abcdef\r\nX-Stainless-Retry-Count: 0\r\n"
         "X-Stainless-Timeout: 600\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n" + body;
}

// Modelled on an api.openai.com response head, in front of the recorded non-stream body.
std::string upstream_response(const std::string& body) {
  return "HTTP/1.1 200 OK\r\nDate: Sat, 21 Nov 2026 21:00:00 GMT\r\nContent-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) +
         "\r\nConnection: keep-alive\r\naccess-control-expose-headers: X-Request-ID\r\n"
         "openai-organization: user-abc\r\nopenai-processing-ms: 412\r\nopenai-version: 2020-10-01\r\n"
         "x-ratelimit-limit-requests: 10000\r\nx-ratelimit-limit-tokens: 30000000\r\n"
         "x-ratelimit-remaining-requests: 9999\r\nx-ratelimit-remaining-tokens: 29999990\r\n"
         "x-request-id: req_0123456789abcdef0123456789abcdef\r\ncf-cache-status: DYNAMIC\r\n"
         "Server: cloudflare\r\nalt-svc: h3=\":443\"; ma=86400\r\n\r\n" + body;
}

template <typename Parser>
bool parse_all(Parser& parser, std::string_view text) {
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(text.data(), text.size()), ec);
  if (ec || !parser.is_header_done()) return false;
  parser.eager(true);
  text.remove_prefix(used);
  if (!text.empty()) parser.put(boost::asio::buffer(text.data(), text.size()), ec);
  return !ec && parser.is_done();
}

void ParseClientRequest(benchmark::State& state) {
  const std::string message = client_request(corpus().chat_small);
  http::RequestHead head;  // one per connection, reused like the server's
  {
    http::RequestParser check(head);
    if (!parse_all(check, message) || head.body != corpus().chat_small || head.authorization.empty())
      return state.SkipWithError("RequestParser did not read the recorded request");
  }
  for (auto _ : state) {
    head.clear();
    http::RequestParser parser(head);
    benchmark::DoNotOptimize(parse_all(parser, message));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * message.size()));
  state.SetLabel(std::to_string(message.size()) + " B");
}
BENCHMARK(ParseClientRequest);

void ParseUpstreamResponse(benchmark::State& state) {
  const std::string message = upstream_response(corpus().openai_response);
  http::ResponseHead head;
  size_t body_bytes = 0;
  auto sink = [](void* count, std::string_view bytes) { *static_cast<size_t*>(count) += bytes.size(); };
  {
    http::ResponseParser check(head, sink, &body_bytes);
    if (!parse_all(check, message) || body_bytes != corpus().openai_response.size() || head.status != 200 ||
        head.content_type != "application/json")
      return state.SkipWithError("ResponseParser did not read the recorded response");
  }
  for (auto _ : state) {
    head.clear();
    http::ResponseParser parser(head, sink, &body_bytes);
    benchmark::DoNotOptimize(parse_all(parser, message));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * message.size()));
  state.SetLabel(std::to_string(message.size()) + " B");
}
BENCHMARK(ParseUpstreamResponse);

// The check every stream event gets before any JSON parsing: the recorded OpenAI stream's 34
// events, of which only the final chunk carries a usage object.
void UsagePrecheck(benchmark::State& state) {
  std::vector<std::string_view> events;
  std::string_view sse = corpus().openai_sse;
  for (size_t at = sse.find("data: "); at != std::string_view::npos; at = sse.find("data: ", at + 6)) {
    size_t end = sse.find('\n', at);
    events.push_back(sse.substr(at + 6, end - at - 6));
  }
  size_t with_usage = 0;
  for (auto e : events) with_usage += json::has_usage_object(e);
  if (events.size() != corpus().openai_sse_events || with_usage != 1)
    return state.SkipWithError("expected exactly one event with a usage object");
  for (auto _ : state) {
    size_t n = 0;
    for (auto e : events) n += json::has_usage_object(e);
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
  state.SetLabel(std::to_string(events.size()) + " events");
}
BENCHMARK(UsagePrecheck);

}  // namespace
}  // namespace llmux::bench
