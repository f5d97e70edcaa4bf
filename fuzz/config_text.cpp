// The config loader (src/config): a config file's text, YAML or JSON, with ${VAR} references.
// Properties: loading never throws or crashes, every error has a message, and a config that loads
// holds what the rest of the gateway relies on: base URLs already normalised, default params a
// JSON object, model ids non-empty, durations and limits non-negative, nothing left for
// validate_config to find.
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <string>

#include "fuzz_support.hpp"
#include "llmux/config.hpp"

namespace {

using namespace llmux;

void check_loaded(const GatewayConfig& config) {
  LLMUX_FUZZ_CHECK(config.server.idle_timeout.count() >= 0 && config.server.shutdown_grace.count() >= 0);
  for (const ProviderConfig& provider : config.providers) {
    LLMUX_FUZZ_CHECK(!provider.id.empty());
    auto normalised = normalize_base_url(provider.base_url);
    LLMUX_FUZZ_CHECK(normalised.has_value() && normalised.value() == provider.base_url);
    LLMUX_FUZZ_CHECK(provider.timeout.count() >= 0 && provider.max_retries >= 0);
    if (!provider.default_params_json.empty()) {
      boost::system::error_code ec;
      boost::json::value params = boost::json::parse(provider.default_params_json, ec);
      LLMUX_FUZZ_CHECK(!ec && params.is_object());
    }
    for (const ModelConfig& model : provider.models) LLMUX_FUZZ_CHECK(!model.id.empty());
  }
  LLMUX_FUZZ_CHECK(validate_config(config).empty());  // the loader ran it: nothing left to find
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Names the seeds and the dictionary use: one set, one set but empty; LLMUX_FUZZ_UNSET is not.
  setenv("LLMUX_FUZZ_KEY", "sk-fuzz-0000", 1);
  setenv("LLMUX_FUZZ_EMPTY", "", 1);
  setenv("LLMUX_FUZZ_PORT", "4123", 1);
  unsetenv("LLMUX_FUZZ_UNSET");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(llmux::fuzz::as_text(data, size));
  auto loaded = load_config_text(text, "fuzz.yaml");
  if (loaded) {
    check_loaded(loaded.value());
  } else {
    LLMUX_FUZZ_CHECK(!loaded.error().empty());
    for (const ConfigError& error : loaded.error()) {
      LLMUX_FUZZ_CHECK(!error.message.empty() && error.line >= 0 && error.column >= 0);
      LLMUX_FUZZ_CHECK(!format_config_error(error).empty());
    }
  }
  return 0;
}
