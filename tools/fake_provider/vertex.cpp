#include "vertex.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <sstream>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

constexpr std::string_view kGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer";
constexpr std::string_view kScope = "https://www.googleapis.com/auth/cloud-platform";

Reply oauth_error(unsigned status, std::string_view error, std::string_view description) {
  Reply r;
  r.status = status;
  r.body = "{\"error\":";
  append_str(r.body, error);
  r.body += ",\"error_description\":";
  append_str(r.body, description);
  r.body += '}';
  return r;
}

std::string form_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string form_field(std::string_view form, std::string_view name) {
  while (!form.empty()) {
    std::string_view pair = form.substr(0, form.find('&'));
    form = pair.size() < form.size() ? form.substr(pair.size() + 1) : std::string_view();
    auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return form_decode(pair.substr(eq + 1));
  }
  return {};
}

// nullopt for a character outside base64url, or padding.
std::optional<std::string> base64url_decode(std::string_view text) {
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : c >= '0' && c <= '9' ? c - '0' + 52
          : c == '-' ? 62 : c == '_' ? 63 : -1;
    if (v < 0) return std::nullopt;
    bits = bits << 6 | uint32_t(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

bool rs256_valid(const std::string& public_pem, std::string_view signed_part, std::string_view signature) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), int(public_pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

Reply unauthenticated() {
  return gemini_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                           "cookie or other valid authentication credential.");
}

}  // namespace

VertexApi::VertexApi(const Options& opt, const GeminiApi& gemini, const AnthropicApi& anthropic)
    : gemini_(gemini), anthropic_(anthropic), lifetime_(opt.token_expires_in) {
  if (!opt.token_public_key.empty()) {
    std::ifstream in(opt.token_public_key);
    std::ostringstream text;
    text << in.rdbuf();
    public_key_pem_ = text.str();
  }
  listing_ = "{\"publisherModels\":[";
  for (std::size_t i = 0; i < opt.models.size(); ++i) {
    if (i) listing_ += ',';
    listing_ += "{\"name\":";
    append_str(listing_, "publishers/google/models/" + opt.models[i]);
    listing_ += ",\"versionId\":\"001\",\"launchStage\":\"GA\"}";
  }
  listing_ += "]}";
}

std::string VertexApi::assertion_problem(std::string_view assertion, std::string_view audience) const {
  auto first = assertion.find('.'), second = assertion.rfind('.');
  if (first == std::string_view::npos || first == second) return "the assertion is not a JWT (header.claims.signature)";
  auto header = base64url_decode(assertion.substr(0, first));
  auto claims = base64url_decode(assertion.substr(first + 1, second - first - 1));
  auto signature = base64url_decode(assertion.substr(second + 1));
  if (!header || !claims || !signature || signature->empty()) return "the assertion's parts are not base64url";
  json::error_code ec;
  auto h = json::parse(*header, ec);
  if (ec || !h.is_object() || str_field(h.get_object(), "alg") != "RS256" || str_field(h.get_object(), "typ") != "JWT")
    return "the assertion's header is not {\"alg\":\"RS256\",\"typ\":\"JWT\"}";
  auto c = json::parse(*claims, ec);
  if (ec || !c.is_object()) return "the assertion's claims are not a JSON object";
  const auto& o = c.get_object();
  if (str_field(o, "iss").empty()) return "the assertion has no iss";
  if (str_field(o, "scope") != kScope) return "the assertion's scope is not " + std::string(kScope);
  if (str_field(o, "aud") != audience) return "the assertion's aud is not " + std::string(audience);
  const auto* iat = o.if_contains("iat");
  const auto* exp = o.if_contains("exp");
  if (!iat || !exp || !iat->is_int64() || !exp->is_int64()) return "the assertion needs integer iat and exp";
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  if (iat->as_int64() > now + 60 || exp->as_int64() < now) return "the assertion is not valid now (iat/exp)";
  if (exp->as_int64() - iat->as_int64() > 3600) return "the assertion lives longer than an hour";
  if (!public_key_pem_.empty() && !rs256_valid(public_key_pem_, assertion.substr(0, second), *signature))
    return "Invalid JWT Signature.";
  return {};
}

