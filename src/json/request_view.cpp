#include "json/request_view.hpp"

#include <limits>
#include <algorithm>
#include <cstring>
#include <simdjson.h>

#include "json/json_check.hpp"
#include "json/simdjson_support.hpp"

namespace llmux::json {

namespace {

simdjson::padded_string_view padded(std::string_view body) {
  thread_local std::string buffer;
  return padded_copy(body, buffer);
}

// The dom parser's depth limit (simdjson's default): deeper request bodies are refused.
constexpr size_t kMaxRequestDepth = simdjson::DEFAULT_MAX_DEPTH;

simdjson::dom::parser& dom_parser() {
  thread_local simdjson::dom::parser parser;  // depth limit: simdjson::DEFAULT_MAX_DEPTH
  return parser;
}

JsonType type_of(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::ARRAY: return JsonType::array;
    case simdjson::dom::element_type::OBJECT: return JsonType::object;
    case simdjson::dom::element_type::STRING: return JsonType::string;
    case simdjson::dom::element_type::BOOL: return JsonType::boolean;
    case simdjson::dom::element_type::NULL_VALUE: return JsonType::null;
    default: return JsonType::number;
  }
}

Error bad_request(std::string message, std::string param = {}) {
  return Error::make(ErrorKind::invalid_request, std::move(message), std::move(param));
}

// Byte span of the value of the top-level member at `member_index` (in document order). The member
// is found by position, not by its key text: the reader compares keys unescaped, so "m\u006fdel"
// is the model, and a raw comparison here would miss it. The body is already validated, so a plain
// scan that tracks strings and nesting depth is exact.
std::pair<size_t, size_t> member_value_span(std::string_view body, size_t member_index) {
  size_t members_seen = 0;
  int depth = 0;
  size_t i = 0;
  // Index one past the closing quote. memchr jumps over string contents (most of a chat body);
  // a quote preceded by an odd run of backslashes is escaped.
  auto skip_string = [&](size_t start) {
    size_t j = start + 1;
    while (j < body.size()) {
      const void* hit = std::memchr(body.data() + j, '"', body.size() - j);
      if (!hit) return body.size();
      size_t q = static_cast<size_t>(static_cast<const char*>(hit) - body.data());
      size_t backslashes = 0;
      while (q - backslashes > start + 1 && body[q - backslashes - 1] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return q + 1;
      j = q + 1;
    }
    return body.size();
  };
  while (i < body.size()) {
    char c = body[i];
    if (c == '"') {
      size_t end = skip_string(i);
      if (depth == 1) {
        size_t k = end;
        while (k < body.size() && std::isspace(static_cast<unsigned char>(body[k]))) ++k;
        if (k < body.size() && body[k] == ':') {  // it is a key
          ++k;
          while (k < body.size() && std::isspace(static_cast<unsigned char>(body[k]))) ++k;
          if (members_seen++ == member_index) {
            size_t vend = k;
            if (body[k] == '"') {
              vend = skip_string(k);
            } else {
              int d = 0;
              while (vend < body.size()) {
                char v = body[vend];
                if (v == '"') { vend = skip_string(vend); continue; }
                if (v == '{' || v == '[') ++d;
                if (v == '}' || v == ']') { if (d == 0) break; --d; }
                if (v == ',' && d == 0) break;
                ++vend;
              }
              while (vend > k && std::isspace(static_cast<unsigned char>(body[vend - 1]))) --vend;
            }
            return {k, vend};
          }
          i = k;
          continue;
        }
      }
      i = end;
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
    ++i;
  }
  return {0, 0};
}

// 1-based line and column of the byte at `offset` (one past the end: where more was expected).
std::pair<int, int> line_and_column(std::string_view text, size_t offset) {
  text = text.substr(0, std::min(offset, text.size()));
  size_t last_newline = text.rfind('\n');
  size_t line_start = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  auto lines = std::count(text.begin(), text.end(), '\n');
  return {static_cast<int>(lines + 1), static_cast<int>(text.size() - line_start + 1)};
}

std::string where(std::string_view body, size_t offset) {
  auto [line, column] = line_and_column(body, offset);
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// A key that occurs twice (keys are compared unescaped, so "mod\u0065l" repeats "model"): which
// one a server keeps differs, so what is routed and checked could differ from what is served.
// A request has a handful of top-level keys; comparing each pair is the cheapest check for those.
std::optional<std::string_view> repeated_key(const std::vector<std::string_view>& keys) {
  constexpr size_t kPairwiseUpTo = 24;
  if (keys.size() <= kPairwiseUpTo) {
    for (size_t i = 1; i < keys.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if (keys[i] == keys[j]) return keys[i];
    return std::nullopt;
  }
  thread_local std::vector<std::string_view> sorted;
  sorted.assign(keys.begin(), keys.end());
  std::sort(sorted.begin(), sorted.end());
  auto at = std::adjacent_find(sorted.begin(), sorted.end());
  if (at == sorted.end()) return std::nullopt;
  return *at;
}

}  // namespace

std::optional<std::pair<int, int>> locate_syntax_error(std::string_view body) {
  auto error = check_json(body);
  if (!error) return std::nullopt;
  return line_and_column(body, error->offset);
}

Expected<RequestFields, Error> read_request(std::string_view body) {
  RequestFields fields;
  if (auto done = read_request(body, fields); !done) return unexpected(std::move(done).error());
  return fields;
}

Expected<void, Error> read_request(std::string_view body, RequestFields& f) {
  f.top_level_keys.clear();
  f.model.clear();
  {
    auto keys = std::move(f.top_level_keys);
    auto model = std::move(f.model);
    f = RequestFields{};
    f.top_level_keys = std::move(keys);
    f.model = std::move(model);
  }
  auto& parser = dom_parser();
  simdjson::dom::element root;
  if (auto err = parser.parse(padded(body)).get(root); err) {
    // The checker says where: at the first syntax error, or where simdjson's depth limit is passed.
    auto error = check_json(body, kMaxRequestDepth);
    if (error && error->too_deep)
      return unexpected(bad_request("request body nests deeper than " + std::to_string(kMaxRequestDepth) +
                                    " levels (" + where(body, error->offset) + ")"));
    if (error) return unexpected(bad_request("request body is not valid JSON (" + where(body, error->offset) + ")"));
    // Valid to the grammar, but not to simdjson: a number out of range, a lone UTF-16 surrogate.
    return unexpected(bad_request(std::string("request body is not valid JSON (") + simdjson::error_message(err) + ")"));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object))
    return unexpected(bad_request("request body must be a JSON object"));

  f.top_level_keys.reserve(object.size());
  size_t model_index = 0;
  for (auto field : object) {
    std::string_view key = field.key;
    f.top_level_keys.emplace_back(key);
    simdjson::dom::element v = field.value;
    if (key == "model") {
      model_index = f.top_level_keys.size() - 1;
      f.model_type = type_of(v);
      if (f.model_type == JsonType::string) f.model.assign(v.get_string().value_unsafe());
    } else if (key == "stream") {
      if (v.is_bool()) f.stream = v.get_bool().value_unsafe();
      else if (!v.is_null()) return unexpected(bad_request("'stream' must be a boolean", "stream"));
    } else if (key == "stream_options") {
      simdjson::dom::element inc;
      if (!v.at_key("include_usage").get(inc) && inc.is_bool()) f.include_usage = inc.get_bool().value_unsafe();
    } else if (key == "messages") {
      f.messages_type = type_of(v);
      if (f.messages_type == JsonType::array) f.message_count = v.get_array().value_unsafe().size();
    } else if (key == "prompt") {
      f.prompt_type = type_of(v);
    } else if (key == "input") {
      f.input_type = type_of(v);
      if (f.input_type == JsonType::array) f.input_count = v.get_array().value_unsafe().size();
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      if (v.is_null()) continue;
      int64_t n;
      if (v.get_int64().get(n) || n < 1)
        return unexpected(bad_request("'" + std::string(key) + "' must be a positive integer",
                                      std::string(key)));
      // With both max_tokens and max_completion_tokens, the larger is checked against the model.
      if (f.max_tokens && *f.max_tokens >= n) continue;
      f.max_tokens = n;
      f.max_tokens_key = key == "max_tokens" ? "max_tokens" : "max_completion_tokens";
    }
  }
  if (auto repeated = repeated_key(f.top_level_keys))
    return unexpected(Error::make(ErrorKind::invalid_request,
                                  "request body repeats the top-level key '" + std::string(*repeated) +
                                      "' (servers disagree on which one counts)",
                                  std::string(*repeated), "duplicate_key"));
  if (f.model_type != JsonType::absent) {
    auto [begin, end] = member_value_span(body, model_index);
    f.model_begin = begin;
    f.model_end = end;
  }
  return {};
}

JsonMembers object_members(std::string_view object_json) {
  JsonMembers out;
  if (object_json.empty()) return out;
  // Its own parser: RequestFields of the last read_request point into dom_parser()'s buffers.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(padded(object_json)).get_object().get(object)) return out;
  for (auto field : object) out.emplace_back(std::string(field.key), simdjson::minify(field.value));
  return out;
}

std::string rewrite_request(std::string_view body, const RequestFields& fields,
                            std::string_view model, const JsonMembers& default_params) {
  std::string out;
  rewrite_request_into(out, body, fields, model, default_params);
  return out;
}

void rewrite_request_into(std::string& out, std::string_view body, const RequestFields& fields,
                          std::string_view model, const JsonMembers& default_params) {
  size_t extra = model.size() + 16;
  for (const auto& [key, value] : default_params) extra += key.size() + value.size() + 4;
  out.reserve(out.size() + body.size() + extra);
  size_t open = body.find('{');
  out.append(body.substr(0, open + 1));
  // Members added right after the opening brace: the model when absent, then defaults.
  bool added = false;
  if (fields.model_type == JsonType::absent) {
    out += "\"model\":";
    append_json_string(out, model);
    added = true;
  }
  for (const auto& [key, value] : default_params) {
    bool present = std::find(fields.top_level_keys.begin(), fields.top_level_keys.end(), key) !=
                   fields.top_level_keys.end();
    if (present) continue;
    if (added) out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
    out += value;
    added = true;
  }
  if (added && !fields.top_level_keys.empty()) out.push_back(',');
  if (fields.model_type != JsonType::absent && fields.model_end > fields.model_begin) {
    out.append(body.substr(open + 1, fields.model_begin - open - 1));
    append_json_string(out, model);
    out.append(body.substr(fields.model_end));
  } else {
    out.append(body.substr(open + 1));
  }
}

std::string rewrite_request(std::string_view body, const RequestFields& fields,
                            std::string_view model, std::string_view default_params_json) {
  return rewrite_request(body, fields, model, object_members(default_params_json));
}

bool has_usage_object(std::string_view text) {
  // glibc's memmem shifts by whole needles; a find() that stops at every quote costs a call for
  // every key in the event.
  static constexpr std::string_view kKey = "\"usage\"";
  while (true) {
    const void* hit = memmem(text.data(), text.size(), kKey.data(), kKey.size());
    if (!hit) return false;
    size_t at = static_cast<size_t>(static_cast<const char*>(hit) - text.data()) + kKey.size();
    text.remove_prefix(at);
    size_t i = text.find_first_not_of(" \t\r\n");
    if (i != std::string_view::npos && text[i] == ':') {
      size_t v = text.find_first_not_of(" \t\r\n", i + 1);
      if (v != std::string_view::npos && text[v] == '{') return true;
    }
  }
}

std::optional<Usage> read_usage(std::string_view body) {
  auto& parser = dom_parser();
  simdjson::dom::element root;
  if (parser.parse(padded(body)).get(root)) return std::nullopt;
  simdjson::dom::object usage;
  if (root.at_key("usage").get_object().get(usage)) return std::nullopt;
  return usage_of(usage);
}

Usage usage_of(simdjson::dom::object usage) {
  Usage u;
  int64_t n;
  if (!usage.at_key("prompt_tokens").get_int64().get(n)) u.prompt_tokens = n;
  if (!usage.at_key("completion_tokens").get_int64().get(n)) u.completion_tokens = n;
  if (!usage.at_key("total_tokens").get_int64().get(n)) u.total_tokens = n;
  else u.total_tokens = add_tokens(u.prompt_tokens, u.completion_tokens);
  simdjson::dom::object details;
  if (!usage.at_key("prompt_tokens_details").get_object().get(details) &&
      !details.at_key("cached_tokens").get_int64().get(n))
    u.cached_tokens = n;
  else if (!usage.at_key("prompt_cache_hit_tokens").get_int64().get(n))  // DeepSeek's spelling
    u.cached_tokens = n;
  if (!usage.at_key("completion_tokens_details").get_object().get(details) &&
      !details.at_key("reasoning_tokens").get_int64().get(n))
    u.reasoning_tokens = n;
  u.reported = true;
  return u;
}

}  // namespace llmux::json
