#include "bedrock.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <optional>

#include <boost/json.hpp>

#include "anthropic.hpp"
#include "providers/bedrock/eventstream_writer.hpp"
#include "providers/bedrock/sigv4.hpp"

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;
namespace bedrock = llmux::providers::bedrock;
using boost::beast::iequals;

namespace {

constexpr std::string_view kStreamType = "application/vnd.amazon.eventstream";

const json::array* array_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v ? v->if_array() : nullptr;
}

// The x-amzn-ErrorType Bedrock names for a status.
std::string_view error_type_for(unsigned status) {
  switch (status) {
    case 400: return "ValidationException";
    case 403: return "AccessDeniedException";
    case 404: return "ResourceNotFoundException";
    case 408: return "ModelTimeoutException";
    case 424: return "ModelErrorException";
    case 429: return "ThrottlingException";
    case 503: return "ServiceUnavailableException";
    default: return status >= 500 ? "InternalServerException" : "ValidationException";
  }
}

std::optional<std::string> invalid(const json::object& req) {
  auto* messages = array_field(req, "messages");
  if (!messages || messages->empty()) return "messages must not be empty";
  std::string_view last_role;
  for (auto& m : *messages) {
    auto* o = m.if_object();
    if (!o) return "each message must be an object";
    auto role = str_field(*o, "role");
    if (role != "user" && role != "assistant") return "role must be one of user, assistant";
    if (role == last_role) return "A conversation must alternate between user and assistant roles.";
    last_role = role;
    auto* content = array_field(*o, "content");
    if (!content || content->empty()) return "each message needs a non-empty content array";
  }
  if (str_field(messages->front().get_object(), "role") != "user") return "A conversation must start with a user message.";
  return std::nullopt;
}

struct Conversation {
  std::size_t prompt_chars = 0;
  std::string said;
  bool after_tool_result = false;
};

Conversation read_conversation(const json::object& req) {
  Conversation c;
  if (auto* system = array_field(req, "system"))
    for (auto& block : *system)
      if (auto* o = block.if_object()) c.prompt_chars += code_points(str_field(*o, "text"));
  for (auto& m : req.at("messages").get_array()) {
    auto& o = m.get_object();
    std::string text;
    c.after_tool_result = false;
    for (auto& block : o.at("content").get_array()) {
      auto* b = block.if_object();
      if (!b) continue;
      text += str_field(*b, "text");
      c.after_tool_result = c.after_tool_result || b->contains("toolResult");
    }
    c.prompt_chars += code_points(text);
    if (str_field(o, "role") == "user" && !text.empty()) c.said = text;
  }
  return c;
}

struct Call {
  std::string_view name;
  std::string args;
};

std::optional<Call> tool_call(const json::object& req, const Conversation& c) {
  auto* config = req.if_contains("toolConfig");
  auto* tools = config && config->is_object() ? array_field(config->get_object(), "tools") : nullptr;
  if (!tools || tools->empty() || c.after_tool_result) return std::nullopt;
  auto* tool = tools->front().if_object();
  auto* spec = tool ? tool->if_contains("toolSpec") : nullptr;
  if (!spec || !spec->is_object()) return std::nullopt;
  Call call;
  call.name = str_field(spec->get_object(), "name");
  const json::value* schema = nullptr;
  if (auto* input = spec->get_object().if_contains("inputSchema"); input && input->is_object())
    schema = input->get_object().if_contains("json");
  append_object_sample(call.args, schema ? schema->if_object() : nullptr);
  return call;
}

void append_usage(std::string& out, std::uint64_t prompt, std::uint64_t output) {
  out += "\"usage\":{\"inputTokens\":";
  append_num(out, prompt);
  out += ",\"outputTokens\":";
  append_num(out, output);
  out += ",\"totalTokens\":";
  append_num(out, prompt + output);
  out += ",\"cacheReadInputTokens\":0,\"cacheWriteInputTokens\":0}";
}

std::string frame(std::string_view event_type, const std::string& payload) {
  std::string out;
  bedrock::append_event(out, event_type, payload);
  return out;
}

