// Every translating adapter through the same two paths the server runs for it, on the adapter's
// recorded traffic:
// - AdapterEncode/<type>: Provider::encode_into of the ~400 B chat request into one reused
//   upstream request (URL, headers, the body in the provider's format), as a connection does.
// - AdapterStream/<type>: the recorded stream through its framing (SSE or NDJSON), the adapter's
//   decoder and the OpenAI chunk writer. Its "ns/event" counter sits next to
//   StreamChunks/openai_passthrough's (translate_bench.cpp): a translated stream against a
//   pass-through stream of the same events.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "corpus.hpp"
#include "http/sse.hpp"
#include "json/request_view.hpp"
#include "providers/openai_output.hpp"
#include "providers/provider.hpp"

namespace llmux::bench {
namespace {

std::string read_fixture(const std::string& relative) {
  std::ifstream in(std::string(LLMUX_FIXTURES_DIR) + "/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read fixture " + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A `.chunks.jsonl` fixture holds only the data payloads; the wire had one SSE event per line.
std::string sse_from_jsonl(const std::string& jsonl) {
  std::string sse;
  std::istringstream lines(jsonl);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) sse += "data: " + line + "\n\n";
  return sse;
}

struct AdapterCase {
  const char* type;
  const char* base_url;
  const char* model;
  std::string stream;  // as the upstream sends it
  bool ndjson = false;
};

AdapterCase adapter_case(std::string_view type) {
  if (type == "anthropic")
    return {"anthropic", "https://api.anthropic.com/v1", "claude-sonnet-4-5",
            read_fixture("anthropic/stream-after-tool-result.sse.txt")};
  if (type == "gemini")
    return {"gemini", "https://generativelanguage.googleapis.com/v1beta", "gemini-2.0-flash",
            read_fixture("gemini/stream-function-call.sse.txt")};
  if (type == "cohere")
    return {"cohere", "https://api.cohere.com/v2", "command-r-plus",
            sse_from_jsonl(read_fixture("cohere/chat-v2-stream-tool-call.chunks.jsonl"))};
  if (type == "ollama")
    return {"ollama", "http://127.0.0.1:11434", "llama3.2", read_fixture("ollama/api-chat-stream.docs.ndjson"), true};
  if (type == "azure-openai")
    return {"azure-openai", "https://example-resource.openai.azure.com", "gpt-4o",
            ""};
  throw std::runtime_error("no bench case for adapter " + std::string(type));
}

std::unique_ptr<providers::Provider> make(const AdapterCase& c) {
  ProviderConfig config;
  config.id = c.type;
  config.type = c.type;
  config.base_url = c.base_url;
  config.api_key = Secret("bench-key-0f1e2d3c4b5a69788796a5b4c3d2e1f0");
  ModelConfig model;
  model.id = c.model;
  if (config.type == "azure-openai") model.upstream_id = "gpt-4o-prod";  // the deployment
  config.models.push_back(model);
  auto provider = providers::make_provider(config);
  if (!provider) throw std::runtime_error(provider.error());
  return std::move(*provider);
}

void AdapterEncode(benchmark::State& state, const char* type) {
  AdapterCase c = adapter_case(type);
  auto provider = make(c);
  const std::string& body = corpus().chat_small;
  auto fields = json::read_request(body);
  if (!fields) return state.SkipWithError(fields.error().message.c_str());
  providers::EncodeInput input{.endpoint = providers::Endpoint::chat_completions,
                               .body = body,
                               .fields = &fields.value(),
                               .upstream_model = c.model,
                               .request_id = "req_01JC9X3M8W4T2F7Q5R6S0V1B9N",
                               .stream = true};
  http::UpstreamRequest request;
  if (auto done = provider->encode_into(input, request); !done) return state.SkipWithError(done.error().message.c_str());
  if (request.body.empty() || request.url.empty()) return state.SkipWithError("encode produced no request");
  for (auto _ : state) {
    auto done = provider->encode_into(input, request);
    benchmark::DoNotOptimize(done);
    benchmark::DoNotOptimize(request.body.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body.size()));
  state.SetLabel(std::to_string(body.size()) + " B -> " + std::to_string(request.body.size()) + " B");
}

void AdapterStream(benchmark::State& state, const char* type) {
  AdapterCase c = adapter_case(type);
  auto provider = make(c);
  auto decoder = provider->make_response_decoder();
  if (!decoder) return state.SkipWithError("the adapter has no decoder");
  providers::OpenAIChunkWriter writer;
  http::SseParser parser;
  std::string out;
  size_t events = 0;
  bool failed = false;
  auto translate = [&] {
    out.clear();
    events = 0;
    parser.reset(c.ndjson);
    decoder->reset();
    writer.begin(&out, 1700000000, true);
    parser.feed(c.stream, [&](const http::SseEvent& e) {
      ++events;
      if (!decoder->decode_event(e, writer)) {
        failed = true;
        writer.fail(Error::make(ErrorKind::upstream_error, "bad event"));
      }
      return true;
    });
  };
  translate();
  // Once, untimed: every event decoded and the chunks carry content.
  if (failed || events == 0 || out.find("\"choices\":[") == std::string::npos)
    return state.SkipWithError("the recorded stream did not translate");
  for (auto _ : state) {
    translate();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(c.stream.size()));
  state.counters["ns/event"] = benchmark::Counter(static_cast<double>(events),
                                                  benchmark::Counter::kIsIterationInvariantRate |
                                                      benchmark::Counter::kInvert);
  state.SetLabel(std::to_string(events) + " events, " + std::to_string(c.stream.size()) + " B in, " +
                 std::to_string(out.size()) + " B out");
}

#define LLMUX_ADAPTER_BENCH(type)                                         \
  BENCHMARK_CAPTURE(AdapterEncode, type, type)->Name("AdapterEncode/" type); \
  BENCHMARK_CAPTURE(AdapterStream, type, type)->Name("AdapterStream/" type)

LLMUX_ADAPTER_BENCH("anthropic");
LLMUX_ADAPTER_BENCH("gemini");
LLMUX_ADAPTER_BENCH("cohere");
LLMUX_ADAPTER_BENCH("ollama");
// Azure's streams are OpenAI's and pass through; only its request is its own.
BENCHMARK_CAPTURE(AdapterEncode, azure, "azure-openai")->Name("AdapterEncode/azure-openai");

}  // namespace
}  // namespace llmux::bench
