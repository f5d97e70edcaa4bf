// Request path: parsing and model extraction (read_request), the upstream body rewrite
// (rewrite_request) and usage extraction from responses and final stream chunks (read_usage).
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "corpus.hpp"
#include "json/request_view.hpp"

namespace llmux::bench {
namespace {

using Body = std::string Corpus::*;

constexpr std::string_view kClientModel = "gpt-4o-mini";             // as recorded
constexpr std::string_view kUpstreamModel = "gpt-4o-mini-2024-07-18";  // what the rewrite splices in
// Three members the requests lack and one ("stream") they set, which must be skipped.
constexpr std::string_view kDefaultParams = R"({"temperature":0.7,"top_p":0.95,"max_tokens":1024,"stream":false})";

void SetBytes(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.SetLabel(std::to_string(bytes) + " B");
}

// Parses and validates the whole body, extracts model (value and byte span), stream,
// include_usage, message count and the top-level keys.
void ReadRequest(benchmark::State& state, Body which) {
  const std::string& body = corpus().*which;
  auto check = json::read_request(body);
  if (!check) return state.SkipWithError(check.error().message.c_str());
  if (check->model != kClientModel || !check->stream || !check->include_usage ||
      body.substr(check->model_begin, check->model_end - check->model_begin) != "\"gpt-4o-mini\"")
    return state.SkipWithError("read_request did not find the recorded model/stream fields");

  for (auto _ : state) {
    auto fields = json::read_request(body);
    benchmark::DoNotOptimize(fields);
  }
  SetBytes(state, body.size());
}
BENCHMARK_CAPTURE(ReadRequest, chat_400B, &Corpus::chat_small);
BENCHMARK_CAPTURE(ReadRequest, chat_4KB, &Corpus::chat_medium);
BENCHMARK_CAPTURE(ReadRequest, chat_64KB, &Corpus::chat_large);

// The upstream body: model id replaced, default params merged under the request's own members.
// The fields come from read_request once, before the loop.
void RewriteRequest(benchmark::State& state, Body which, bool with_defaults) {
  const std::string& body = corpus().*which;
  auto fields = json::read_request(body);
  if (!fields) return state.SkipWithError(fields.error().message.c_str());
  std::string_view defaults = with_defaults ? kDefaultParams : std::string_view();

  boost::system::error_code ec;
  auto check = boost::json::parse(json::rewrite_request(body, *fields, kUpstreamModel, defaults), ec);
  const boost::json::object* object = ec ? nullptr : check.if_object();
  auto member = [&](const char* key) { return object ? object->if_contains(key) : nullptr; };
  bool model_ok = member("model") && member("model")->is_string() && member("model")->as_string() == kUpstreamModel;
  bool defaults_ok = !with_defaults || (member("temperature") && member("stream") &&
                                        member("stream")->is_bool() && member("stream")->as_bool());
  if (!model_ok || !defaults_ok) return state.SkipWithError("rewrite_request produced an unexpected body");

  for (auto _ : state) {
    std::string out = json::rewrite_request(body, *fields, kUpstreamModel, defaults);
    benchmark::DoNotOptimize(out);
    benchmark::ClobberMemory();
  }
  SetBytes(state, body.size());
}
BENCHMARK_CAPTURE(RewriteRequest, chat_400B_no_defaults, &Corpus::chat_small, false);
BENCHMARK_CAPTURE(RewriteRequest, chat_400B_default_params, &Corpus::chat_small, true);
BENCHMARK_CAPTURE(RewriteRequest, chat_64KB_no_defaults, &Corpus::chat_large, false);
BENCHMARK_CAPTURE(RewriteRequest, chat_64KB_default_params, &Corpus::chat_large, true);

// Usage from the final chunk of a stream (stream_options.include_usage) and from a whole
// non-streamed response, as the gateway records it per provider.
void ReadUsage(benchmark::State& state, Body which, int64_t expected_total) {
  const std::string& body = corpus().*which;
  auto check = json::read_usage(body);
  if (!check || check->total_tokens != expected_total)
    return state.SkipWithError("read_usage did not find the recorded usage");

  for (auto _ : state) {
    auto usage = json::read_usage(body);
    benchmark::DoNotOptimize(usage);
  }
  SetBytes(state, body.size());
}
BENCHMARK_CAPTURE(ReadUsage, final_stream_chunk, &Corpus::openai_final_chunk, 44);
BENCHMARK_CAPTURE(ReadUsage, full_response, &Corpus::openai_response, 379);

}  // namespace
}  // namespace llmux::bench
