#include "openai.hpp"

#include "core/json_text.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>

namespace llmux::fake {
namespace json = boost::json;
namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

// Responses are built by appending to strings: a JSON DOM per response would cost more than the
// rest of the request together.
void append_num(std::string& out, std::uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void append_str(std::string& out, std::string_view s) { llmux::append_json_string(out, s); }

std::string usage_json(std::uint64_t prompt, std::uint64_t completion) {
  std::string u = "{\"prompt_tokens\":";
  append_num(u, prompt);
  u += ",\"completion_tokens\":";
  append_num(u, completion);
  u += ",\"total_tokens\":";
  append_num(u, prompt + completion);
  u += '}';
  return u;
}

std::uint64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// ---- text measures -------------------------------------------------------------------------

bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

std::size_t code_points(std::string_view s) {
  return std::count_if(s.begin(), s.end(), [](char c) { return !is_continuation(c); });
}

// Cut at a code point boundary so that the prefix stays valid UTF-8.
std::string_view prefix_code_points(std::string_view s, std::size_t n) {
  std::size_t seen = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!is_continuation(s[i]) && seen++ == n) return s.substr(0, i);
  return s;
}

// Offsets just past the end of each whitespace-separated word.
std::vector<std::size_t> word_ends(std::string_view s) {
  std::vector<std::size_t> ends;
  for (std::size_t i = 0; i < s.size();) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i == s.size()) break;
    while (i < s.size() && !is_space(s[i])) ++i;
    ends.push_back(i);
  }
  return ends;
}

// `n` consecutive pieces covering `text`, split after words when there are enough of them, else
// between code points (pieces may then be empty). Streams always carry exactly `n` content events.
std::vector<std::string_view> split_pieces(std::string_view text, int n) {
  std::vector<std::string_view> pieces;
  if (n <= 0) return pieces;
  std::vector<std::size_t> cuts(n + 1, text.size());
  cuts[0] = 0;
  auto ends = word_ends(text);
  if (ends.size() >= std::size_t(n)) {
    for (int k = 1; k < n; ++k) cuts[k] = ends[k * ends.size() / n - 1];
  } else {
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < text.size(); ++i)
      if (!is_continuation(text[i])) starts.push_back(i);
    for (int k = 1; k < n; ++k) {
      std::size_t idx = k * starts.size() / n;
      cuts[k] = idx < starts.size() ? starts[idx] : text.size();
    }
  }
  for (int k = 0; k < n; ++k) pieces.push_back(text.substr(cuts[k], cuts[k + 1] - cuts[k]));
  return pieces;
}

// ---- request fields ------------------------------------------------------------------------

