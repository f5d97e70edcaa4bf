// llmux-fake-provider: an HTTP server speaking the OpenAI and Anthropic wire formats with
// scriptable behaviour, for the gateway's integration tests and benchmarks.
#include <charconv>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "fake_server.hpp"

namespace {

constexpr const char* kUsage =
    "usage: llmux-fake-provider [--host 127.0.0.1] [--port N] [--threads N] [--latency-ms N]\n"
    "         [--chunks N] [--chunk-interval-ms N] [--status N] [--retry-after S]\n"
    "         [--models a,b,c] [--require-key KEY] [--content TEXT]\n"
    "         [--tls-cert PEM --tls-key PEM [--tls-max-version 1.2|1.3] [--tls-client-ca PEM]]\n"
    "With --tls-cert, --port is a TLS port (first line \"listening on https://HOST:PORT\") relayed to a\n"
    "cleartext one (second line \"cleartext on http://HOST:PORT\"); GET /_fake/tls counts TLS\n"
    "connections, handshakes and resumed sessions.\n"
    "Any per-request knob (reset-after-chunks, truncate-after-chunks, hang, malformed, usage,\n"
    "early-hints, stream-error, content-size, chunked, status-line, header, echo-auth, nesting)\n"
    "is also accepted as a flag, and so are the stateful faults: fail-first N (the first N\n"
    "requests per fault-key fail), down-for-ms T (those within T of the first), both with\n"
    "fail-with STATUS|reset|hang and fail-retry-after S; and reset-before-headers, error-code CODE\n"
    "(context_length_exceeded, content_policy_violation, ...); and the usage and reasoning knobs\n"
    "cached-tokens N, cache-write-tokens N (prompt tokens read from / written to the cache, in each API's\n"
    "usage fields) and reasoning TEXT (visible reasoning before the answer: OpenAI reasoning_content,\n"
    "Gemini thought parts, Ollama thinking, Cohere thinking content). Requests override them with\n"
    "x-fake-<knob> headers or a \"fake\": {\"<knob_name>\": value} body field.\n"
    "Endpoints: OpenAI POST /v1/chat/completions, /v1/completions, /v1/embeddings, GET /v1/models;\n"
    "Anthropic POST /v1/messages, and GET /v1/models in its shape when anthropic-version is sent;\n"
    "Gemini POST /v1beta/models/{model}:generateContent and :streamGenerateContent?alt=sse, GET /v1beta/models;\n"
    "Azure OpenAI the OpenAI endpoints under /openai/deployments/{name}/...?api-version= and /openai/v1/,\n"
    "GET /openai/models?api-version=, with content-filter annotations (error-code content_filter: Azure's refusal).\n"
    "Bedrock POST /bedrock/model/{id}/converse and /converse-stream (AWS event-stream), GET /bedrock/foundation-models;\n"
    "SigV4 required (with --require-key, the secret access key the signature is checked against).\n"
    "Vertex AI POST /token (the JWT bearer grant; --token-expires-in S, --token-public-key PEM checks the\n"
    "signature; /token/refused always refuses) and, with a token it issued, /v1/projects/P/locations/R/\n"
    "publishers/google/models/M:generateContent|streamGenerateContent and publishers/anthropic/models/M:\n"
    "rawPredict|streamRawPredict, GET /v1beta1/publishers/google/models; GET /_fake/vertex counts token requests.\n"
    "GET /_fake/requests lists the requests received (DELETE clears it); GET /_fake/connections\n"
    "counts the open client connections.\n";

bool parse_int(std::string_view text, int min, int max, int& out) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return false;
  out = v;
  return true;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "llmux-fake-provider: %s\n%s", message.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  llmux::fake::Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (!arg.starts_with("--")) return fail("unexpected argument: " + std::string(arg));
    std::string_view name = arg.substr(2), value;
    if (auto eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail("missing value for " + std::string(arg));
    }

    int n = 0;
    bool ok = true;
    if (name == "host") {
      opt.host = value;
    } else if (name == "port") {
      ok = parse_int(value, 0, 65535, n);
      opt.port = static_cast<unsigned short>(n);
    } else if (name == "threads") {
      ok = parse_int(value, 1, 1024, n);
      opt.threads = n;
    } else if (name == "models") {
      opt.models.clear();
      while (!value.empty()) {
        auto comma = value.find(',');
        auto id = value.substr(0, comma);
        while (!id.empty() && id.front() == ' ') id.remove_prefix(1);
        while (!id.empty() && id.back() == ' ') id.remove_suffix(1);
        if (!id.empty()) opt.models.emplace_back(id);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      }
    } else if (name == "tls-cert") {
      opt.tls.cert = value;
    } else if (name == "tls-key") {
      opt.tls.key = value;
    } else if (name == "tls-max-version") {
      opt.tls.max_version = value;
      ok = value == "1.2" || value == "1.3";
    } else if (name == "tls-client-ca") {
      opt.tls.client_ca = value;
    } else if (name == "token-expires-in") {
      ok = parse_int(value, 1, 86400, opt.token_expires_in);
    } else if (name == "token-public-key") {
      opt.token_public_key = value;
    } else if (name == "require-key") {
      opt.require_key = value;
    } else {
      ok = opt.defaults.set(name, value);
    }
    if (!ok) return fail("bad option: --" + std::string(name) + " " + std::string(value));
  }

  try {
    return llmux::fake::run_server(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llmux-fake-provider: %s\n", e.what());
    return 1;
  }
}
