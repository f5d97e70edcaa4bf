// Scalar parsers (durations, sizes, URLs, ${VAR}) used by the config loader.
#include <algorithm>
#include <charconv>
#include <cctype>
#include <cstdlib>
#include <limits>
#include <optional>
#include <vector>

#include "config/config_internal.hpp"
#include "config/upstream_policy.hpp"
#include "core/env_refs.hpp"

namespace llmux {
namespace config_detail {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Splits "123unit" and parses the digits; nullopt when there are none or they overflow.
std::optional<std::pair<uint64_t, std::string_view>> split_number(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  uint64_t value = 0;
  if (digits == 0 ||
      std::from_chars(text.data(), text.data() + digits, value).ec != std::errc())
    return std::nullopt;
  return std::pair{value, text.substr(digits)};
}

}  // namespace

Expected<uint64_t, std::string> parse_byte_size(std::string_view text) {
  auto bad = [&] {
    return unexpected("invalid size \"" + std::string(text) +
                      "\" (use a number of bytes or e.g. 512KiB, 10MiB, 1MB)");
  };
  auto parsed = split_number(text);
  if (!parsed) return bad();
  auto [value, unit] = *parsed;
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},          {"b", 1},          {"kb", 1000},       {"kib", 1ull << 10},
      {"mb", 1000000},  {"mib", 1ull << 20}, {"gb", 1000000000}, {"gib", 1ull << 30}};
  std::string lower = to_lower(unit);
  for (auto [name, factor] : kUnits) {
    if (lower != name) continue;
    if (value > std::numeric_limits<uint64_t>::max() / factor) return bad();
    return value * factor;
  }
  return bad();
}

Expected<std::string, std::string> normalize_provider_type(std::string_view type) {
  static constexpr std::string_view kAliases[] = {
      "openai",   "custom",     "vllm",       "lmstudio", "together",    "groq",
      "openrouter", "mistral", "deepseek", "fireworks", "xai",      "perplexity", "anyscale",
      "huggingface", "tgi",    "localai",   "jan",        "llamafile"};
  std::string lower = to_lower(type);
  std::replace(lower.begin(), lower.end(), '_', '-');
  if (lower == kAnthropic || lower == "claude") return std::string(kAnthropic);
  if (lower == kGemini || lower == "google-ai-studio") return std::string(kGemini);
  if (lower == kAzureOpenAI || lower == "azure") return std::string(kAzureOpenAI);
  if (lower == kOllama) return std::string(kOllama);
  if (lower == kCohere) return std::string(kCohere);
  if (lower == kAwsBedrock) return std::string(kAwsBedrock);
  if (lower == kVertexAI || lower == "vertex" || lower == "google-vertex") return std::string(kVertexAI);
  if (lower == "hf" || lower == "hugging-face" || lower == "lm-studio") return std::string(kOpenAICompatible);
  if (lower == kOpenAICompatible ||
      std::find(std::begin(kAliases), std::end(kAliases), lower) != std::end(kAliases))
    return std::string(kOpenAICompatible);
  std::string known(kOpenAICompatible);
  known += " (also written as";
  for (auto alias : kAliases) known += " " + std::string(alias);
  known += "), " + std::string(kAnthropic) + " (also written as claude), " + std::string(kGemini) + ", " +
           std::string(kAzureOpenAI) + " (also written as azure), " + std::string(kOllama) + " (Ollama's native API), " + std::string(kCohere) + ", " + std::string(kAwsBedrock) + ", " + std::string(kVertexAI);
  return unexpected("unknown provider type \"" + std::string(type) + "\"; known types: " + known);
}

Expected<AuthStyle, std::string> parse_auth_style(std::string_view text) {
  std::string lower = to_lower(text);
  if (lower == "bearer") return AuthStyle::bearer;
  if (lower == "api-key" || lower == "api_key" || lower == "apikey" || lower == "header")
    return AuthStyle::header;
  if (lower == "basic") return AuthStyle::basic;
  if (lower == "none") return AuthStyle::none;
  return unexpected("unknown auth type \"" + std::string(text) +
                    "\"; use bearer, api-key (or header), basic or none");
}

Expected<BalanceStrategy, std::string> parse_balance_strategy(std::string_view text) {
  std::string lower = to_lower(text);
  std::replace(lower.begin(), lower.end(), '-', '_');
  static constexpr std::pair<std::string_view, BalanceStrategy> kNames[] = {
      {"priority", BalanceStrategy::priority},
      {"weighted", BalanceStrategy::weighted},
      {"weighted_random", BalanceStrategy::weighted},
      {"simple_shuffle", BalanceStrategy::weighted},
      {"least_inflight", BalanceStrategy::least_inflight},
      {"least_busy", BalanceStrategy::least_inflight},
      {"lowest_latency", BalanceStrategy::lowest_latency},
      {"latency_based", BalanceStrategy::lowest_latency},
  };
  for (auto [name, strategy] : kNames)
    if (lower == name) return strategy;
  return unexpected("unknown strategy \"" + std::string(text) +
                    "\"; use priority, weighted, least_inflight or lowest_latency");
}

bool is_valid_provider_id(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || c == '.' || c == '_' || c == '-';
  });
}

bool is_header_token(std::string_view name) {
  static constexpr std::string_view kExtra = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return is_alpha(c) || is_digit(c) || kExtra.find(c) != std::string_view::npos;
  });
}

bool has_control_chars(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
}

}  // namespace config_detail

using namespace config_detail;

