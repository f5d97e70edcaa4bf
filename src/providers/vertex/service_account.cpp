#include "providers/vertex/service_account.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <fstream>
#include <utility>
#include <sstream>

#include <boost/json.hpp>

#include "core/json_text.hpp"
#include "http/upstream_guard.hpp"

namespace llmux::providers::vertex {

namespace bjson = boost::json;

namespace {

std::string string_field(const bjson::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct PrivateKeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

Expected<std::string, std::string> rs256_signature(std::string_view pem, std::string_view signing_input) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return unexpected(std::string("out of memory reading the private key"));
  std::unique_ptr<EVP_PKEY, PrivateKeyDeleter> key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!key) return unexpected(std::string("private_key is not a PEM private key"));
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return unexpected(std::string("private_key is not an RSA key (RS256 needs one)"));
  std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context(EVP_MD_CTX_new());
  size_t length = 0;
  if (!context || EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1)
    return unexpected(std::string("signing the assertion failed"));
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1)
    return unexpected(std::string("signing the assertion failed"));
  signature.resize(length);
  return signature;
}

size_t collect_body(char* data, size_t size, size_t count, void* userp) {
  auto* body = static_cast<std::string*>(userp);
  constexpr size_t kMaxTokenResponse = 64 << 10;  // a token answer is a few hundred bytes
  if (body->size() + size * count > kMaxTokenResponse) return 0;
  body->append(data, size * count);
  return size * count;
}

int abort_when_stopped(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(userp)->load() ? 1 : 0;
}

std::string_view host_of(std::string_view url) {
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  url = url.substr(0, url.find_first_of("/?#"));
  if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
  if (url.starts_with('[')) return url.substr(1, url.find(']') - 1);
  return url.substr(0, url.rfind(':') == std::string_view::npos ? url.size() : url.rfind(':'));
}

}  // namespace

Expected<ServiceAccountKey, std::string> parse_service_account_key(std::string_view json, std::string_view origin) {
  boost::system::error_code ec;
  auto v = bjson::parse(json, ec);
  const std::string where = "service account key file '" + std::string(origin) + "'";
  if (ec || !v.is_object()) return unexpected(where + " is not a JSON object");
  const auto& o = v.as_object();
  if (std::string type = string_field(o, "type"); !type.empty() && type != "service_account")
    return unexpected(where + " has type '" + type + "'; Vertex AI needs a service_account key");
  ServiceAccountKey key;
  key.client_email = string_field(o, "client_email");
  key.private_key_id = string_field(o, "private_key_id");
  key.private_key = Secret(string_field(o, "private_key"));
  key.token_uri = string_field(o, "token_uri");
  key.project_id = string_field(o, "project_id");
  if (key.token_uri.empty()) key.token_uri = std::string(kDefaultTokenUri);
  if (key.client_email.empty()) return unexpected(where + " has no client_email");
  if (key.private_key.empty()) return unexpected(where + " has no private_key");
  if (!key.token_uri.starts_with("https://") && !key.token_uri.starts_with("http://"))
    return unexpected(where + " has a token_uri that is not an http(s) URL: " + key.token_uri);
  return key;
}

Expected<ServiceAccountKey, std::string> read_service_account_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return unexpected("service account key file '" + path + "' cannot be read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_service_account_key(text.str(), path);
}

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t at) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (size_t rest = bytes.size() - i; rest > 0) {
    uint32_t n = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    if (rest == 2) out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

Expected<std::string, std::string> signed_assertion(const ServiceAccountKey& key, std::chrono::system_clock::time_point now) {
  std::string header = "{\"alg\":\"RS256\",\"typ\":\"JWT\"";
  if (!key.private_key_id.empty()) {
    header += ",\"kid\":";
    append_json_string(header, key.private_key_id);
  }
  header += '}';
  const int64_t issued = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  std::string claims = "{\"iss\":";
  append_json_string(claims, key.client_email);
  claims += ",\"scope\":";
  append_json_string(claims, kCloudPlatformScope);
  claims += ",\"aud\":";
  append_json_string(claims, key.token_uri);
  claims += ",\"iat\":" + std::to_string(issued) + ",\"exp\":" + std::to_string(issued + kAssertionLifetime.count()) + '}';
  std::string assertion = base64url(header) + '.' + base64url(claims);
  auto signature = rs256_signature(key.private_key.reveal(), assertion);
  if (!signature) return unexpected(std::move(signature).error());
  assertion += '.';
  assertion += base64url(*signature);
  return assertion;
}

std::string token_request_body(std::string_view assertion) {
  // The grant type's ':' are escaped; a JWT is base64url and dots, safe in a form value as it is.
  std::string body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  body += assertion;
  return body;
}

Expected<FetchedToken, std::string> parse_token_response(int status, std::string_view body) {
  boost::system::error_code ec;
  auto v = bjson::parse(body, ec);
  const bjson::object* o = !ec && v.is_object() ? &v.as_object() : nullptr;
  if (status < 200 || status >= 300) {
    std::string detail = "HTTP " + std::to_string(status);
    if (o) {
      std::string error = string_field(*o, "error"), description = string_field(*o, "error_description");
      if (!error.empty()) detail += ": " + error;
      if (!description.empty()) detail += " (" + description + ")";
    }
    return unexpected(detail);
  }
  if (!o) return unexpected(std::string("the answer is not a JSON object"));
  FetchedToken token;
  token.access_token = Secret(string_field(*o, "access_token"));
  if (token.access_token.empty()) return unexpected(std::string("the answer has no access_token"));
  for (char c : token.access_token.reveal())
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) return unexpected(std::string("the access_token is not a header value"));
  const auto* expires = o->if_contains("expires_in");
  int64_t seconds = 3600;  // RFC 6749 makes expires_in optional; Google always sends it
  if (expires && expires->is_int64()) seconds = expires->as_int64();
  else if (expires && expires->is_uint64()) seconds = static_cast<int64_t>(std::min<uint64_t>(expires->as_uint64(), 86400));
  if (seconds <= 0) return unexpected(std::string("the answer's expires_in is not a positive number"));
  token.expires_in = std::chrono::seconds(seconds);
  return token;
}

