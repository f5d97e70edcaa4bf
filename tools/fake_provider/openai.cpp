#include "openai.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include <boost/json.hpp>

#include "openai_tools.hpp"
#include "responses.hpp"

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;

namespace {

// Cached prompt tokens are part of prompt_tokens and reasoning tokens part of completion_tokens,
// each also reported in its details object, as OpenAI does.
std::string usage_json(std::uint64_t prompt, std::uint64_t completion, std::uint64_t cached = 0,
                       std::uint64_t reasoning = 0) {
  prompt += cached;
  completion += reasoning;
  std::string u = "{\"prompt_tokens\":";
  append_num(u, prompt);
  u += ",\"completion_tokens\":";
  append_num(u, completion);
  u += ",\"total_tokens\":";
  append_num(u, prompt + completion);
  if (cached) {
    u += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    append_num(u, cached);
    u += '}';
  }
  if (reasoning) {
    u += ",\"completion_tokens_details\":{\"reasoning_tokens\":";
    append_num(u, reasoning);
    u += '}';
  }
  u += '}';
  return u;
}

std::uint64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// ---- request fields ------------------------------------------------------------------------

std::optional<std::uint64_t> max_tokens(const json::object& req) {
  for (auto key : {"max_completion_tokens", "max_tokens"})
    if (auto n = positive_int(req.if_contains(key))) return n;
  return std::nullopt;
}

// ---- completions ---------------------------------------------------------------------------

std::string_view finish_reason(const Answer& a) { return a.length ? "\"length\"" : "\"stop\""; }

constexpr std::string_view kMalformedBody = R"({"id": "chatcmpl-x", "choices": [)";
constexpr std::string_view kMalformedEvent = "data: {\"id\": \"chatcmpl-x\", \"choices\": [{\"delta\": \n\n";
constexpr std::string_view kDone = "data: [DONE]\n\n";

bool include_usage(const json::object& req, const Script& s) {
  if (s.usage) return *s.usage;
  auto* so = req.if_contains("stream_options");
  return so && so->is_object() && bool_field(so->get_object(), "include_usage");
}

Reply chat_completion(const json::object& req, const Script& s, std::string_view model,
                      std::uint64_t id) {
  std::size_t prompt_chars = 0;
  const json::value* last_user = nullptr;
  if (auto* msgs = req.if_contains("messages"); msgs && msgs->is_array()) {
    for (auto& m : msgs->get_array()) {
      auto* o = m.if_object();
      auto* content = o ? o->if_contains("content") : nullptr;
      if (!content) continue;
      for_each_text(*content, [&](std::string_view t) { prompt_chars += code_points(t); });
      if (str_field(*o, "role") == "user") last_user = content;
    }
  }
  Answer a = answer(s, last_user ? joined_text(*last_user) : std::string(), prompt_chars,
                    max_tokens(req));
  continue_prefill(req, a);
  const std::uint64_t created = unix_now();
  const auto call = openai_tool_call(req, id);
  std::string_view finish = finish_reason(a);
  if (call) {
    a.completion_tokens = std::max<std::uint64_t>(token_estimate(code_points(call->arguments)), 1);
    finish = "\"tool_calls\"";
  }

  if (!bool_field(req, "stream")) {
    Reply r;
    r.body.reserve(320 + a.text.size());
    r.body = "{\"id\":\"chatcmpl-";
    append_num(r.body, id);
    r.body += "\",\"object\":\"chat.completion\",\"created\":";
    append_num(r.body, created);
    r.body += ",\"model\":";
    append_str(r.body, model);
    r.body += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":";
    if (call) r.body += "null,\"tool_calls\":" + tool_calls_json(*call);
    else append_str(r.body, a.text);
    if (!a.reasoning.empty()) {  // DeepSeek's (and vLLM's) field for the visible reasoning
      r.body += ",\"reasoning_content\":";
      append_str(r.body, a.reasoning);
    }
    r.body += ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":";
    r.body += finish;
    r.body += "}]";
    if (s.usage.value_or(true)) {
      r.body += ",\"usage\":";
      r.body += usage_json(a.prompt_tokens, a.completion_tokens, s.cached_tokens, a.reasoning_tokens);
    }
    r.body += ",\"system_fingerprint\":\"fp_fake\"";
    if (s.nesting > 0) {  // valid JSON nested deeper than some parsers allow
      r.body += ",\"x_nested\":";
      r.body.append(std::size_t(s.nesting), '[');
      r.body.append(std::size_t(s.nesting), ']');
    }
    r.body += '}';
    return r;
  }

  const bool with_usage = include_usage(req, s);
  std::string head = "data: {\"id\":\"chatcmpl-";
  append_num(head, id);
  head += "\",\"object\":\"chat.completion.chunk\",\"created\":";
  append_num(head, created);
  head += ",\"model\":";
  append_str(head, model);
  head += ",\"system_fingerprint\":\"fp_fake\",\"choices\":[";
  const std::string_view tail = with_usage ? "],\"usage\":null}\n\n" : "]}\n\n";
  auto event = [&](std::string_view delta, std::string_view finish) {
    std::string e = head;
    e += "{\"index\":0,\"delta\":";
    e += delta;
    e += ",\"logprobs\":null,\"finish_reason\":";
    e += finish;
    e += '}';
    e += tail;
    return e;
  };

  Reply r = stream_reply("text/event-stream");
  r.events.push_back(event(R"({"role":"assistant","content":""})", "null"));
  r.first_content = 1;
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  for (auto piece : split_pieces(a.reasoning, a.reasoning.empty() ? 0 : 2)) {
    std::string delta = "{\"reasoning_content\":";
    append_str(delta, piece);
    delta += '}';
    r.events.push_back(event(delta, "null"));
  }
  if (call) {
    for (const auto& delta : tool_call_deltas(*call, s.chunks)) r.events.push_back(event(delta, "null"));
  } else {
    for (auto piece : split_pieces(a.text, s.chunks)) {
      std::string delta = "{\"content\":";
      append_str(delta, piece);
      delta += '}';
      r.events.push_back(event(delta, "null"));
    }
  }
  r.events.push_back(event("{}", finish));
  if (with_usage)
    r.events.push_back(head + "],\"usage\":" +
                       usage_json(a.prompt_tokens, a.completion_tokens, s.cached_tokens, a.reasoning_tokens) + "}\n\n");
  r.events.emplace_back(kDone);
  return r;
}

Reply text_completion(const json::object& req, const Script& s, std::string_view model,
                      std::uint64_t id) {
  std::string prompt;
  if (auto* p = req.if_contains("prompt")) {
    if (auto* ps = p->if_string()) {
      prompt = *ps;
    } else if (auto* arr = p->if_array()) {
      for (auto& item : *arr) {
        if (!item.is_string()) continue;
        if (!prompt.empty()) prompt += ' ';
        prompt += item.get_string();
      }
    }
  }
  Answer a = answer(s, prompt, code_points(prompt), max_tokens(req));
  const std::uint64_t created = unix_now();

  std::string head = "{\"id\":\"cmpl-";
  append_num(head, id);
  head += "\",\"object\":\"text_completion\",\"created\":";
  append_num(head, created);
  head += ",\"model\":";
  append_str(head, model);
  head += ",\"choices\":[";
  auto choice = [&](std::string& out, std::string_view text, std::string_view finish) {
    out += "{\"text\":";
    append_str(out, text);
    out += ",\"index\":0,\"logprobs\":null,\"finish_reason\":";
    out += finish;
    out += '}';
  };

  if (!bool_field(req, "stream")) {
    Reply r;
    r.body = head;
    choice(r.body, a.text, finish_reason(a));
    r.body += ']';
    if (s.usage.value_or(true)) {
      r.body += ",\"usage\":";
      r.body += usage_json(a.prompt_tokens, a.completion_tokens);
    }
    r.body += '}';
    return r;
  }

  const bool with_usage = include_usage(req, s);
  const std::string_view tail = with_usage ? "],\"usage\":null}\n\n" : "]}\n\n";
  auto event = [&](std::string_view text, std::string_view finish) {
    std::string e = "data: ";
    e += head;
    choice(e, text, finish);
    e += tail;
    return e;
  };
  Reply r = stream_reply("text/event-stream");
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  for (auto piece : split_pieces(a.text, s.chunks)) r.events.push_back(event(piece, "null"));
  r.events.push_back(event("", finish_reason(a)));
  if (with_usage)
    r.events.push_back("data: " + head + "],\"usage\":" +
                       usage_json(a.prompt_tokens, a.completion_tokens) + "}\n\n");
  r.events.emplace_back(kDone);
  return r;
}

// ---- embeddings ----------------------------------------------------------------------------

struct EmbeddingInput {
  std::uint64_t seed;
  std::uint64_t tokens;
};

std::uint64_t fnv1a(std::uint64_t h, const void* data, std::size_t n) {
  auto* p = static_cast<const unsigned char*>(data);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}
constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ULL;

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool token_input(const json::array& tokens, std::vector<EmbeddingInput>& out) {
  std::uint64_t h = fnv1a(kFnvBasis, "tokens", 6);
  for (auto& t : tokens) {
    std::int64_t v;
    if (auto* i = t.if_int64()) v = *i;
    else if (auto* u = t.if_uint64()) v = std::int64_t(*u);
    else return false;
    h = fnv1a(h, &v, sizeof v);
  }
  out.push_back({h, tokens.size()});
  return true;
}

bool collect_inputs(const json::value* input, std::vector<EmbeddingInput>& out) {
  auto add_text = [&](std::string_view t) {
    out.push_back({fnv1a(kFnvBasis, t.data(), t.size()), token_estimate(code_points(t))});
  };
  if (!input) return false;
  if (auto* s = input->if_string()) {
    add_text(*s);
    return true;
  }
  auto* arr = input->if_array();
  if (!arr || arr->empty()) return false;
  if (std::all_of(arr->begin(), arr->end(), [](auto& v) { return v.is_number(); }))
    return token_input(*arr, out);
  for (auto& item : *arr) {
    if (auto* s = item.if_string()) add_text(*s);
    else if (auto* a = item.if_array(); !a || !token_input(*a, out)) return false;
  }
  return true;
}

void append_base64(std::string& out, const unsigned char* p, std::size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < n; i += 3) {
    std::uint32_t v = std::uint32_t(p[i]) << 16;
    if (i + 1 < n) v |= std::uint32_t(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < n ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < n ? kAlphabet[v & 63] : '=';
  }
}

Reply embeddings(const json::object& req, std::string_view model) {
  std::vector<EmbeddingInput> inputs;
  if (!collect_inputs(req.if_contains("input"), inputs))
    return error_reply(400, "'input' must be a string, an array of strings, or an array of token arrays", "invalid_value");
  std::size_t dims = 8;
  if (auto* d = req.if_contains("dimensions")) {
    if (auto* i = d->if_int64(); i && *i > 0) dims = std::size_t(std::min<std::int64_t>(*i, 16384));
    else if (auto* u = d->if_uint64(); u && *u > 0) dims = std::size_t(std::min<std::uint64_t>(*u, 16384));
  }
  const bool base64 = str_field(req, "encoding_format") == "base64";

  Reply r;
  std::string& b = r.body;
  b = "{\"object\":\"list\",\"data\":[";
  std::vector<float> values(dims);
  std::vector<unsigned char> bytes;
  std::uint64_t tokens = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::uint64_t state = inputs[i].seed;
    double norm = 0;
    for (auto& v : values) {
      v = float(double(splitmix(state) >> 40) / double(1 << 23) - 1.0);
      norm += double(v) * v;
    }
    norm = std::sqrt(norm);
    if (norm > 0)
      for (auto& v : values) v = float(v / norm);
    tokens += inputs[i].tokens;

    if (i) b += ',';
    b += "{\"object\":\"embedding\",\"index\":";
    append_num(b, i);
    b += ",\"embedding\":";
    if (base64) {
      bytes.clear();
      for (float v : values) {  // little-endian float32, whatever the host order
        auto u = std::bit_cast<std::uint32_t>(v);
        for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<unsigned char>(u >> (8 * k)));
      }
      b += '"';
      append_base64(b, bytes.data(), bytes.size());
      b += '"';
    } else {
      b += '[';
      for (std::size_t k = 0; k < values.size(); ++k) {
        if (k) b += ',';
        char buf[32];
        auto res = std::to_chars(buf, buf + sizeof buf, values[k]);
        b.append(buf, res.ptr);
      }
      b += ']';
    }
    b += '}';
  }
  b += "],\"model\":";
  append_str(b, model);
  b += ",\"usage\":{\"prompt_tokens\":";
  append_num(b, tokens);
  b += ",\"total_tokens\":";
  append_num(b, tokens);
  b += "}}";
  return r;
}

