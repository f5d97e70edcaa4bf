// Every adapter's reading of an upstream error body (decode_error, and Bedrock's reading of the
// x-amzn-ErrorType header with it): body and header are whatever the upstream sent. Properties: no crash, the status passes through, and no provider secret reaches
// the client-facing message, even when the upstream echoes it in any field.
#include <array>
#include <memory>

#include "fuzz_support.hpp"
#include "providers/provider.hpp"

namespace {

constexpr std::string_view kKey = "sk-fuzz-secret-key-0042";

std::vector<std::unique_ptr<llmux::providers::Provider>> make_providers() {
  std::vector<std::unique_ptr<llmux::providers::Provider>> out;
  for (const char* type : {"openai-compatible", "anthropic", "gemini", "azure-openai", "aws-bedrock"}) {
    llmux::ProviderConfig c;
    c.id = type;
    c.type = type;
    c.base_url = "https://upstream.example/v1";
    c.api_key = llmux::Secret(std::string(kKey));
    c.api_version = "2024-10-21";
    c.headers = {{"x-custom-token", "tok-fuzz-secret-0077"}};
    auto p = llmux::providers::make_provider(c);
    if (!p) std::abort();
    out.push_back(std::move(*p));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto providers = make_providers();
  std::string_view body = llmux::fuzz::as_text(data, size);
  // The first byte picks the status, so 4xx, 429 and 5xx paths all run.
  static constexpr std::array<int, 8> kStatuses = {400, 401, 403, 404, 429, 500, 503, 529};
  int status = kStatuses[size ? data[0] % kStatuses.size() : 0];
  for (const auto& p : providers) {
    // With the second byte's bit 1, the body's first line is the x-amzn-ErrorType header too.
    std::string_view error_type = size > 1 && data[1] & 2 ? body.substr(0, body.find('\n')) : std::string_view();
    llmux::Error e = p->decode_error_with_type(status, body, size > 1 && data[1] & 1 ? "7" : "", error_type);
    LLMUX_FUZZ_CHECK(e.http_status == status);
    for (const std::string* text : {&e.message, &e.type, &e.code, &e.param}) {
      LLMUX_FUZZ_CHECK(text->find(kKey) == std::string::npos);
      LLMUX_FUZZ_CHECK(text->find("tok-fuzz-secret-0077") == std::string::npos);
    }
  }
  return 0;
}