std::string format_config_error(const ConfigError& error) {
  std::string out = error.file.empty() ? std::string("<config>") : error.file;
  if (error.line > 0) {
    out += ":" + std::to_string(error.line);
    if (error.column > 0) out += ":" + std::to_string(error.column);
  }
  out += ": ";
  if (!error.key_path.empty()) out += error.key_path + ": ";
  return out + error.message;
}

Expected<std::chrono::milliseconds, std::string> parse_duration(std::string_view text) {
  // Longer timeouts would overflow when converted to steady_clock nanoseconds and added to now().
  constexpr uint64_t kMaxMs = 720ull * 3600 * 1000;
  auto bad = [&] {
    return unexpected("invalid duration \"" + std::string(text) +
                      "\" (use e.g. 500ms, 60s, 2m, 1h, or a number of milliseconds)");
  };
  if (!text.empty() && text.front() == '-') return unexpected(std::string("must not be negative"));
  auto parsed = split_number(text);
  if (!parsed) return bad();
  auto [value, unit] = *parsed;
  uint64_t factor = 0;
  if (unit.empty() || unit == "ms") factor = 1;
  else if (unit == "s") factor = 1000;
  else if (unit == "m") factor = 60 * 1000;
  else if (unit == "h") factor = 3600 * 1000;
  else return bad();
  if (value > kMaxMs / factor) return unexpected(std::string("duration is too long (max 720h)"));
  return std::chrono::milliseconds(static_cast<int64_t>(value * factor));
}

Expected<std::string, std::string> expand_env(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::string error;
  for_each_env_piece(text, [&](const EnvPiece& piece) {
    switch (piece.kind) {
      case EnvPiece::Kind::text: out += piece.raw; return true;
      case EnvPiece::Kind::escape: out += "${"; return true;
      case EnvPiece::Kind::unterminated:
        error = "unterminated \"${\" (write \"$${\" for a literal \"${\")";
        return false;
      case EnvPiece::Kind::reference: break;
    }
    std::string_view name = piece.name;
    // The text may be a secret, so a malformed reference is described, never quoted.
    if (name.empty() || is_digit(name.front()) ||
        !std::all_of(name.begin(), name.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; })) {
      error = "invalid variable reference in \"${...}\": names are letters, digits and _, not "
              "starting with a digit (write \"$${\" for a literal \"${\")";
      return false;
    }
    std::string var(name);
    const char* value = std::getenv(var.c_str());
    if (piece.fallback) {
      if (piece.fallback->find("${") != std::string_view::npos) {
        error = "nested \"${\" in the default of ${" + var + ":-...} is not supported";
        return false;
      }
      // Like the shell: ":-" also replaces a variable that is set but empty.
      out += value && *value ? std::string_view(value) : *piece.fallback;
    } else if (value) {
      out += value;
    } else {
      error = "environment variable " + var + " is not set (use ${" + var + ":-default} to give a default)";
      return false;
    }
    return true;
  });
  if (!error.empty()) return unexpected(std::move(error));
  return out;
}

namespace config_detail {

std::string without_credentials(std::string_view url) {
  size_t sep = url.find("://");
  size_t start = sep == std::string_view::npos ? 0 : sep + 3;
  size_t end = std::min(url.find_first_of("/?#", start), url.size());
  size_t at = url.substr(start, end - start).rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, start)) + "****" + std::string(url.substr(start + at));
}

}  // namespace config_detail

Expected<std::string, std::string> normalize_base_url(std::string_view url) {
  if (url.empty()) return unexpected(std::string("URL is empty"));
  for (char c : url) {
    if (c == ' ' || c == '\t') return unexpected(std::string("URL must not contain spaces"));
    if (c == '\r' || c == '\n') return unexpected(std::string("URL must not contain line breaks"));
  }
  if (has_control_chars(url))
    return unexpected(std::string("URL must not contain control characters"));
  size_t sep = url.find("://");
  if (sep == std::string_view::npos)
    return unexpected(std::string("URL must start with http:// or https://"));
  std::string scheme = to_lower(url.substr(0, sep));
  if (scheme != "http" && scheme != "https")
    return unexpected("unsupported URL scheme \"" + scheme + "\" (use http:// or https://)");
  if (url.find('?') != std::string_view::npos)
    return unexpected(std::string("URL must not contain a query string (\"?...\")"));
  if (url.find('#') != std::string_view::npos)
    return unexpected(std::string("URL must not contain a fragment (\"#...\")"));

  std::string_view rest = url.substr(sep + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return unexpected(std::string("URL must not contain credentials (user@host); use api_key"));

  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1 ||
        !std::all_of(authority.begin() + 1, authority.begin() + close, [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        }))
      return unexpected(std::string("URL has an invalid IPv6 host"));
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return unexpected(std::string("URL has an invalid IPv6 host"));
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    if (!std::all_of(host.begin(), host.end(), [](char c) {
          return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_';
        }))
      return unexpected(std::string("URL host contains an invalid character"));
  }
  if (host.empty()) return unexpected(std::string("URL has no host"));
  if (auto odd = odd_ipv4_form(host)) return unexpected(std::move(*odd));
  if (port) {
    auto parsed = split_number(*port);
    if (!parsed || !parsed->second.empty() || parsed->first == 0 || parsed->first > 65535)
      return unexpected(std::string("URL has an invalid port (expected 1-65535)"));
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return scheme + "://" + std::string(authority) + (path.empty() ? "/v1" : std::string(path));
}

}  // namespace llmux
