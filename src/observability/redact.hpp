// Hiding credentials in what llmux logs about upstream traffic (LLMUX_DEBUG=provider:…).
// A credential is hidden wherever it appears: a header whose name says it carries one
// (Authorization, *key*, *token*, *secret*, *password*, cookie, …) loses its whole value; any
// other header, a URL (its query parameters named like that, its user:password@, its path) or a
// body loses every occurrence of the provider's literal secrets (its API key, the credential
// header's value, custom header values that hold the key or look secret: the provider's own
// SecretScrubber). What remains says where a secret was: "[redacted]".
//
// Thread-safety: a Redactor is immutable after construction.
#pragma once

#include <string>
#include <string_view>

#include "providers/provider.hpp"

namespace llmux::observability {

inline constexpr std::string_view kRedacted = providers::SecretScrubber::kMask;

// Header or query-parameter names that carry a credential by their name alone.
bool is_credential_name(std::string_view name) noexcept;

class Redactor {
 public:
  // The provider outlives the redactor (a snapshot's provider outlives its requests).
  explicit Redactor(const providers::Provider& provider) : provider_(&provider) {}

  std::string header_line(std::string_view line) const;  // "Name: value"
  std::string url(std::string_view url) const;
  std::string text(std::string_view text) const;

 private:
  const providers::Provider* provider_;
};

}  // namespace llmux::observability
