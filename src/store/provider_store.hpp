// The provider store: $XDG_CONFIG_HOME/llmux/providers.yaml, a human-editable file in the config
// format's map style (providers: {id: {...}}) that `llmux provider …` edits and `llmux serve` adds
// to its config. ${VAR} references stay as written; they are expanded only when loaded.
//
// Edits replace only the text of the provider they change (comments and formatting elsewhere are
// kept), are validated with the config loader before anything is written, and are written
// atomically. A file in another layout (list style, flow style, JSON) is rewritten in map style.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "store/files.hpp"
#include "store/yaml_util.hpp"

namespace llmux::store {

class ProviderStore {
 public:
  explicit ProviderStore(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  // Reads and parses the file; a missing file is an empty store. A syntax error is an `invalid`
  // failure naming file:line:column.
  Result<void> load();
  // Parses `text` as if it were the file's content (tests, and callers that already read it).
  Result<void> load_text(std::string text, bool exists = true);

  bool exists() const { return exists_; }
  const std::string& text() const { return text_; }
  std::vector<RawProvider> providers() const { return raw_providers(root_); }
  std::optional<RawProvider> find(std::string_view id) const;
  std::vector<std::string> ids() const;

  // The providers as configs, validated by the config loader. strict: an unset ${VAR} is an error
  // naming it (what `llmux serve` does); otherwise it expands to "" (see unset_refs per provider).
  Expected<GatewayConfig, ConfigErrors> configs(bool strict) const;

  // Adds or replaces provider `id` with `node`, or removes it (nullopt). The resulting file is
  // validated first: an invalid result is refused with every error and nothing is written.
  // Returns warnings (variables referenced but not set in this environment).
  Result<std::vector<std::string>> put(const std::string& id, const YAML::Node& node);
  Result<std::vector<std::string>> remove(const std::string& id);

  // The file's text after such a change (not validated, not written).
  std::string text_with(const std::string& id, const std::optional<YAML::Node>& node) const;
  // Checks a candidate text the way put() does.
  Result<std::vector<std::string>> validate_text(const std::string& text) const;

 private:
  Result<std::vector<std::string>> commit(const std::string& text);

  std::string path_;
  std::string text_;
  YAML::Node root_;
  bool exists_ = false;
};

// Store-only rules on a parsed document: nothing but `providers` at the top level.
ConfigErrors store_shape_errors(const YAML::Node& root, const std::string& file);

// "Custom provider 'x' not found; known: a, b"
Failure unknown_provider(std::string_view id, const std::vector<std::string>& known, bool custom = true);

// The comment written at the top of a new store file.
extern const char* const kStoreHeader;

}  // namespace llmux::store