Expected<FetchedToken, std::string> fetch_access_token(const ServiceAccountKey& key, std::chrono::milliseconds timeout,
                                                       const std::atomic<bool>& stop) {
  auto assertion = signed_assertion(key, std::chrono::system_clock::now());
  if (!assertion) return unexpected(std::move(assertion).error());
  const std::string body = token_request_body(*assertion);
  CURL* easy = curl_easy_init();
  if (!easy) return unexpected(std::string("curl_easy_init failed"));
  std::string answer;
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded");
  headers = curl_slist_append(headers, "Accept: application/json");
  http::CurlGuard guard{std::string(host_of(key.token_uri)), {}};
  http::guard_curl_handle(easy, guard);
  curl_easy_setopt(easy, CURLOPT_URL, key.token_uri.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &collect_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &abort_when_stopped);
  curl_easy_setopt(easy, CURLOPT_XFERINFODATA, const_cast<std::atomic<bool>*>(&stop));
  CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  if (!guard.refused.empty()) return unexpected(guard.refused);
  if (rc != CURLE_OK) return unexpected(std::string(error[0] ? error : curl_easy_strerror(rc)));
  return parse_token_response(static_cast<int>(status), answer);
}

std::chrono::steady_clock::duration AccessTokenSource::use_for(std::chrono::seconds lifetime) {
  return lifetime > 2 * kRefreshEarly ? std::chrono::steady_clock::duration(lifetime - kRefreshEarly)
                                      : std::chrono::steady_clock::duration(lifetime) / 2;
}

AccessTokenSource::AccessTokenSource(std::string provider_id, std::string token_uri, Fetch fetch)
    : provider_id_(std::move(provider_id)), token_uri_(std::move(token_uri)), fetch_(std::move(fetch)),
      thread_([this] { run(); }) {}

AccessTokenSource::~AccessTokenSource() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Expected<std::shared_ptr<const AccessToken>, Error> AccessTokenSource::current() {
  const auto now = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  if (token_ && now < token_->expires) return token_;
  std::string why = !first_done_ ? "the first token request is still in flight"
                                 : last_failure_.empty() ? "the token expired and its refresh is in flight"
                                                         : "the token request failed: " + last_failure_;
  asked_ = true;
  lock.unlock();
  wake_.notify_all();
  Error e = Error::make(ErrorKind::upstream_error,
                        "provider '" + provider_id_ + "' has no Vertex AI access token (token_uri " + token_uri_ + "): " + why,
                        {}, "vertex_token_unavailable");
  e.http_status = 503;
  e.type = "upstream_error";
  e.provider = provider_id_;
  e.retryable = true;
  e.retry_after = "1";
  return unexpected(std::move(e));
}

bool AccessTokenSource::wait_first(std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, limit, [this] { return first_done_; });
  return token_ != nullptr;
}

uint64_t AccessTokenSource::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

void AccessTokenSource::run() {
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds retry_wait = kFirstRetryWait;
  Clock::time_point next_fetch = Clock::now(), last_attempt = Clock::time_point::min();
  std::unique_lock lock(mutex_);
  while (!stop_) {
    wake_.wait_until(lock, next_fetch, [&] { return stop_.load() || asked_; });
    if (stop_) break;
    if (std::exchange(asked_, false) && !(token_ && Clock::now() < token_->expires)) {
      // Requests are waiting for a token: try again soon, but never more often than every
      // kFirstRetryWait, however many ask.
      if (last_attempt != Clock::time_point::min()) next_fetch = std::min(next_fetch, last_attempt + kFirstRetryWait);
      else next_fetch = Clock::now();
    }
    if (Clock::now() < next_fetch) continue;
    ++fetches_;
    lock.unlock();
    const auto started = Clock::now();
    auto fetched = fetch_(stop_);
    lock.lock();
    last_attempt = started;
    first_done_ = true;
    asked_ = false;  // whoever asked while this fetch ran is served by its outcome
    if (fetched) {
      auto token = std::make_shared<AccessToken>();
      token->header_line = "Authorization: Bearer ";
      token->header_line += fetched->access_token.reveal();
      // A margin for the clocks of the token endpoint and the API, which may not agree with ours.
      auto margin = std::min<Clock::duration>(fetched->expires_in / 10, std::chrono::seconds(60));
      token->expires = started + fetched->expires_in - margin;
      token_ = std::move(token);
      last_failure_.clear();
      retry_wait = kFirstRetryWait;
      next_fetch = started + use_for(fetched->expires_in);
    } else {
      last_failure_ = std::move(fetched).error();
      next_fetch = Clock::now() + retry_wait;
      retry_wait = std::min(retry_wait * 2, kMaxRetryWait);
    }
    wake_.notify_all();
  }
}

}  // namespace llmux::providers::vertex
