// Error values shared by the library and the server. An Error carries everything needed to answer
// the client in its own wire shape and to decide on retries; its message never contains a secret.
#pragma once

#include <optional>
#include <string>

namespace llmux {

enum class ErrorKind {
  invalid_request,         // 400
  authentication,          // 401
  permission,              // 403
  not_found,               // 404
  payload_too_large,       // 413
  unsupported_media_type,  // 415
  rate_limited,            // 429
  upstream_error,          // upstream answered with an error status (status passed through)
  upstream_unreachable,    // 502
  upstream_timeout,        // 504
  unsupported,             // 501: the provider cannot do this
  internal,                // 500
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  int http_status = 500;
  std::string message;
  std::string type;   // OpenAI error "type", e.g. invalid_request_error
  std::string param;  // OpenAI error "param"; empty -> null
  std::string code;   // OpenAI error "code"; empty -> null
  std::string provider;
  int upstream_status = 0;
  bool retryable = false;
  std::optional<std::string> retry_after;  // Retry-After header value to pass through

  static Error make(ErrorKind kind, std::string message, std::string param = {},
                    std::string code = {});
};

// Default HTTP status and OpenAI error type for a kind.
int default_status(ErrorKind kind) noexcept;
const char* default_type(ErrorKind kind) noexcept;

// {"error":{"message":...,"type":...,"param":...,"code":...}}
std::string to_openai_json(const Error& error);

}  // namespace llmux
