// Prompt templates ($XDG_CONFIG_HOME/llmux/prompts.yaml) and the CLI settings file
// ($XDG_CONFIG_HOME/llmux/settings.yaml: the default provider for chat, run and models).
//
// Template syntax: {name} is a parameter (letters, digits, _, ., -; not starting with a digit);
// {{ and }} are literal braces; any other brace is literal text.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/files.hpp"

namespace llmux::store {

struct PromptTemplate {
  std::string name;
  std::string text;
  std::string system;       // optional system message (may hold parameters too)
  std::string description;  // optional
};

// Parameter names in order of first use (template first, then system).
std::vector<std::string> template_params(const PromptTemplate& prompt);

// Fills the parameters; a missing or unknown parameter is an error naming it (all at once).
Result<std::string> render_template(const std::string& text, const std::map<std::string, std::string>& values);
Result<PromptTemplate> render_prompt(const PromptTemplate& prompt, const std::map<std::string, std::string>& values);

class PromptStore {
 public:
  explicit PromptStore(std::string path) : path_(std::move(path)) {}
  Result<void> load();
  const std::vector<PromptTemplate>& prompts() const { return prompts_; }
  const PromptTemplate* find(const std::string& name) const;
  Result<void> put(PromptTemplate prompt);  // add or replace, then write atomically
  Result<void> remove(const std::string& name);
  const std::string& path() const { return path_; }

 private:
  Result<void> save() const;
  std::string path_;
  std::vector<PromptTemplate> prompts_;
};

Failure unknown_prompt(const std::string& name, const std::vector<PromptTemplate>& known);

struct Settings {
  std::string default_provider;

  static Result<Settings> load(const std::string& path);
  Result<void> save(const std::string& path) const;
};

}  // namespace llmux::store
