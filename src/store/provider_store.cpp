#include "store/provider_store.hpp"

#include <algorithm>
#include <climits>
#include <sstream>

namespace llmux::store {

const char* const kStoreHeader =
    "# llmux provider store: providers `llmux serve` adds to its config, reloaded on change.\n"
    "# Written by `llmux provider add|update|remove|enable|disable`; hand edits are fine (same format\n"
    "# as the providers section of config.yaml). ${VAR} references are expanded when loaded.\n";

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < lines.size(); ++i) out += lines[i] + "\n";
  return out;
}

size_t indent_of(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

bool is_comment(const std::string& line) {
  size_t first = line.find_first_not_of(" \t");
  return first != std::string::npos && line[first] == '#';
}

// Where each provider's text is, when the file is laid out the way the store writes it: a block
// mapping at the top with a block `providers:` mapping (or an empty `providers:`), or no content.
struct Layout {
  enum Mode { rewrite, empty_document, empty_section, entries } mode = rewrite;
  struct Range {
    std::string id;
    size_t begin = 0, end = 0;  // [begin, end) lines
  };
  std::vector<Range> ranges;
  size_t insert_at = 0;
  int indent = 2;
};

Layout layout_of(const YAML::Node& root, const std::vector<std::string>& lines) {
  Layout layout;
  if (!root.IsDefined() || root.IsNull()) {
    layout.mode = Layout::empty_document;
    return layout;
  }
  if (!root.IsMap() || root.Style() == YAML::EmitterStyle::Flow) return layout;
  size_t providers_line = 0, bound = lines.size();
  bool found = false;
  YAML::Node providers;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it->first.Mark().is_null() || !it->first.IsScalar()) return layout;
    if (it->first.Scalar() == "providers") {
      if (it->first.Mark().column != 0) return layout;
      providers_line = static_cast<size_t>(it->first.Mark().line);
      providers = it->second;
      found = true;
    }
  }
  if (!found) return layout;
  for (auto it = root.begin(); it != root.end(); ++it) {
    size_t line = static_cast<size_t>(it->first.Mark().line);
    if (line > providers_line) bound = std::min(bound, line);
  }
  if (providers.IsNull()) {
    // Only `providers:` (maybe with a comment) can take entries on the following lines.
    std::string key_line = providers_line < lines.size() ? lines[providers_line] : "";
    size_t hash = key_line.find(" #");
    std::string head = key_line.substr(0, hash);
    while (!head.empty() && (head.back() == ' ' || head.back() == '\t' || head.back() == '\r')) head.pop_back();
    if (head != "providers:") return layout;
    layout.mode = Layout::empty_section;
    layout.insert_at = providers_line + 1;
    return layout;
  }
  if (!providers.IsMap() || providers.Style() == YAML::EmitterStyle::Flow || providers.size() == 0) return layout;
  int column = -1;
  for (auto it = providers.begin(); it != providers.end(); ++it) {
    if (!it->first.IsScalar() || it->first.Mark().is_null()) return layout;
    int c = it->first.Mark().column;
    if (column >= 0 && c != column) return layout;
    column = c;
    layout.ranges.push_back({it->first.Scalar(), static_cast<size_t>(it->first.Mark().line), 0});
  }
  for (size_t i = 0; i < layout.ranges.size(); ++i) {
    auto& r = layout.ranges[i];
    if (r.begin <= providers_line || r.begin >= lines.size()) return Layout{};
    r.end = i + 1 < layout.ranges.size() ? layout.ranges[i + 1].begin : bound;
    if (r.end <= r.begin) return Layout{};
    // Blank lines and comments at the entries' indentation before the next entry belong to it.
    while (r.end > r.begin + 1 &&
           (is_blank(lines[r.end - 1]) ||
            (is_comment(lines[r.end - 1]) && indent_of(lines[r.end - 1]) <= static_cast<size_t>(column))))
      --r.end;
  }
  layout.mode = Layout::entries;
  layout.indent = column;
  layout.insert_at = layout.ranges.back().end;
  return layout;
}

bool is_unset_variable_error(const ConfigError& e) {
  return e.message.rfind("environment variable ", 0) == 0 && e.message.find(" is not set") != std::string::npos;
}

}  // namespace

ConfigErrors store_shape_errors(const YAML::Node& root, const std::string& file) {
  ConfigErrors errors;
  if (!root.IsMap()) return errors;
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
    if (key == "providers") continue;
    auto mark = it->first.Mark();
    errors.push_back({file, mark.is_null() ? 0 : mark.line + 1, mark.is_null() ? 0 : mark.column + 1, key,
                      "only `providers` belongs in the provider store; put other settings in config.yaml"});
  }
  return errors;
}

Failure unknown_provider(std::string_view id, const std::vector<std::string>& known, bool custom) {
  std::string message = std::string(custom ? "Custom provider '" : "Provider '") + std::string(id) + "' not found; ";
  if (known.empty()) {
    message += custom ? "no custom providers yet (add one: llmux provider add NAME URL)"
                      : "no providers are configured (add one: llmux provider add NAME URL)";
  } else {
    message += "known: ";
    for (size_t i = 0; i < known.size(); ++i) message += (i ? ", " : "") + known[i];
  }
  return Failure::of(FailKind::not_found, std::move(message));
}

