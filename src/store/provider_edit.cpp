#include "store/provider_edit.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "config/config_internal.hpp"
#include "llmux/config.hpp"
#include "store/yaml_util.hpp"

namespace llmux::store {

using namespace config_detail;

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool valid_var_name(std::string_view name) {
  return !name.empty() && !(name.front() >= '0' && name.front() <= '9') &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

std::string var_name(std::string_view arg) {
  if (arg.size() > 3 && arg.substr(0, 2) == "${" && arg.back() == '}') return std::string(arg.substr(2, arg.size() - 3));
  if (!arg.empty() && arg.front() == '$') return std::string(arg.substr(1));
  return std::string(arg);
}

// Shortest text that reads back as the same double: 0.6, not 0.59999999999999998.
YAML::Node number_node(double value) {
  char buf[32];
  auto end = std::to_chars(buf, buf + sizeof buf, value).ptr;
  return YAML::Node(std::string(buf, end));
}

void set_key(YAML::Node& map, std::string_view canonical, const YAML::Node& value) {
  auto key = find_key(map, canonical);
  map[key ? *key : std::string(canonical)] = value;
}

void remove_key(YAML::Node& map, std::string_view canonical) {
  if (auto key = find_key(map, canonical)) map.remove(*key);
}

std::string model_id(const YAML::Node& model) {
  return model.IsMap() ? scalar(get_key(model, "id")) : scalar(model);
}

// Each --price-* option, the key it writes under pricing:, and which price it sets (the 1K and
// 1M spellings of one price share a side; writing one removes the other).
struct PriceFlag {
  const char* flag;
  const char* key;
  const char* flat_key;  // the model-level spelling in USD per 1K tokens, if any
  int side;
  std::optional<double> ProviderEdit::*value;
};
constexpr PriceFlag kPriceFlags[] = {
    {"--price-input", "input", "input_price", 0, &ProviderEdit::price_input},
    {"--price-output", "output", "output_price", 1, &ProviderEdit::price_output},
    {"--price-input-per-mtok", "input_per_mtok", nullptr, 0, &ProviderEdit::price_input_per_mtok},
    {"--price-output-per-mtok", "output_per_mtok", nullptr, 1, &ProviderEdit::price_output_per_mtok},
    {"--price-cached-input-per-mtok", "cached_input_per_mtok", nullptr, 2, &ProviderEdit::price_cached_input_per_mtok},
    {"--price-cache-write-per-mtok", "cache_write_per_mtok", nullptr, 3, &ProviderEdit::price_cache_write_per_mtok},
    {"--price-reasoning-per-mtok", "reasoning_per_mtok", nullptr, 4, &ProviderEdit::price_reasoning_per_mtok},
};

}  // namespace

bool ProviderEdit::prices_given() const {
  return std::any_of(std::begin(kPriceFlags), std::end(kPriceFlags), [this](const PriceFlag& f) { return (this->*f.value).has_value(); });
}

bool ProviderEdit::empty() const {
  return !display_name && !base_url && !type && add_models.empty() && remove_models.empty() && !clear_models &&
         !default_model && headers.empty() && remove_headers.empty() && !auth_type && !auth_header &&
         !api_key_env && !clear_api_key && !context_window && !prices_given() && !priority &&
         !timeout && !max_retries && !enabled;
}

Result<HeaderArg> parse_header_arg(const std::string& arg) {
  size_t colon = arg.find(':');
  std::string shown_name = trim_blanks(std::string_view(arg).substr(0, std::min(colon, arg.size())));
  if (arg.find_first_of("\r\n") != std::string::npos)
    return unexpected(Failure::of(
        FailKind::invalid, "header " + quoted(shown_name) +
                               " contains a line break (CR/LF): refused, it would inject extra headers"));
  if (colon == std::string::npos)
    return unexpected(Failure::of(FailKind::invalid, "invalid header " + quoted(arg) +
                                                         ": expected NAME:VALUE, e.g. --header \"X-Org:acme\""));
  HeaderArg h{shown_name, trim_blanks(std::string_view(arg).substr(colon + 1))};
  if (!is_header_token(h.name))
    return unexpected(Failure::of(FailKind::invalid, "invalid header name " + quoted(h.name) +
                                                         ": use letters, digits and - (e.g. X-Org)"));
  if (has_control_chars(h.value))
    return unexpected(Failure::of(FailKind::invalid,
                                  "header " + quoted(h.name) + " contains a control character: refused"));
  return h;
}

Result<void> check_provider_name(const std::string& name) {
  if (is_valid_provider_id(name)) return {};
  return unexpected(Failure::of(FailKind::invalid, "invalid provider name " + quoted(name) +
                                                       ": use letters, digits, '.', '_' and '-'"));
}

Result<void> check_edit(const ProviderEdit& e, bool adding) {
  Failure failure{FailKind::invalid, {}};
  auto fail = [&](std::string message) { failure.messages.push_back(std::move(message)); };
  if (e.base_url) {
    if (e.base_url->find("${") != std::string::npos) {
      // A ${VAR} URL is checked after expansion, when it is loaded.
    } else if (auto url = normalize_base_url(*e.base_url); !url) {
      fail("invalid URL " + quoted(without_credentials(*e.base_url)) + ": " + url.error());
    }
  } else if (adding) {
    fail("a base URL is required, e.g. http://localhost:11434/v1");
  }
  if (e.type)
    if (auto t = normalize_provider_type(*e.type); !t) fail(t.error());
  for (const auto& h : e.headers)
    if (auto parsed = parse_header_arg(h); !parsed) fail(parsed.error().messages.front());
  for (const auto& h : e.remove_headers)
    if (!is_header_token(h)) fail("invalid header name " + quoted(h));
  if (e.auth_type)
    if (auto a = parse_auth_style(*e.auth_type); !a) fail(a.error());
  if (e.auth_header && !is_header_token(*e.auth_header))
    fail("invalid --auth-header " + quoted(*e.auth_header) + ": use a header name such as X-API-Key");
  if (e.api_key_env && !valid_var_name(var_name(*e.api_key_env)))
    fail("invalid variable name " + quoted(*e.api_key_env) +
         " for --api-key-env: letters, digits and _, not starting with a digit");
  if (e.api_key_env && e.clear_api_key) fail("--api-key-env and --no-api-key contradict each other");
  if (e.context_window && *e.context_window <= 0) fail("--context-window must be greater than 0");
  for (const auto& flag : kPriceFlags) {
    const auto& price = e.*flag.value;
    if (price && (!std::isfinite(*price) || *price < 0)) fail(std::string(flag.flag) + " must be a number >= 0");
    for (const auto& other : kPriceFlags)
      if (&other < &flag && other.side == flag.side && price && e.*other.value)
        fail(std::string(other.flag) + " (USD per 1K tokens) and " + flag.flag +
             " (USD per 1M tokens) set the same price: give one");
  }
  if (e.max_retries && (*e.max_retries < 0 || *e.max_retries > 100)) fail("--max-retries must be between 0 and 100");
  if (e.timeout)
    if (auto d = parse_duration(*e.timeout); !d) fail("invalid --timeout: " + d.error());
  for (const auto& m : e.add_models)
    if (m.empty() || has_control_chars(m)) fail("invalid model id " + quoted(m));
  if (e.display_name && has_control_chars(*e.display_name)) fail("--name must not contain control characters");
  if (adding) {
    if ((e.context_window || e.prices_given()) && e.add_models.empty())
      fail("--context-window and the --price-* options describe models: add --model M");
    if (e.default_model && !e.add_models.empty() &&
        std::find(e.add_models.begin(), e.add_models.end(), *e.default_model) == e.add_models.end()) {
      std::string listed;
      for (const auto& m : e.add_models) listed += (listed.empty() ? "" : ", ") + m;
      fail("--default-model " + quoted(*e.default_model) + " is not one of the --model values (" + listed + ")");
    }
  }
  if (!failure.messages.empty()) return unexpected(std::move(failure));
  return {};
}

void apply_edit(YAML::Node& p, const ProviderEdit& e) {
  if (!p.IsMap()) p = YAML::Node(YAML::NodeType::Map);
  if (e.display_name) set_key(p, "name", text_node(*e.display_name));
  if (e.type) set_key(p, "type", text_node(*e.type));
  if (e.base_url) set_key(p, "base_url", text_node(*e.base_url));
  if (e.api_key_env) set_key(p, "api_key", text_node("${" + var_name(*e.api_key_env) + "}"));
  if (e.clear_api_key) remove_key(p, "api_key");

  if (e.auth_type) {
    set_key(p, "auth_type", text_node(*e.auth_type));
    auto style = parse_auth_style(*e.auth_type);
    std::string header = scalar(get_key(p, "auth_header"));
    if (style && *style != AuthStyle::header && !e.auth_header && !header.empty() && !iequals(header, "Authorization"))
      remove_key(p, "auth_header");
  }
  if (e.auth_header) {
    set_key(p, "auth_header", text_node(*e.auth_header));
    if (!e.auth_type && !iequals(*e.auth_header, "Authorization")) set_key(p, "auth_type", text_node("api-key"));
  }

  if (!e.headers.empty() || !e.remove_headers.empty()) {
    YAML::Node headers = get_key(p, "headers");
    if (!headers.IsMap()) headers = YAML::Node(YAML::NodeType::Map);
    auto find_header = [&](const std::string& name) -> std::optional<std::string> {
      for (auto it = headers.begin(); it != headers.end(); ++it)
        if (it->first.IsScalar() && iequals(it->first.Scalar(), name)) return it->first.Scalar();
      return std::nullopt;
    };
    for (const auto& name : e.remove_headers)
      if (auto existing = find_header(name)) headers.remove(*existing);
    for (const auto& arg : e.headers) {
      auto h = parse_header_arg(arg);
      if (!h) continue;  // check_edit reported it
      auto existing = find_header(h->name);
      headers[existing ? *existing : h->name] = text_node(h->value);
    }
    if (headers.size() == 0) remove_key(p, "headers");
    else set_key(p, "headers", headers);
  }

  bool models_touched = e.clear_models || !e.remove_models.empty() || !e.add_models.empty() ||
                        e.context_window || e.prices_given();
  if (models_touched) {
    YAML::Node old = get_key(p, "models");
    YAML::Node models(YAML::NodeType::Sequence);
    if (old.IsSequence() && !e.clear_models)
      for (const auto& m : old)
        if (std::find(e.remove_models.begin(), e.remove_models.end(), model_id(m)) == e.remove_models.end())
          models.push_back(m);
    auto contains = [&](const std::string& id) {
      for (const auto& m : models)
        if (model_id(m) == id) return true;
      return false;
    };
    for (const auto& id : e.add_models)
      if (!contains(id)) models.push_back(text_node(id));
    if (e.context_window || e.prices_given()) {
      for (size_t i = 0; i < models.size(); ++i) {
        std::string id = model_id(models[i]);
        bool targeted = e.add_models.empty() ||
                        std::find(e.add_models.begin(), e.add_models.end(), id) != e.add_models.end();
        if (!targeted) continue;
        YAML::Node m = models[i];
        if (!m.IsMap()) {
          m = YAML::Node(YAML::NodeType::Map);
          m["id"] = text_node(id);
        }
        if (e.context_window) set_key(m, "context_window", YAML::Node(*e.context_window));
        if (e.prices_given()) {
          YAML::Node pricing = get_key(m, "pricing");
          if (!pricing.IsMap()) pricing = YAML::Node(YAML::NodeType::Map);
          for (const auto& flag : kPriceFlags) {
            const auto& price = e.*flag.value;
            if (!price) continue;
            // The other spellings of this price would clash with the one written.
            for (const auto& other : kPriceFlags)
              if (other.side == flag.side) {
                remove_key(pricing, other.key);
                remove_key(m, other.key);
                if (other.flat_key) remove_key(m, other.flat_key);
              }
            pricing[flag.key] = number_node(*price);
          }
          set_key(m, "pricing", pricing);
        }
        models[i] = m;
      }
    }
    // A default model that is no longer listed falls back to the first one left.
    std::string def = scalar(get_key(p, "default_model"));
    if (!def.empty() && models.size() > 0 && !contains(def) && !e.default_model)
      set_key(p, "default_model", text_node(model_id(models[0])));
    if (models.size() == 0) remove_key(p, "models");
    else set_key(p, "models", models);
    if (def.empty() && !e.default_model && models.size() > 0 && !e.add_models.empty())
      set_key(p, "default_model", text_node(model_id(models[0])));
  }
  if (e.default_model) set_key(p, "default_model", text_node(*e.default_model));

  if (e.enabled) {
    if (!*e.enabled) set_key(p, "enabled", YAML::Node(false));
    else if (find_key(p, "enabled")) set_key(p, "enabled", YAML::Node(true));
  }
  if (e.priority) set_key(p, "priority", YAML::Node(*e.priority));
  if (e.timeout) set_key(p, "timeout", text_node(*e.timeout));
  if (e.max_retries) set_key(p, "max_retries", YAML::Node(*e.max_retries));
}

std::vector<std::string> model_changes(const YAML::Node& before, const YAML::Node& after) {
  auto ids = [](const YAML::Node& provider) {
    std::vector<std::string> out;
    YAML::Node models = get_key(provider, "models");
    if (models.IsSequence())
      for (const auto& m : models) out.push_back(model_id(m));
    return out;
  };
  auto listed = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  auto missing_from = [](const std::vector<std::string>& from, const std::vector<std::string>& in) {
    std::vector<std::string> out;
    for (const auto& n : from)
      if (std::find(in.begin(), in.end(), n) == in.end()) out.push_back(n);
    return out;
  };
  std::vector<std::string> old_ids = ids(before), new_ids = ids(after), lines;
  auto added = missing_from(new_ids, old_ids), removed = missing_from(old_ids, new_ids);
  auto plural = [](const std::vector<std::string>& v) { return v.size() == 1 ? "model " : "models "; };
  if (!added.empty() || !removed.empty()) {
    std::string line;
    if (!added.empty()) line = "added " + std::string(plural(added)) + listed(added);
    if (!removed.empty()) line += (line.empty() ? "removed " : ", removed ") + std::string(plural(removed)) + listed(removed);
    line += new_ids.empty() ? "; no models listed now (any model name passes through)" : "; models now: " + listed(new_ids);
    lines.push_back(std::move(line));
  }
  std::string old_default = scalar(get_key(before, "default_model")), new_default = scalar(get_key(after, "default_model"));
  if (old_default != new_default)
    lines.push_back(new_default.empty() ? "no default model now"
                                        : "default model: " + new_default + (old_default.empty() ? "" : " (was " + old_default + ")"));
  return lines;
}

}  // namespace llmux::store
