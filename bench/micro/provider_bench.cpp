// Upstream request building (OpenAICompatibleProvider::encode) and the error path: decoding a
// recorded upstream error body and serialising errors in the OpenAI shape.
#include <benchmark/benchmark.h>

#include "corpus.hpp"
#include "json/request_view.hpp"
#include "llmux/error.hpp"
#include "providers/openai_compatible/openai_compatible.hpp"

namespace llmux::bench {
namespace {

// An OpenRouter-style provider: bearer key plus the two custom headers OpenRouter asks for.
ProviderConfig openrouter_config() {
  ProviderConfig config;
  config.id = "openrouter";
  config.base_url = "https://openrouter.ai/api/v1";
  config.api_key = Secret("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");
  config.headers = {{"HTTP-Referer", "https://chat.example.com/"}, {"X-Title", "Example Chat"}};
  config.models.push_back({.id = "openai/gpt-4o-mini"});
  return config;
}

// One chat request ready to encode: the provider, the fields read_request found (read once, before
// any timed loop) and the encode input built from them.
struct EncodeCase {
  explicit EncodeCase(const std::string& body)
      : provider(openrouter_config()), fields(json::read_request(body)) {
    if (!fields) return;
    input = {.endpoint = providers::Endpoint::chat_completions,
             .body = body,
             .fields = &fields.value(),
             .upstream_model = "openai/gpt-4o-mini",
             .request_id = "req_01JC9X3M8W4T2F7Q5R6S0V1B9N",
             .stream = fields->stream};
  }
  providers::OpenAICompatibleProvider provider;
  Expected<json::RequestFields, Error> fields;
  providers::EncodeInput input{};
};

void SetEncodeCounters(benchmark::State& state, size_t body_bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(body_bytes));
  state.SetLabel(std::to_string(body_bytes) + " B body");
}

// URL, fixed headers (credential, custom, content type), Accept, x-request-id, and the body
// rewrite with the upstream model id.
void Encode(benchmark::State& state, std::string Corpus::*which) {
  const std::string& body = corpus().*which;
  EncodeCase c(body);
  if (!c.fields) return state.SkipWithError(c.fields.error().message.c_str());
  auto check = c.provider.encode(c.input);
  if (!check || check->url != "https://openrouter.ai/api/v1/chat/completions" || check->all_headers().size() != 7 ||
      check->body.find("\"model\":\"openai/gpt-4o-mini\"") == std::string::npos)
    return state.SkipWithError("encode produced an unexpected request");

  for (auto _ : state) {
    auto request = c.provider.encode(c.input);
    benchmark::DoNotOptimize(request);
    benchmark::ClobberMemory();
  }
  SetEncodeCounters(state, body.size());
}

// What a connection does: encode into the same UpstreamRequest for every request, so once its
// strings have grown nothing is allocated.
void EncodeIntoReused(benchmark::State& state, std::string Corpus::*which) {
  const std::string& body = corpus().*which;
  EncodeCase c(body);
  if (!c.fields) return state.SkipWithError(c.fields.error().message.c_str());
  http::UpstreamRequest request;
  auto fresh = c.provider.encode(c.input);
  if (!c.provider.encode_into(c.input, request) || !fresh || request.body != fresh->body ||
      request.all_headers() != fresh->all_headers())
    return state.SkipWithError("encode_into differs from encode");

  for (auto _ : state) {
    benchmark::DoNotOptimize(c.provider.encode_into(c.input, request));
    benchmark::ClobberMemory();
  }
  SetEncodeCounters(state, body.size());
}
BENCHMARK_CAPTURE(EncodeIntoReused, chat_400B, &Corpus::chat_small);
BENCHMARK_CAPTURE(EncodeIntoReused, chat_64KB, &Corpus::chat_large);

BENCHMARK_CAPTURE(Encode, chat_400B, &Corpus::chat_small);
BENCHMARK_CAPTURE(Encode, chat_64KB, &Corpus::chat_large);

ProviderConfig openai_config() {
  ProviderConfig config;
  config.id = "openai";
  config.base_url = "https://api.openai.com/v1";
  config.api_key = Secret("sk-proj-bench0123456789abcdef");
  return config;
}

// openai/error-404-model-not-found.json, as a provider answered it.
void DecodeError(benchmark::State& state) {
  providers::OpenAICompatibleProvider provider(openai_config());
  const std::string& body = corpus().openai_error_404;
  Error check = provider.decode_error(404, body, {});
  if (check.code != "model_not_found" || check.message.find("gpt-5.2-proo") == std::string::npos)
    return state.SkipWithError("decode_error did not read the recorded body");

  for (auto _ : state) {
    Error error = provider.decode_error(404, body, {});
    benchmark::DoNotOptimize(error);
  }
  state.SetLabel(std::to_string(body.size()) + " B body");
}
BENCHMARK(DecodeError);

// The error body sent to the client.
void ToOpenAIJson(benchmark::State& state, bool upstream) {
  Error error;
  if (upstream) {
    error = providers::OpenAICompatibleProvider(openai_config()).decode_error(404, corpus().openai_error_404, {});
  } else {
    auto miss = corpus().catalog->resolve("gpt-4o-mnii", {});
    if (miss) return state.SkipWithError("unknown model resolved");
    error = miss.error();
  }

  for (auto _ : state) {
    std::string json = to_openai_json(error);
    benchmark::DoNotOptimize(json);
    benchmark::ClobberMemory();
  }
  state.SetLabel(std::to_string(to_openai_json(error).size()) + " B out");
}
// Upstream 404 decoded from the recorded OpenAI body (message names the provider).
BENCHMARK_CAPTURE(ToOpenAIJson, upstream_404, true);
// Gateway 404 for an unknown model, with "did you mean" suggestions from the catalog.
BENCHMARK_CAPTURE(ToOpenAIJson, unknown_model_404, false);

}  // namespace
}  // namespace llmux::bench
