// Small pieces of HTTP text the server writes and reads: status reason phrases, request ids,
// percent-decoded path parameters. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace llmux::server {

const char* reason_phrase(int status) noexcept;

// Path parameters arrive percent-encoded ("fake%2Ffake-model" from the openai npm package).
std::string percent_decode(std::string_view in);

// A client's x-request-id is taken as ours when it is 1–128 visible ASCII characters.
bool valid_request_id(std::string_view id) noexcept;
// "req_" and 24 hex digits, written into `id` (reusing its storage).
void generate_request_id(std::string& id);

}  // namespace llmux::server