std::string model_object(std::string_view id) {
  std::string m = "{\"id\":";
  append_str(m, id);
  m += ",\"object\":\"model\",\"created\":1700000000,\"owned_by\":\"llmux-fake\"}";
  return m;
}

}  // namespace

Reply error_reply(unsigned status, std::string_view message, std::string_view code) {
  std::string_view type = "invalid_request_error";
  std::string_view default_code;
  if (status == 401) default_code = "invalid_api_key";
  else if (status == 403) type = "permission_error";
  else if (status == 404) default_code = "model_not_found";
  else if (status == 429) type = "rate_limit_error", default_code = "rate_limit_exceeded";
  else if (status >= 500) type = "server_error";
  if (code.empty()) code = default_code;

  Reply r;
  r.status = status;
  r.body = "{\"error\":{\"message\":";
  append_str(r.body, message);
  r.body += ",\"type\":\"";
  r.body += type;
  r.body += "\",\"param\":null,\"code\":";
  if (code.empty()) r.body += "null";
  else append_str(r.body, code);
  r.body += "}}";
  return r;
}

OpenAiApi::OpenAiApi(const std::vector<std::string>& models) {
  models_body_ = "{\"object\":\"list\",\"data\":[";
  for (auto& id : models) {
    model_bodies_.emplace_back(id, model_object(id));
    if (model_bodies_.size() > 1) models_body_ += ',';
    models_body_ += model_bodies_.back().second;
  }
  models_body_ += "]}";
}

