// YAML helpers for the stores: key lookup that accepts every spelling the config loader accepts,
// an emitter that keeps strings strings, and ${VAR} reference scanning.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmux::store {

// The key under which `canonical` (snake_case, e.g. "base_url") is written in `map`: the same
// name in camelCase, or an alias the loader accepts (api_base, custom_headers, auth, upstream).
std::optional<std::string> find_key(const YAML::Node& map, std::string_view canonical);
// The value for `canonical` or an undefined node.
YAML::Node get_key(const YAML::Node& map, std::string_view canonical);
// A scalar's text, or `fallback` when absent, null or not a scalar.
std::string scalar(const YAML::Node& node, std::string_view fallback = {});

// True when a plain scalar with this text would not read back as the same string (true, null,
// 12, 0.5, "", ~): such strings are written quoted.
bool needs_quotes(std::string_view text);
// A string node that is written quoted when it needs to be.
YAML::Node text_node(const std::string& text);

// Makes every mapping and list under `node` block style (for files rewritten from JSON).
void to_block_style(YAML::Node node);

// Block-style YAML for `value` under `key`, every line indented by `indent` spaces, ending in a
// newline. Quoted scalars stay quoted, flow collections stay flow.
std::string emit_entry(const std::string& key, const YAML::Node& value, int indent);

// Calls `on_ref(name, has_default)` for each ${NAME} / ${NAME:-default} in `text`, skipping the
// "$${" escape, in the order expand_env reads them.
void scan_refs(std::string_view text, const std::function<void(std::string_view, bool)>& on_ref);
// Names of ${VAR} references without a default, anywhere in the node's scalars, whose variable is
// not set (each once).
std::vector<std::string> unset_refs(const YAML::Node& node);
// `text` with every ${VAR} whose variable is unset (and that has no default) rewritten as
// ${VAR:-}, so loading it does not fail on them; line numbers are unchanged.
std::string soften_unset_refs(std::string_view text);

// The providers of a parsed config or store document, in the map style (providers: {id: {...}})
// or the list style ([{id: ...}] or providers: [...]): id, node and 1-based line.
struct RawProvider {
  std::string id;
  YAML::Node node;
  int line = 0;
};
std::vector<RawProvider> raw_providers(const YAML::Node& root);

}  // namespace llmux::store
