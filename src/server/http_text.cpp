#include "server/http_text.hpp"

#include <cstdint>
#include <cstring>
#include <random>

namespace llmux::server {

const char* reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 303: return "See Other";     // the dashboard's login and logout
    case 304: return "Not Modified";  // the dashboard's files (ETag)
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

// Path parameters arrive percent-encoded ("fake%2Ffake-model" from the openai npm package).
std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// Writes into `id`, reusing its storage (a connection keeps one id string for all its requests).
void generate_request_id(std::string& id) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  uint64_t a = rng(), b = rng();
  id.resize(4 + 24);
  char* out = id.data();
  std::memcpy(out, "req_", 4);
  for (int i = 0; i < 16; ++i) out[4 + i] = hex[(a >> (i * 4)) & 15];
  for (int i = 0; i < 8; ++i) out[20 + i] = hex[(b >> (i * 4)) & 15];
}

}  // namespace llmux::server