Result<void> ProviderStore::load() {
  auto text = read_file(path_);
  if (!text) return unexpected(text.error());
  if (!*text) return load_text("", false);
  return load_text(std::move(**text), true);
}

Result<void> ProviderStore::load_text(std::string text, bool exists) {
  text_ = std::move(text);
  exists_ = exists;
  try {
    root_ = YAML::Load(text_);
  } catch (const YAML::Exception& e) {
    root_ = YAML::Node();
    ConfigError error{path_, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1, "",
                      "syntax error: " + e.msg};
    return unexpected(Failure::of(FailKind::broken, format_config_error(error)));
  }
  return {};
}

std::optional<RawProvider> ProviderStore::find(std::string_view id) const {
  for (auto& p : providers())
    if (p.id == id) return p;
  return std::nullopt;
}

std::vector<std::string> ProviderStore::ids() const {
  std::vector<std::string> out;
  for (const auto& p : providers()) out.push_back(p.id);
  return out;
}

Expected<GatewayConfig, ConfigErrors> ProviderStore::configs(bool strict) const {
  auto config = load_config_text(strict ? text_ : soften_unset_refs(text_), path_);
  ConfigErrors shape = store_shape_errors(root_, path_);
  if (!config) {
    ConfigErrors errors = std::move(config.error());
    errors.insert(errors.end(), shape.begin(), shape.end());
    return unexpected(std::move(errors));
  }
  if (!shape.empty()) return unexpected(std::move(shape));
  return config;
}

std::string ProviderStore::text_with(const std::string& id, const std::optional<YAML::Node>& node) const {
  auto lines = split_lines(text_);
  Layout layout = layout_of(root_, lines);
  auto block = [&](int indent) { return emit_entry(id, *node, indent); };
  switch (layout.mode) {
    case Layout::empty_document: {
      if (!node) return text_;
      std::string out = text_;
      if (out.find_first_not_of(" \t\r\n") == std::string::npos) out = kStoreHeader;
      if (!out.empty() && out.back() != '\n') out += '\n';
      return out + "providers:\n" + block(2);
    }
    case Layout::empty_section:
      if (!node) return text_;
      return join_lines(lines, 0, layout.insert_at) + block(2) + join_lines(lines, layout.insert_at, lines.size());
    case Layout::entries: {
      auto it = std::find_if(layout.ranges.begin(), layout.ranges.end(), [&](const auto& r) { return r.id == id; });
      if (it == layout.ranges.end()) {
        if (!node) return text_;
        return join_lines(lines, 0, layout.insert_at) + block(layout.indent) +
               join_lines(lines, layout.insert_at, lines.size());
      }
      return join_lines(lines, 0, it->begin) + (node ? block(layout.indent) : "") +
             join_lines(lines, it->end, lines.size());
    }
    case Layout::rewrite:
      break;
  }
  // Any other layout: the whole file in map style (other top-level keys kept, so validation can
  // name them instead of dropping them silently).
  std::string out = kStoreHeader;
  out += "providers:\n";
  bool replaced = false;
  for (auto& p : providers()) {
    YAML::Node value = YAML::Clone(p.node);
    if (p.id == id) {
      replaced = true;
      if (!node) continue;
      value = *node;
    }
    if (auto key = find_key(value, "id"); key && value.IsMap()) value.remove(*key);
    to_block_style(value);
    out += emit_entry(p.id, value, 2);
  }
  if (!replaced && node) out += block(2);
  if (root_.IsMap())
    for (auto it = root_.begin(); it != root_.end(); ++it)
      if (it->first.IsScalar() && it->first.Scalar() != "providers") out += emit_entry(it->first.Scalar(), it->second, 0);
  return out;
}

Result<std::vector<std::string>> ProviderStore::validate_text(const std::string& text) const {
  std::vector<std::string> warnings;
  Failure failure{FailKind::invalid, {}};
  auto config = load_config_text(text, path_);
  if (!config) {
    for (const auto& e : config.error()) {
      if (is_unset_variable_error(e)) {
        std::string var = e.message.substr(21, e.message.find(" is not set") - 21);
        std::string w = var + " is not set in this shell; `llmux serve` needs it in its environment";
        if (std::find(warnings.begin(), warnings.end(), w) == warnings.end()) warnings.push_back(w);
      } else {
        failure.messages.push_back(format_config_error(e));
      }
    }
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception&) {
  }
  for (const auto& e : store_shape_errors(root, path_)) failure.messages.push_back(format_config_error(e));
  if (!failure.messages.empty()) return unexpected(std::move(failure));
  return warnings;
}

Result<std::vector<std::string>> ProviderStore::commit(const std::string& text) {
  auto warnings = validate_text(text);
  if (!warnings) return warnings;
  if (auto dir = ensure_dir(dir_of(path_), 0700); !dir) return unexpected(dir.error());
  if (auto written = write_file_atomic(path_, text, 0600); !written) return unexpected(written.error());
  if (auto reloaded = load_text(text, true); !reloaded) return unexpected(reloaded.error());
  return warnings;
}

Result<std::vector<std::string>> ProviderStore::put(const std::string& id, const YAML::Node& node) {
  return commit(text_with(id, node));
}

Result<std::vector<std::string>> ProviderStore::remove(const std::string& id) {
  if (!find(id)) return unexpected(unknown_provider(id, ids()));
  return commit(text_with(id, std::nullopt));
}

}  // namespace llmux::store
