#include "providers/bedrock/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>

namespace llmux::providers::bedrock {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex(std::string& out, const unsigned char* bytes, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xF]);
  }
}

std::array<unsigned char, 32> hmac(const unsigned char* key, size_t key_length, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key, static_cast<int>(key_length), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &length);
  return out;
}

bool is_unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
         c == '.' || c == '~';
}

// "20150830T123600Z"
void format_amz_date(std::time_t now, char (&out)[17]) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(out, sizeof out, "%Y%m%dT%H%M%SZ", &tm);
}

// The query's parameters sorted by name, then value (they are already percent-encoded as sent).
void append_canonical_query(std::string& out, std::string_view query) {
  if (query.empty()) return;
  thread_local std::vector<std::string_view> pairs;
  pairs.clear();
  for (size_t at = 0; at <= query.size();) {
    size_t amp = std::min(query.find('&', at), query.size());
    if (amp > at) pairs.push_back(query.substr(at, amp - at));
    at = amp + 1;
  }
  std::sort(pairs.begin(), pairs.end(), [](std::string_view a, std::string_view b) {
    std::string_view ka = a.substr(0, a.find('=')), kb = b.substr(0, b.find('='));
    return ka != kb ? ka < kb : a < b;
  });
  for (size_t i = 0; i < pairs.size(); ++i) {
    if (i) out += '&';
    out += pairs[i];
    if (pairs[i].find('=') == std::string_view::npos) out += '=';
  }
}

}  // namespace

void append_sha256_hex(std::string& out, std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  append_hex(out, digest, sizeof digest);
}

void append_uri_encoded(std::string& out, std::string_view text, bool keep_slash) {
  for (char c : text) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back("0123456789ABCDEF"[b >> 4]);
      out.push_back("0123456789ABCDEF"[b & 0xF]);
    }
  }
}

SigV4Signer::SigV4Signer(AwsCredentials credentials, std::string region, std::string service, bool double_encode_path,
                         bool send_content_sha256)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)),
      double_encode_path_(double_encode_path),
      send_content_sha256_(send_content_sha256) {}

std::array<unsigned char, 32> SigV4Signer::signing_key(std::string_view secret, std::string_view date,
                                                       std::string_view region, std::string_view service) {
  std::string seed = "AWS4";
  seed += secret;
  auto k_date = hmac(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(), date);
  OPENSSL_cleanse(seed.data(), seed.size());
  auto k_region = hmac(k_date.data(), k_date.size(), region);
  auto k_service = hmac(k_region.data(), k_region.size(), service);
  return hmac(k_service.data(), k_service.size(), "aws4_request");
}

std::array<unsigned char, 32> SigV4Signer::key_for(std::string_view date) const {
  std::lock_guard lock(key_mutex_);
  if (key_date_ != date) {
    key_ = signing_key(credentials_.secret_access_key.reveal(), date, region_, service_);
    key_date_.assign(date);
  }
  return key_;
}

void SigV4Signer::sign(const SignInput& in, SignedHeaders& out) const {
  char amz_date[17];
  format_amz_date(in.now, amz_date);
  std::string_view date_time(amz_date, 16), date(amz_date, 8);
  std::string_view token = credentials_.session_token.reveal();

  thread_local std::string payload_hash, canonical, signed_names, to_sign;
  payload_hash.clear();
  append_sha256_hex(payload_hash, in.payload);

  // Headers are signed in name order: content-type < host < x-amz-content-sha256 < x-amz-date <
  // x-amz-security-token, with the caller's extras (all before "host" or between, sorted) merged.
  struct Line {
    std::string_view name, value;
  };
  Line lines[16];
  size_t count = 0;
  if (in.extra_headers)
    for (const auto& [name, value] : *in.extra_headers)
      if (count < 11) lines[count++] = {name, value};
  lines[count++] = {"host", in.host};
  if (send_content_sha256_) lines[count++] = {"x-amz-content-sha256", payload_hash};
  lines[count++] = {"x-amz-date", date_time};
  if (!token.empty()) lines[count++] = {"x-amz-security-token", token};
  std::sort(lines, lines + count, [](const Line& a, const Line& b) { return a.name < b.name; });

  canonical.clear();
  canonical += in.method;
  canonical += '\n';
  if (in.path.empty()) {
    canonical += '/';
  } else if (double_encode_path_) {
    append_uri_encoded(canonical, in.path, true);
  } else {
    canonical += in.path;
  }
  canonical += '\n';
  append_canonical_query(canonical, in.query);
  canonical += '\n';
  signed_names.clear();
  for (size_t i = 0; i < count; ++i) {
    canonical += lines[i].name;
    canonical += ':';
    // Values trimmed; inner runs of spaces are one space.
    std::string_view v = lines[i].value;
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    for (size_t k = 0; k < v.size(); ++k)
      if (v[k] != ' ' || v[k - 1] != ' ') canonical += v[k];
    canonical += '\n';
    if (i) signed_names += ';';
    signed_names += lines[i].name;
  }
  canonical += '\n';
  canonical += signed_names;
  canonical += '\n';
  canonical += payload_hash;

  to_sign.assign("AWS4-HMAC-SHA256\n");
  to_sign += date_time;
  to_sign += '\n';
  size_t scope_at = to_sign.size();
  to_sign += date;
  to_sign += '/';
  to_sign += region_;
  to_sign += '/';
  to_sign += service_;
  to_sign += "/aws4_request";
  size_t scope_end = to_sign.size();
  to_sign += '\n';
  append_sha256_hex(to_sign, canonical);

  auto key = key_for(date);
  auto signature = hmac(key.data(), key.size(), to_sign);

  out.amz_date.assign("x-amz-date: ");
  out.amz_date += date_time;
  out.security_token.clear();
  if (!token.empty()) {
    out.security_token.assign("x-amz-security-token: ");
    out.security_token += token;
  }
  out.content_sha256.clear();
  if (send_content_sha256_) {
    out.content_sha256.assign("x-amz-content-sha256: ");
    out.content_sha256 += payload_hash;
  }
  out.authorization.assign("Authorization: AWS4-HMAC-SHA256 Credential=");
  out.authorization += credentials_.access_key_id;
  out.authorization += '/';
  out.authorization.append(to_sign, scope_at, scope_end - scope_at);
  out.authorization += ", SignedHeaders=";
  out.authorization += signed_names;
  out.authorization += ", Signature=";
  append_hex(out.authorization, signature.data(), signature.size());
}

}  // namespace llmux::providers::bedrock