std::string_view str_field(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

bool bool_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

std::optional<std::uint64_t> max_tokens(const json::object& req) {
  for (auto key : {"max_completion_tokens", "max_tokens"}) {
    auto* v = req.if_contains(key);
    if (!v) continue;
    if (auto* i = v->if_int64(); i && *i > 0) return std::uint64_t(*i);
    if (auto* u = v->if_uint64(); u && *u > 0) return *u;
  }
  return std::nullopt;
}

// Calls f for each text of a chat message content: a string, or the "text" of each part.
template <typename F>
void for_each_text(const json::value& content, F&& f) {
  if (auto* s = content.if_string()) {
    f(std::string_view(*s));
  } else if (auto* parts = content.if_array()) {
    for (auto& part : *parts)
      if (auto* o = part.if_object())
        if (auto* t = o->if_contains("text"); t && t->is_string()) f(std::string_view(t->get_string()));
  }
}

std::string joined_text(const json::value& content) {
  std::string out;
  for_each_text(content, [&](std::string_view t) {
    if (!out.empty()) out += ' ';
    out += t;
  });
  return out;
}

// ---- completions ---------------------------------------------------------------------------

struct Answer {
  std::string text;
  std::uint64_t prompt_tokens = 0;
  std::uint64_t completion_tokens = 0;
  bool length = false;  // cut short by max_tokens
  std::string_view finish() const { return length ? "\"length\"" : "\"stop\""; }
};

Answer answer(const Script& s, std::string_view said, std::size_t prompt_chars,
              const json::object& req) {
  Answer a;
  if (s.content) {
    a.text = *s.content;
  } else {
    a.text = "Hello from llmux-fake-provider. You said: ";
    a.text += prefix_code_points(said, 200);
  }
  a.prompt_tokens = (prompt_chars + 3) / 4;
  auto ends = word_ends(a.text);
  std::uint64_t words = ends.size();
  if (auto max = max_tokens(req); max && *max < words) {
    a.text.resize(ends[*max - 1]);
    words = *max;
    a.length = true;
  }
  a.completion_tokens = std::max<std::uint64_t>(words, 1);
  return a;
}

constexpr std::string_view kMalformedBody = R"({"id": "chatcmpl-x", "choices": [)";
constexpr std::string_view kMalformedEvent = "data: {\"id\": \"chatcmpl-x\", \"choices\": [{\"delta\": \n\n";
constexpr std::string_view kDone = "data: [DONE]\n\n";

bool include_usage(const json::object& req, const Script& s) {
  if (s.usage) return *s.usage;
  auto* so = req.if_contains("stream_options");
  return so && so->is_object() && bool_field(so->get_object(), "include_usage");
}

Reply stream_reply() {
  Reply r;
  r.stream = true;
  r.content_type = "text/event-stream";
  return r;
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
  Answer a = answer(s, last_user ? joined_text(*last_user) : std::string(), prompt_chars, req);
  const std::uint64_t created = unix_now();

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
    append_str(r.body, a.text);
    r.body += ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":";
    r.body += a.finish();
    r.body += "}]";
    if (s.usage.value_or(true)) {
      r.body += ",\"usage\":";
      r.body += usage_json(a.prompt_tokens, a.completion_tokens);
    }
    r.body += ",\"system_fingerprint\":\"fp_fake\"}";
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

  Reply r = stream_reply();
  r.events.push_back(event(R"({"role":"assistant","content":""})", "null"));
  r.first_content = 1;
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  for (auto piece : split_pieces(a.text, s.chunks)) {
    std::string delta = "{\"content\":";
    append_str(delta, piece);
    delta += '}';
    r.events.push_back(event(delta, "null"));
  }
  r.events.push_back(event("{}", a.finish()));
  if (with_usage) r.events.push_back(head + "],\"usage\":" + usage_json(a.prompt_tokens, a.completion_tokens) + "}\n\n");
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
  Answer a = answer(s, prompt, code_points(prompt), req);
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
    choice(r.body, a.text, a.finish());
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
  Reply r = stream_reply();
  if (s.malformed) r.events.emplace_back(kMalformedEvent);
  for (auto piece : split_pieces(a.text, s.chunks)) r.events.push_back(event(piece, "null"));
  r.events.push_back(event("", a.finish()));
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
    out.push_back({fnv1a(kFnvBasis, t.data(), t.size()), (code_points(t) + 3) / 4});
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

// Everything but /v1 (or an Azure deployment prefix) is dropped; "" when the path is not an API path.
std::string_view api_path(std::string_view path, std::string_view& deployment) {
  if (path.starts_with("/v1/")) return path.substr(3);
  constexpr std::string_view azure = "/openai/deployments/";
  if (path.starts_with(azure)) {
    path.remove_prefix(azure.size());
    auto slash = path.find('/');
    if (slash == std::string_view::npos) return {};
    deployment = path.substr(0, slash);
    return path.substr(slash);
  }
  return path;
}

bool bearer_matches(std::string_view value, std::string_view key) {
  if (value.size() < 7 || !iequals(value.substr(0, 7), "bearer ")) return false;
  value.remove_prefix(7);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value == key;
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

Provider::Provider(Options opt) : opt_(std::move(opt)) {
  models_body_ = "{\"object\":\"list\",\"data\":[";
  for (auto& id : opt_.models) {
    model_bodies_.emplace_back(id, model_object(id));
    if (model_bodies_.size() > 1) models_body_ += ',';
    models_body_ += model_bodies_.back().second;
  }
  models_body_ += "]}";
}

Reply Provider::handle(const Request& req) const {
  Script s = opt_.defaults;
  bool authorized = opt_.require_key.empty();
  std::string_view request_id;
  for (auto& f : req) {
    auto name = f.name_string();
    if (name.size() > 7 && iequals(name.substr(0, 7), "x-fake-")) {
      s.set(name.substr(7), f.value());
    } else if (!authorized) {
      if (f.name() == http::field::authorization) authorized = bearer_matches(f.value(), opt_.require_key);
      else if (iequals(name, "api-key") || iequals(name, "x-api-key")) authorized = f.value() == opt_.require_key;
    }
    if (iequals(name, "x-request-id")) request_id = f.value();
  }

  std::string_view target = req.target();
  std::string_view deployment;
  std::string_view path = api_path(target.substr(0, target.find('?')), deployment);

  // A stack buffer holds the whole DOM of a typical request: no heap allocation to parse it.
  unsigned char scratch[8192];
  json::monotonic_resource mr(scratch, sizeof scratch);
  json::error_code ec;
  const bool post = req.method() == http::verb::post;
  json::value body = post ? json::parse(req.body(), ec, &mr) : json::value(&mr);
  const bool bad_json = post && (ec || !body.is_object());
  if (!bad_json && body.is_object())
    if (auto* f = body.get_object().if_contains("fake"); f && f->is_object()) s.apply(f->get_object());

  Reply r;
  if (s.hang) {
    r.hang = true;
    return r;
  }
  const bool stream = !bad_json && body.is_object() && bool_field(body.get_object(), "stream");
  if (!authorized) {
    r = error_reply(401, "Incorrect API key provided.");
  } else if (s.status >= 400) {
    r = error_reply(s.status, "fake provider scripted status " + std::to_string(s.status));
  } else if (bad_json) {
    r = error_reply(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)", "invalid_json");
  } else if (s.malformed && !stream) {
    r.body = kMalformedBody;
  } else {
    r = route(req, path, deployment, body, s);
    if (s.status && r.status == 200) r.status = s.status;
  }

  if (!s.retry_after.empty()) r.headers += "Retry-After: " + s.retry_after + "\r\n";
  if (!request_id.empty()) {
    r.headers += "x-request-id: ";
    r.headers += request_id;
    r.headers += "\r\n";
  }
  r.latency_ms = s.latency_ms;
  r.early_hints = s.early_hints;
  r.interval_ms = s.chunk_interval_ms;
  if (s.reset_after_chunks >= 0 || s.truncate_after_chunks >= 0) {
    r.end = s.reset_after_chunks >= 0 ? Reply::End::reset : Reply::End::truncate;
    int n = s.reset_after_chunks >= 0 ? s.reset_after_chunks : s.truncate_after_chunks;
    r.cut = std::min(r.events.size(), r.first_content + std::size_t(n));
  }
  return r;
}

Reply Provider::route(const Request& req, std::string_view path, std::string_view deployment,
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