Reply VertexApi::token(const Request& req, bool refused) const {
  {
    std::lock_guard lock(mu_);
    ++token_requests_;
  }
  if (req.method() != http::verb::post) return oauth_error(405, "invalid_request", "POST the token request");
  auto type = req[http::field::content_type];
  if (type.substr(0, type.find(';')) != "application/x-www-form-urlencoded")
    return oauth_error(400, "invalid_request", "the token request must be application/x-www-form-urlencoded");
  std::string_view form = req.body();
  if (form_field(form, "grant_type") != kGrant) return oauth_error(400, "unsupported_grant_type", "Invalid grant_type.");
  std::string assertion = form_field(form, "assertion");
  std::string audience = "http://" + std::string(req[http::field::host]) + std::string(req.target());
  if (std::string problem = assertion_problem(assertion, audience); !problem.empty())
    return oauth_error(400, "invalid_grant", problem);
  if (refused) return oauth_error(400, "invalid_grant", "Invalid grant: account not found");
  std::string issued;
  {
    std::lock_guard lock(mu_);
    issued = "ya29.fake-token-" + std::to_string(issued_.size() + 1);
    issued_[issued] = std::chrono::steady_clock::now() + lifetime_;
  }
  Reply r;
  r.body = "{\"access_token\":";
  append_str(r.body, issued);
  r.body += ",\"expires_in\":";
  append_num(r.body, std::uint64_t(lifetime_.count()));
  r.body += ",\"token_type\":\"Bearer\"}";
  return r;
}

bool VertexApi::authorized(const Request& req) const {
  std::string_view value = req[http::field::authorization];
  if (!value.starts_with("Bearer ")) return false;
  value.remove_prefix(7);
  std::lock_guard lock(mu_);
  auto it = issued_.find(value);
  return it != issued_.end() && std::chrono::steady_clock::now() < it->second;
}

Reply VertexApi::model_call(const Request& req, std::string_view path, const json::value& body, bool bad_json,
                            const Script& s) const {
  // /projects/{p}/locations/{r}/publishers/{publisher}/models/{model}:{method}
  std::string_view rest = path.substr(std::string_view("/projects/").size());
  auto locations = rest.find("/locations/"), publishers = rest.find("/publishers/"), models = rest.find("/models/");
  if (locations == std::string_view::npos || publishers == std::string_view::npos || models == std::string_view::npos ||
      !(locations < publishers && publishers < models))
    return gemini_error(404, "Not Found");
  std::string_view publisher = rest.substr(publishers + 12, models - publishers - 12);
  std::string_view target = rest.substr(models + 8);
  auto colon = target.rfind(':');
  if (colon == std::string_view::npos) return gemini_error(404, "Not Found");
  std::string_view model = target.substr(0, colon), method = target.substr(colon + 1);
  if (publisher == "google") {
    if (method != "generateContent" && method != "streamGenerateContent") return gemini_error(404, "Not Found");
    return gemini_.answer(req, "/v1beta/models/" + std::string(target), body, bad_json, s);
  }
  if (publisher != "anthropic" || (method != "rawPredict" && method != "streamRawPredict"))
    return gemini_error(404, "Not Found");
  const std::uint64_t id = anthropic_.next_id();
  if (bad_json || !body.is_object()) return anthropic_error(400, "The request body is not valid JSON", id);
  const auto& o = body.get_object();
  if (str_field(o, "anthropic_version") != "vertex-2023-10-16")
    return anthropic_error(400, "anthropic_version: vertex-2023-10-16 is required in the body", id);
  if (o.contains("model")) return anthropic_error(400, "model: Extra inputs are not permitted", id);
  if (bool_field(o, "stream") != (method == "streamRawPredict"))
    return anthropic_error(400, "stream must be true for streamRawPredict and absent for rawPredict", id);
  return anthropic_.answer_for_model(o, model, s, id);
}

Reply VertexApi::answer(const Request& req, std::string_view path, const json::value& body, bool bad_json,
                        const Script& s) const {
  if (path == "/token" || path == "/token/refused") return token(req, path == "/token/refused");
  if (path == "/_fake/vertex") {
    std::lock_guard lock(mu_);
    Reply r;
    r.body = "{\"token_requests\":" + std::to_string(token_requests_) + ",\"tokens_issued\":" +
             std::to_string(issued_.size()) + "}";
    return r;
  }
  if (!authorized(req)) return unauthenticated();
  if (path.starts_with("/v1beta1/publishers/")) {
    if (req.method() != http::verb::get || path != "/v1beta1/publishers/google/models") return gemini_error(404, "Not Found");
    Reply r;
    r.body = listing_;
    return r;
  }
  if (req.method() != http::verb::post) return gemini_error(404, "Not Found");
  if (s.status >= 400) return gemini_error(s.status, "fake provider scripted status " + std::to_string(s.status));
  return model_call(req, path, body, bad_json, s);
}

}  // namespace llmux::fake