Reply OpenAiApi::answer(const Request& req, std::string_view path, std::string_view deployment,
                        const json::value& body, bool bad_json, const Script& s) const {
  if (bad_json)
    return error_reply(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)", "invalid_json");
  const bool stream = body.is_object() && bool_field(body.get_object(), "stream");
  if (s.malformed && !stream) {
    Reply r;
    r.body = kMalformedBody;
    return r;
  }
  return route(req, path, deployment, body, s);
}

Reply OpenAiApi::route(const Request& req, std::string_view path, std::string_view deployment,
                       const json::value& body, const Script& s) const {
  const auto method = req.method();
  if (method == http::verb::post && body.is_object()) {
    const auto& o = body.get_object();
    std::string_view model = str_field(o, "model");
    if (model.empty()) model = deployment;
    if (path == "/chat/completions")
      return chat_completion(o, s, model.empty() ? "fake-model" : model, next_id_++);
    if (path == "/completions")
      return text_completion(o, s, model.empty() ? "fake-model" : model, next_id_++);
    if (path == "/embeddings") return embeddings(o, model.empty() ? "fake-embedding" : model);
    if (path == "/responses") return responses_answer(o, s, model.empty() ? "fake-model" : model, next_id_++);
  } else if (method == http::verb::get) {
    Reply r;
    if (path == "/models") {
      r.body = models_body_;
      return r;
    }
    if (path.starts_with("/models/")) {
      auto id = path.substr(8);
      for (auto& [name, object] : model_bodies_) {
        if (name == id) {
          r.body = object;
          return r;
        }
      }
      return error_reply(404, "The model '" + std::string(id) + "' does not exist or you do not have access to it.");
    }
  }
  return error_reply(404, "Unknown request URL: " + std::string(req.method_string()) + " " +
                              std::string(req.target()) + ". Please check the URL for typos.",
                     "unknown_url");
}

}  // namespace llmux::fake
