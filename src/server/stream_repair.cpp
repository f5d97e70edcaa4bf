#include "server/stream_repair.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "json/body_edit.hpp"
#include "providers/provider.hpp"

namespace llmux::server {

namespace {

size_t skip_space(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  return i;
}

// memmem, not find(): find() stops at every byte equal to the key's first one (each quote of a
// chunk), and these run on the chunks a stream's shape does not cover.
size_t find_key(std::string_view s, std::string_view key, size_t from = 0) {
  if (from > s.size()) return std::string_view::npos;
  const void* hit = memmem(s.data() + from, s.size() - from, key.data(), key.size());
  return hit ? static_cast<size_t>(static_cast<const char*>(hit) - s.data()) : std::string_view::npos;
}

// The raw text of the string value after `"key":` at or after `from`; "" if none or not a string.
std::string_view string_after(std::string_view s, std::string_view key, size_t from) {
  size_t at = find_key(s, key, from);
  if (at == std::string_view::npos) return {};
  size_t i = skip_space(s, at + key.size());
  if (i >= s.size() || s[i] != '"') return {};
  size_t end = json::skip_json_string(s, i);
  if (end > s.size() || s[end - 1] != '"' || end - i < 2) return {};
  return s.substr(i + 1, end - i - 2);
}

const char* kind_name(TimeoutKind k) {
  switch (k) {
    case TimeoutKind::connect: return "connect";
    case TimeoutKind::headers: return "headers";
    case TimeoutKind::first_token: return "first_token";
    case TimeoutKind::idle: return "idle";
    case TimeoutKind::total: return "total";
  }
  return "total";
}

}  // namespace

Error timeout_error(TimeoutKind kind, const providers::Provider& provider, std::string_view url,
                    std::chrono::milliseconds limit, std::string_view setting) {
  std::string what;
  switch (kind) {
    case TimeoutKind::connect: what = "could not be connected to within "; break;
    case TimeoutKind::headers: what = "sent no response headers within "; break;
    case TimeoutKind::first_token: what = "sent its response headers but no content within "; break;
    case TimeoutKind::idle: what = "stopped sending for "; break;
    case TimeoutKind::total: what = "did not finish its answer within "; break;
  }
  std::string name = kind_name(kind);
  Error e = Error::make(ErrorKind::upstream_timeout,
                        "provider '" + provider.id() + "' " + what + providers::format_duration(limit) + " (" +
                            (setting.empty() ? "timeouts." + name : std::string(setting)) + ") at " +
                            url_for_message(url),
                        {}, "upstream_" + name + "_timeout");
  e.provider = provider.id();
  return provider.scrubbed(std::move(e));
}

std::string url_for_message(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  size_t scheme = url.find("://");
  size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t path = url.find('/', authority);
  size_t at = url.substr(0, path).rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  std::string out(url.substr(0, authority));
  out += url.substr(at + 1);
  return out;
}

std::string_view chunk_text(std::string_view chunk) noexcept {
  size_t delta = find_key(chunk, "\"delta\"");
  if (delta != std::string_view::npos) return string_after(chunk, "\"content\":", delta);
  return string_after(chunk, "\"text\":", 0);
}

bool chunk_has_tool_call(std::string_view chunk) noexcept {
  return find_key(chunk, "\"tool_calls\"") != std::string_view::npos ||
         find_key(chunk, "\"function_call\"") != std::string_view::npos;
}

void ChunkIdentity::capture(std::string_view chunk) {
  auto take = [&](std::string_view key, std::string& out) {
    if (auto v = json::find_top_level_value(chunk, key)) out.assign(chunk.substr(v->begin, v->end - v->begin));
  };
  take("id", id);
  take("created", created);
  take("model", model);
}

void ChunkIdentity::append_as_own(std::string_view chunk, std::string& out) const {
  struct Replace {
    json::ValueSpan span;
    const std::string* with;
  };
  auto at_key = [&](std::string_view key) { return json::find_top_level_value(chunk, key).value_or(json::ValueSpan{}); };
  Replace r[3] = {{at_key("id"), &id}, {at_key("created"), &created}, {at_key("model"), &model}};
  // Members in the order they appear.
  std::sort(std::begin(r), std::end(r), [](const Replace& a, const Replace& b) { return a.span.begin < b.span.begin; });
  size_t at = 0;
  for (const auto& [span, with] : r) {
    if (span.end <= span.begin || with->empty()) continue;
    out.append(chunk.substr(at, span.begin - at));
    out += *with;
    at = span.end;
  }
  out.append(chunk.substr(at));
}

void ChunkIdentity::append_usage_chunk(const json::Usage& usage, bool estimated, std::string& out) const {
  char digits[24];
  auto number = [&](int64_t n) {
    out.append(digits, static_cast<size_t>(std::to_chars(digits, digits + sizeof digits, n).ptr - digits));
  };
  out += "data: {\"id\":";
  out += id.empty() ? std::string_view("\"chatcmpl-llmux\"") : std::string_view(id);
  out += ",\"object\":\"chat.completion.chunk\",\"created\":";
  out += created.empty() ? std::string_view("0") : std::string_view(created);
  out += ",\"model\":";
  out += model.empty() ? std::string_view("\"\"") : std::string_view(model);
  out += ",\"choices\":[],\"usage\":{\"prompt_tokens\":";
  number(usage.prompt_tokens);
  out += ",\"completion_tokens\":";
  number(usage.completion_tokens);
  out += ",\"total_tokens\":";
  number(json::add_tokens(usage.prompt_tokens, usage.completion_tokens));
  if (estimated) out += ",\"llmux_estimated\":true";
  out += "}}\n\n";
}

PrefillStyle prefill_style(const ProviderConfig& provider) noexcept {
  if (provider.type != "openai-compatible") return PrefillStyle::assistant_message;
  std::string_view url = provider.base_url;
  if (url.find("mistral.ai") != std::string_view::npos || url.find("deepseek.com") != std::string_view::npos)
    return PrefillStyle::prefix_flag;
  return PrefillStyle::continue_final_message;
}

bool append_prefill(std::string_view body, std::string_view sent, PrefillStyle style, std::string& out) {
  auto messages = json::find_top_level_value(body, "messages");
  if (!messages || body[messages->begin] != '[' || body[messages->end - 1] != ']') return false;
  size_t close = messages->end - 1;  // the array's ']'
  bool empty = skip_space(body, messages->begin + 1) == close;
  size_t start = 0;
  if (style == PrefillStyle::continue_final_message && !json::find_top_level_value(body, "continue_final_message") &&
      !json::find_top_level_value(body, "add_generation_prompt")) {
    start = body.find('{') + 1;  // the top-level object's; a member (messages) follows it
    out.append(body.substr(0, start));
    out += "\"continue_final_message\":true,\"add_generation_prompt\":false,";
  }
  out.append(body.substr(start, close - start));
  if (!empty) out += ',';
  out += "{\"role\":\"assistant\",\"content\":\"";
  out += sent;
  out += '"';
  if (style == PrefillStyle::prefix_flag) out += ",\"prefix\":true";
  out += '}';
  out.append(body.substr(close));
  return true;
}

size_t count_code_points(std::string_view escaped) noexcept {
  size_t n = 0;
  for (unsigned char c : escaped) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace llmux::server