// Claude's extended thinking, asked for in additionalModelRequestFields: its budget, or nullopt.
std::optional<std::uint64_t> thinking_budget(const json::object& req) {
  auto* fields = req.if_contains("additionalModelRequestFields");
  auto* thinking = fields && fields->is_object() ? fields->get_object().if_contains("thinking") : nullptr;
  if (!thinking || !thinking->is_object() || str_field(thinking->get_object(), "type") != "enabled") return std::nullopt;
  auto budget = positive_int(thinking->get_object().if_contains("budget_tokens"));
  return budget ? *budget : 0;
}

// The visible reasoning a thinking request is answered with, and the signature that closes it.
constexpr std::string_view kFakeReasoning = "The user wrote something; I answer it.";
constexpr std::string_view kFakeReasoningSignature = "ZmFrZS1iZWRyb2NrLXNpZ25hdHVyZQ==";

Reply converse(const json::object& req, bool stream, const Script& s) {
  const Conversation c = read_conversation(req);
  std::optional<std::uint64_t> max_tokens;
  if (auto* config = req.if_contains("inferenceConfig"); config && config->is_object())
    max_tokens = positive_int(config->get_object().if_contains("maxTokens"));
  const auto budget = thinking_budget(req);
  // Claude's rules for thinking, in the words Bedrock's ValidationException uses for them.
  if (budget && *budget < 1024) return bedrock_error(400, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
  if (budget && max_tokens && *max_tokens <= *budget)
    return bedrock_error(400, "`max_tokens` must be greater than `thinking.budget_tokens`.");
  Answer a = answer(s, c.said, c.prompt_chars, max_tokens);
  const auto call = tool_call(req, c);
  std::uint64_t output_tokens = a.completion_tokens;
  std::string_view stop = call ? "tool_use" : a.length ? "max_tokens" : "end_turn";
  const std::string call_id = call ? "tooluse_" + std::string(call->name) + "_kRq2pVx8" : std::string();
  if (call) output_tokens = std::max<std::uint64_t>(token_estimate(code_points(call->args)), 1);

  if (!stream) {
    Reply r;
    r.body = "{\"metrics\":{\"latencyMs\":1},\"output\":{\"message\":{\"role\":\"assistant\",\"content\":[";
    if (budget) {
      r.body += "{\"reasoningContent\":{\"reasoningText\":{\"text\":";
      append_str(r.body, kFakeReasoning);
      r.body += ",\"signature\":";
      append_str(r.body, kFakeReasoningSignature);
      r.body += "}}},";
    }
    if (call) {
      r.body += "{\"toolUse\":{\"toolUseId\":";
      append_str(r.body, call_id);
      r.body += ",\"name\":";
      append_str(r.body, call->name);
      r.body += ",\"input\":";
      r.body += call->args;
      r.body += "}}";
    } else {
      r.body += "{\"text\":";
      append_str(r.body, a.text);
      r.body += '}';
    }
    r.body += "]}},\"stopReason\":\"";
    r.body += stop;
    r.body += "\",";
    append_usage(r.body, a.prompt_tokens, output_tokens);
    r.body += '}';
    return r;
  }
  Reply r = stream_reply(kStreamType);
  r.events.push_back(frame("messageStart", "{\"role\":\"assistant\"}"));
  r.first_content = 1;
  if (s.malformed) r.events.push_back(frame("contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":"));
  auto delta = [](std::string_view open, std::string_view value, std::string_view close) {
    std::string payload(open);
    append_str(payload, value);
    payload += close;
    return payload;
  };
  // Reasoning is block 0 when asked for (in pieces, then its signature); the answer the next.
  const std::string block = budget ? "1" : "0";
  if (budget) {
    for (auto piece : split_pieces(kFakeReasoning, 2))
      r.events.push_back(frame("contentBlockDelta",
                               delta("{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"text\":", piece, "}}}")));
    r.events.push_back(frame("contentBlockDelta", delta("{\"contentBlockIndex\":0,\"delta\":{\"reasoningContent\":{\"signature\":",
                                                        kFakeReasoningSignature, "}}}")));
    r.events.push_back(frame("contentBlockStop", "{\"contentBlockIndex\":0}"));
  }
  if (call) {
    std::string start = "{\"contentBlockIndex\":" + block + ",\"start\":{\"toolUse\":{\"toolUseId\":";
    append_str(start, call_id);
    start += ",\"name\":";
    append_str(start, call->name);
    start += "}}}";
    r.events.push_back(frame("contentBlockStart", start));
    for (auto piece : split_pieces(call->args, 3))
      r.events.push_back(frame("contentBlockDelta",
                               delta("{\"contentBlockIndex\":" + block + ",\"delta\":{\"toolUse\":{\"input\":", piece, "}}}")));
  } else {
    for (auto piece : split_pieces(a.text, s.chunks))
      r.events.push_back(frame("contentBlockDelta", delta("{\"contentBlockIndex\":" + block + ",\"delta\":{\"text\":", piece, "}}")));
  }
  if (s.stream_error) {  // the model failed mid-answer: an exception message, and nothing after it
    std::string exception;
    bedrock::append_exception(exception, "modelStreamErrorException",
                              "{\"message\":\"Model Stream Error\",\"originalStatusCode\":500,"
                              "\"originalMessage\":\"The model stream failed.\"}");
    r.events.push_back(std::move(exception));
    return r;
  }
  r.events.push_back(frame("contentBlockStop", "{\"contentBlockIndex\":" + block + "}"));
  r.events.push_back(frame("messageStop", "{\"stopReason\":\"" + std::string(stop) + "\"}"));
  std::string metadata = "{";
  append_usage(metadata, a.prompt_tokens, output_tokens);
  metadata += ",\"metrics\":{\"latencyMs\":1}}";
  r.events.push_back(frame("metadata", metadata));
  return r;
}

std::string_view header(const Request& req, std::string_view name) {
  for (auto& f : req)
    if (iequals(f.name_string(), name)) return f.value();
  return {};
}

// "20150830T123600Z" → seconds since the epoch.
std::optional<std::time_t> parse_amz_date(std::string_view text) {
  std::tm tm{};
  std::string copy(text);
  const char* end = strptime(copy.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  if (!end || *end) return std::nullopt;
  return timegm(&tm);
}

}  // namespace

Reply bedrock_error(unsigned status, std::string_view message) {
  Reply r;
  r.status = status;
  r.body = "{\"message\":";
  append_str(r.body, message);
  r.body += '}';
  r.headers += "x-amzn-ErrorType: ";
  r.headers += error_type_for(status);
  r.headers += ":http://internal.amazon.com/coral/com.amazon.bedrock/\r\n";
  return r;
}

BedrockApi::BedrockApi(const std::vector<std::string>& models, std::string secret_access_key)
    : models_(models), secret_(std::move(secret_access_key)) {
  models_body_ = "{\"modelSummaries\":[";
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (i) models_body_ += ',';
    models_body_ += "{\"modelId\":";
    append_str(models_body_, models[i]);
    models_body_ += ",\"providerName\":\"Fake\",\"inputModalities\":[\"TEXT\"],\"outputModalities\":[\"TEXT\"],"
                    "\"responseStreamingSupported\":true}";
  }
  models_body_ += "]}";
}

bool BedrockApi::known(std::string_view model) const {
  return std::find(models_.begin(), models_.end(), model) != models_.end();
}

std::string BedrockApi::signature_problem(const Request& req, std::string_view path, std::string_view query) const {
  std::string_view auth = header(req, "authorization");
  if (auth.starts_with("Bearer ")) {  // a Bedrock API key
    return secret_.empty() || auth.substr(7) == secret_ ? std::string() : "Invalid API Key format: Must start with pre-defined prefix";
  }
  std::string_view amz_date = header(req, "x-amz-date");
  if (auth.empty() || amz_date.empty()) return "Missing Authentication Token";
  constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256 Credential=";
  if (!auth.starts_with(kAlgorithm)) return "Authorization header requires 'Credential' parameter.";
  std::string_view rest = auth.substr(kAlgorithm.size());
  size_t comma = rest.find(", SignedHeaders=");
  size_t sig = rest.find(", Signature=");
  if (comma == std::string_view::npos || sig == std::string_view::npos || sig < comma)
    return "Authorization header requires 'SignedHeaders' and 'Signature' parameters.";
  std::string_view credential = rest.substr(0, comma);
  std::string_view signed_headers = rest.substr(comma + 16, sig - comma - 16);
  std::string_view signature = rest.substr(sig + 12);
  // AKID/date/region/service/aws4_request
  std::vector<std::string_view> scope;
  for (size_t at = 0; at <= credential.size();) {
    size_t slash = std::min(credential.find('/', at), credential.size());
    scope.push_back(credential.substr(at, slash - at));
    at = slash + 1;
  }
  if (scope.size() != 5 || scope[0].empty() || scope[4] != "aws4_request") return "Credential should be scoped correctly.";
  if (amz_date.size() != 16 || amz_date.substr(0, 8) != scope[1]) return "Credential should be scoped to a valid date.";
  if (scope[3] != "bedrock") return "Credential should be scoped to correct service: 'bedrock'.";
  if (signed_headers.find("host") == std::string_view::npos || signed_headers.find("x-amz-date") == std::string_view::npos)
    return "Signed headers must include host and x-amz-date.";
  bool hex = signature.size() == 64 && std::all_of(signature.begin(), signature.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  if (!hex) return "The request signature is not 64 hex digits.";
  if (secret_.empty()) return {};
  auto when = parse_amz_date(amz_date);
  if (!when) return "x-amz-date is not a valid date.";
  std::string_view token = header(req, "x-amz-security-token");
  bedrock::SigV4Signer signer({std::string(scope[0]), Secret(secret_), Secret(std::string(token))}, std::string(scope[2]),
                              "bedrock");
  bedrock::SignedHeaders expected;
  signer.sign({std::string_view(req.method_string()), header(req, "host"), path, query, req.body(), nullptr, *when},
              expected);
  if (expected.authorization != "Authorization: " + std::string(auth))
    return "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
           "Access Key and signing method.";
  return {};
}

Reply BedrockApi::answer(const Request& req, std::string_view path, std::string_view query, const json::value& body,
                         bool bad_json, const Script& s) const {
  if (auto problem = signature_problem(req, path, query); !problem.empty()) {
    Reply r = bedrock_error(403, problem);
    r.headers = "x-amzn-ErrorType: ";
    r.headers += header(req, "authorization").empty() ? "MissingAuthenticationTokenException" : "InvalidSignatureException";
    r.headers += "\r\n";
    return r;
  }
  if (s.status >= 400) return bedrock_error(s.status, "fake provider scripted status " + std::to_string(s.status));
  path.remove_prefix(kPrefix.size());
  if (req.method() == http::verb::get && path == "/foundation-models") {
    Reply r;
    r.body = models_body_;
    return r;
  }
  constexpr std::string_view kModel = "/model/";
  bool stream = path.ends_with("/converse-stream");
  if (req.method() != http::verb::post || !path.starts_with(kModel) || !(stream || path.ends_with("/converse")))
    return bedrock_error(404, "Not Found");
  std::string_view encoded = path.substr(kModel.size(), path.rfind('/') - kModel.size());
  std::string model;
  for (size_t i = 0; i < encoded.size(); ++i) {
    auto nibble = [](char c) { return c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - '0'; };
    if (encoded[i] == '%' && i + 2 < encoded.size() && std::isxdigit(static_cast<unsigned char>(encoded[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(encoded[i + 2]))) {
      model.push_back(static_cast<char>(nibble(encoded[i + 1]) * 16 + nibble(encoded[i + 2])));
      i += 2;
    } else if (encoded[i] == '/') {
      return bedrock_error(404, "Not Found");  // an unencoded '/' splits the model id
    } else {
      model.push_back(encoded[i]);
    }
  }
  if (!known(model)) return bedrock_error(400, "The provided model identifier is invalid.");
  if (bad_json || !body.is_object()) return bedrock_error(400, "Malformed input request, please reformat your input and try again.");
  const auto& o = body.get_object();
  if (auto problem = invalid(o)) return bedrock_error(400, *problem);
  if (s.malformed && !stream) {
    Reply r;
    r.body = "{\"output\":{\"message\":{\"content\":[{\"text\":";
    return r;
  }
  return converse(o, stream, s);
}

}  // namespace llmux::fake
