#include "store/yaml_util.hpp"

#include "config/config_internal.hpp"
#include "config/key_scopes.hpp"
#include "core/env_refs.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>

namespace llmux::store {

namespace {

using config_detail::fold;

// Other names the config loader accepts for a setting (see kProviderKeys in src/config/loader.cpp).
std::vector<std::string_view> aliases_of(std::string_view canonical) {
  static const std::vector<std::vector<std::string_view>> groups = {
      {"base_url", "api_base"}, {"headers", "custom_headers"}, {"auth_type", "auth"},
      {"upstream_id", "upstream"}, {"max_body_size", "max_body_bytes"}};
  for (const auto& g : groups)
    if (std::find(g.begin(), g.end(), canonical) != g.end()) return g;
  return {canonical};
}

void emit(YAML::Emitter& out, const YAML::Node& node, bool key = false) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginMap;
      for (auto it = node.begin(); it != node.end(); ++it) {
        out << YAML::Key;
        emit(out, it->first, true);
        out << YAML::Value;
        emit(out, it->second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      if (node.Style() == YAML::EmitterStyle::Flow) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& item : node) emit(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      // "!" is the tag of a quoted scalar (and of text_node strings that need quotes).
      // Quoted only when plain text would read back as something else (a number, true, null):
      // a key always, a value when it was written quoted (tag "!") or built by text_node.
      if ((key || node.Tag() == "!") && needs_quotes(node.Scalar())) out << YAML::DoubleQuoted << node.Scalar();
      else out << node.Scalar();
      break;
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::optional<std::string> find_key(const YAML::Node& map, std::string_view canonical) {
  if (!map.IsMap()) return std::nullopt;
  auto names = aliases_of(canonical);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    std::string key = fold(it->first.Scalar());
    for (auto name : names)
      if (key == fold(name)) return it->first.Scalar();
  }
  return std::nullopt;
}

YAML::Node get_key(const YAML::Node& map, std::string_view canonical) {
  auto key = find_key(map, canonical);
  if (!key) return YAML::Node(YAML::NodeType::Undefined);
  return map[*key];
}

std::string scalar(const YAML::Node& node, std::string_view fallback) {
  if (!node.IsDefined() || !node.IsScalar()) return std::string(fallback);
  return node.Scalar();
}

bool needs_quotes(std::string_view text) {
  if (text.empty()) return true;
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string, std::less<>> words = {
      "true", "false", "null", "~", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan"};
  if (words.count(lower)) return true;
  // Numbers as YAML's core schema reads them: 12, -3, 0.5, .5, 1e3, 0x1f, 0o17.
  std::string_view n = text;
  if (n.front() == '+' || n.front() == '-') n.remove_prefix(1);
  auto all = [](std::string_view s, auto pred) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  if (n.size() > 2 && n[0] == '0' && (n[1] == 'x' || n[1] == 'o'))
    return all(n.substr(2), [](unsigned char c) { return std::isxdigit(c) != 0; });
  size_t i = 0, digits = 0;
  while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i, ++digits;
  if (i < n.size() && n[i] == '.') {
    ++i;
    while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < n.size() && (n[i] == 'e' || n[i] == 'E')) {
    ++i;
    if (i < n.size() && (n[i] == '+' || n[i] == '-')) ++i;
    size_t exp = i;
    while (i < n.size() && std::isdigit(static_cast<unsigned char>(n[i]))) ++i;
    if (i == exp) return false;
  }
  return i == n.size();
}

YAML::Node text_node(const std::string& text) {
  YAML::Node node(text);
  if (needs_quotes(text)) node.SetTag("!");
  return node;
}

void to_block_style(YAML::Node node) {
  if (node.IsMap()) {
    node.SetStyle(YAML::EmitterStyle::Block);
    for (auto it = node.begin(); it != node.end(); ++it) to_block_style(it->second);
  } else if (node.IsSequence()) {
    node.SetStyle(YAML::EmitterStyle::Block);
    for (auto item : node) to_block_style(item);
  }
}

std::string emit_entry(const std::string& key, const YAML::Node& value, int indent) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap << YAML::Key;
  emit(out, text_node(key));
  out << YAML::Value;
  emit(out, value);
  out << YAML::EndMap;
  std::string pad(static_cast<size_t>(std::max(indent, 0)), ' ');
  std::string result;
  std::istringstream lines(out.c_str());
  for (std::string line; std::getline(lines, line);) result += (line.empty() ? "" : pad) + line + "\n";
  return result;
}

void scan_refs(std::string_view text, const std::function<void(std::string_view, bool)>& on_ref) {
  for_each_env_piece(text, [&](const EnvPiece& piece) {
    if (piece.kind == EnvPiece::Kind::reference) on_ref(piece.name, piece.fallback.has_value());
    return true;
  });
}

namespace {

bool valid_var_name(std::string_view name) {
  return !name.empty() && !std::isdigit(static_cast<unsigned char>(name.front())) &&
         std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

bool is_unset(std::string_view name) {
  return valid_var_name(name) && std::getenv(std::string(name).c_str()) == nullptr;
}

void collect_unset(const YAML::Node& node, std::vector<std::string>& out) {
  if (node.IsScalar()) {
    scan_refs(node.Scalar(), [&](std::string_view name, bool has_default) {
      if (!has_default && is_unset(name) && std::find(out.begin(), out.end(), name) == out.end())
        out.emplace_back(name);
    });
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) collect_unset(it->second, out);
  } else if (node.IsSequence()) {
    for (const auto& item : node) collect_unset(item, out);
  }
}

}  // namespace

std::vector<std::string> unset_refs(const YAML::Node& node) {
  std::vector<std::string> out;
  collect_unset(node, out);
  return out;
}

std::string soften_unset_refs(std::string_view text) {
  std::string out;
  for_each_env_piece(text, [&](const EnvPiece& piece) {
    if (piece.kind == EnvPiece::Kind::reference && !piece.fallback && is_unset(piece.name)) {
      out += "${";
      out.append(piece.name);
      out += ":-}";
    } else {
      out.append(piece.raw);
    }
    return true;
  });
  return out;
}

std::vector<RawProvider> raw_providers(const YAML::Node& root) {
  std::vector<RawProvider> out;
  auto from_list = [&](const YAML::Node& list) {
    for (const auto& item : list)
      out.push_back({scalar(get_key(item, "id")), item, item.Mark().is_null() ? 0 : item.Mark().line + 1});
  };
  if (root.IsSequence()) {
    from_list(root);
  } else if (root.IsMap()) {
    std::vector<std::string> keys;
    for (auto it = root.begin(); it != root.end(); ++it)
      if (it->first.IsScalar()) keys.push_back(it->first.Scalar());
    if (config_detail::is_single_provider(keys)) {
      out.push_back({scalar(get_key(root, "id")), root, root.Mark().is_null() ? 0 : root.Mark().line + 1});
      return out;
    }
    YAML::Node providers = get_key(root, "providers");
    if (providers.IsSequence()) {
      from_list(providers);
    } else if (providers.IsMap()) {
      for (auto it = providers.begin(); it != providers.end(); ++it) {
        if (!it->first.IsScalar()) continue;
        out.push_back({it->first.Scalar(), it->second, it->first.Mark().is_null() ? 0 : it->first.Mark().line + 1});
      }
    }
  }
  return out;
}

}  // namespace llmux::store
