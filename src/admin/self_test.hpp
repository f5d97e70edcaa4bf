// A provider's self-test: authentication, model listing, basic chat, streaming and error
// handling, each passed, failed or skipped with its latency and a reason. What `llmux provider
// test` prints and POST /api/providers/{name}/test answers. Blocking (it waits for the provider):
// run it on an admin thread or in the CLI, never on a worker's event loop. Every request goes
// through the upstream guard like the gateway's own.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/error.hpp"
#include "llmux/expected.hpp"

namespace llmux::admin {

enum class SelfCheck : uint8_t { authentication, model_listing, basic_chat, streaming, error_handling };
inline constexpr std::array<SelfCheck, 5> kSelfChecks = {SelfCheck::authentication, SelfCheck::model_listing,
                                                         SelfCheck::basic_chat, SelfCheck::streaming,
                                                         SelfCheck::error_handling};

std::string_view check_name(SelfCheck check);        // "authentication", "model listing", … (the API's)
std::string_view check_short_name(SelfCheck check);  // "auth", "models", "chat", "streaming", "errors" (the CLI's)

enum class CheckStatus : uint8_t { pass, fail, skip };
std::string_view status_name(CheckStatus status);  // "pass", "fail", "skip"

struct CheckResult {
  SelfCheck check = SelfCheck::authentication;
  CheckStatus status = CheckStatus::fail;
  std::chrono::microseconds latency{0};  // 0 when skipped
  std::string reason;                    // never holds the provider's key or header values
  std::optional<Error> error;            // the failure behind a fail, when there is one (for hints)
};

struct SelfTestOptions {
  std::string model;  // the model to chat with; empty: default model, first configured, first live
  // Instead of the provider's own timeout / max_retries, e.g. to bound an admin request.
  std::optional<std::chrono::milliseconds> request_timeout;
  std::optional<int> max_retries;
  std::string key_source;  // where the key came from, named in authentication's reason ("vault")
  // The end of the reason given when there is no model to chat with.
  std::string no_model_advice = "set a default model (defaultModel) or list one under models";
};

class SelfTest {
 public:
  SelfTest(ProviderConfig config, SelfTestOptions options);
  ~SelfTest();
  SelfTest(const SelfTest&) = delete;
  SelfTest& operator=(const SelfTest&) = delete;

  // Registers the provider (enabled, even when disabled for the gateway); fails on a config the
  // loader would refuse.
  Expected<void, Error> start();
  CheckResult run(SelfCheck check);
  // Not run because an earlier check found the server unreachable (or refused by the guard).
  CheckResult skip(SelfCheck check) const;
  // Set once a check could not reach the server: later checks would only say it again.
  const std::optional<Error>& unreachable() const;
  const ProviderConfig& config() const;

  struct State;

 private:
  std::unique_ptr<State> state_;
};

struct SelfTestReport {
  std::string provider;
  std::string base_url;
  std::vector<CheckResult> checks;
  bool passed() const;
};

// Runs `checks` (empty: all five) in order, skipping the rest once the server is unreachable.
Expected<SelfTestReport, Error> run_self_test(const ProviderConfig& config, const SelfTestOptions& options,
                                              std::span<const SelfCheck> checks = {});

// The latency in milliseconds with two decimals (loopback answers take well under one).
double latency_ms(std::chrono::microseconds latency);

}  // namespace llmux::admin
