// AWS Signature Version 4 for request headers (HMAC-SHA256, OpenSSL). Every Bedrock request is
// signed: its body hash is part of the signature. The signing key depends only on the day, so it
// is derived once a day and shared; a signature then costs two SHA-256 and two HMACs over short
// texts. Thread-safe: one signer per provider, used by every connection.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/secret.hpp"

namespace llmux::providers::bedrock {

struct AwsCredentials {
  std::string access_key_id;
  Secret secret_access_key;
  Secret session_token;  // empty for long-term keys
};

// What one request is signed over.
struct SignInput {
  std::string_view method;       // "POST"
  std::string_view host;         // the Host header: host[:port], the port only when not the scheme's default
  std::string_view path;         // the path as sent, percent-encoded ("/model/us.x-v1%3A0/converse")
  std::string_view query;        // as sent, without '?' ("" for none)
  std::string_view payload;      // the body
  // Further headers to sign, names lower-case, sorted, none of host / x-amz-*: ("content-type", …).
  const std::vector<std::pair<std::string_view, std::string_view>>* extra_headers = nullptr;
  std::time_t now = 0;           // seconds since the epoch (UTC)
};

// The headers a signed request carries, as "Name: value" lines.
struct SignedHeaders {
  std::string amz_date;         // "x-amz-date: 20150830T123600Z"
  std::string security_token;   // "x-amz-security-token: …", empty without a session token
  std::string content_sha256;   // "x-amz-content-sha256: …", empty unless asked for
  std::string authorization;    // "Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…"
};

class SigV4Signer {
 public:
  // `double_encode_path`: every service but S3 signs the path percent-encoded once more than it
  // is sent (so "%3A" is signed as "%253A"); AWS's generic test suite signs it as given.
  SigV4Signer(AwsCredentials credentials, std::string region, std::string service, bool double_encode_path = true,
              bool send_content_sha256 = false);

  void sign(const SignInput& in, SignedHeaders& out) const;

  const std::string& region() const noexcept { return region_; }
  const AwsCredentials& credentials() const noexcept { return credentials_; }

  // "AWS4" + secret → date → region → service → "aws4_request": the key of one day.
  static std::array<unsigned char, 32> signing_key(std::string_view secret, std::string_view date,
                                                   std::string_view region, std::string_view service);

 private:
  std::array<unsigned char, 32> key_for(std::string_view date) const;

  AwsCredentials credentials_;
  std::string region_, service_;
  bool double_encode_path_, send_content_sha256_;
  mutable std::mutex key_mutex_;  // guards the day's key (held for a compare and a copy, never I/O)
  mutable std::string key_date_;
  mutable std::array<unsigned char, 32> key_{};
};

// Lower-case hex of SHA-256(data), appended.
void append_sha256_hex(std::string& out, std::string_view data);

// Percent-encodes for a canonical URI: unreserved characters and '/' stay, all else is %XX (upper).
void append_uri_encoded(std::string& out, std::string_view text, bool keep_slash);

}  // namespace llmux::providers::bedrock
