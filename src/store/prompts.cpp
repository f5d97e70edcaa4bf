#include "store/prompts.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <functional>

#include "store/yaml_util.hpp"

namespace llmux::store {

namespace {

bool param_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool param_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'; }

// Walks a template: on_text for literal text, on_param for each {name}.
void walk(const std::string& text, const std::function<void(std::string_view)>& on_text,
          const std::function<void(const std::string&)>& on_param) {
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      on_text(std::string_view(&text[i], 1));
      i += 2;
      continue;
    }
    if (c == '{' && i + 1 < text.size() && param_start(text[i + 1])) {
      size_t j = i + 1;
      while (j < text.size() && param_char(text[j])) ++j;
      if (j < text.size() && text[j] == '}') {
        on_param(text.substr(i + 1, j - i - 1));
        i = j + 1;
        continue;
      }
    }
    on_text(std::string_view(&text[i], 1));
    ++i;
  }
}

void add_params(const std::string& text, std::vector<std::string>& out) {
  walk(text, [](std::string_view) {}, [&](const std::string& name) {
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  });
}

}  // namespace

std::vector<std::string> template_params(const PromptTemplate& prompt) {
  std::vector<std::string> out;
  add_params(prompt.text, out);
  add_params(prompt.system, out);
  return out;
}

Result<std::string> render_template(const std::string& text, const std::map<std::string, std::string>& values) {
  std::string out;
  Failure failure{FailKind::invalid, {}};
  walk(text, [&](std::string_view piece) { out.append(piece); }, [&](const std::string& name) {
    auto it = values.find(name);
    if (it != values.end()) {
      out += it->second;
      return;
    }
    std::string message = "missing parameter '" + name + "' (pass --param " + name + "=VALUE)";
    if (std::find(failure.messages.begin(), failure.messages.end(), message) == failure.messages.end())
      failure.messages.push_back(message);
  });
  if (!failure.messages.empty()) return unexpected(std::move(failure));
  return out;
}

Result<PromptTemplate> render_prompt(const PromptTemplate& prompt, const std::map<std::string, std::string>& values) {
  Failure failure{FailKind::invalid, {}};
  auto params = template_params(prompt);
  for (const auto& [name, value] : values) {
    if (std::find(params.begin(), params.end(), name) != params.end()) continue;
    std::string takes;
    for (const auto& p : params) takes += (takes.empty() ? "" : ", ") + p;
    failure.messages.push_back("unknown parameter '" + name + "'; prompt '" + prompt.name +
                               (params.empty() ? "' takes no parameters" : "' takes: " + takes));
  }
  PromptTemplate out = prompt;
  auto text = render_template(prompt.text, values);
  if (text) out.text = std::move(*text);
  else failure.messages.insert(failure.messages.end(), text.error().messages.begin(), text.error().messages.end());
  auto system = render_template(prompt.system, values);
  if (system) {
    out.system = std::move(*system);
  } else {
    for (auto& m : system.error().messages)
      if (std::find(failure.messages.begin(), failure.messages.end(), m) == failure.messages.end())
        failure.messages.push_back(m);
  }
  if (!failure.messages.empty()) return unexpected(std::move(failure));
  return out;
}

Result<void> PromptStore::load() {
  prompts_.clear();
  auto text = read_file(path_);
  if (!text) return unexpected(text.error());
  if (!*text) return {};
  YAML::Node root;
  try {
    root = YAML::Load(**text);
  } catch (const YAML::Exception& e) {
    return unexpected(Failure::of(FailKind::broken, path_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                                                         std::to_string(e.mark.column + 1) + ": syntax error: " + e.msg));
  }
  if (root.IsNull()) return {};
  YAML::Node prompts = root.IsMap() ? root["prompts"] : YAML::Node();
  if (!prompts.IsDefined() || prompts.IsNull()) return {};
  if (!prompts.IsMap())
    return unexpected(Failure::of(FailKind::broken, path_ + ": expected `prompts:` with a mapping of prompt names"));
  Failure failure{FailKind::broken, {}};
  for (auto it = prompts.begin(); it != prompts.end(); ++it) {
    std::string name = scalar(it->first);
    int line = it->first.Mark().is_null() ? 0 : it->first.Mark().line + 1;
    PromptTemplate p;
    p.name = name;
    if (it->second.IsScalar()) {
      p.text = it->second.Scalar();
    } else if (it->second.IsMap()) {
      p.text = scalar(it->second["template"]);
      p.system = scalar(it->second["system"]);
      p.description = scalar(it->second["description"]);
    }
    if (p.text.empty()) {
      failure.messages.push_back(path_ + ":" + std::to_string(line) + ": prompts." + name + ": needs a template");
      continue;
    }
    prompts_.push_back(std::move(p));
  }
  if (!failure.messages.empty()) return unexpected(std::move(failure));
  return {};
}

const PromptTemplate* PromptStore::find(const std::string& name) const {
  for (const auto& p : prompts_)
    if (p.name == name) return &p;
  return nullptr;
}

Result<void> PromptStore::put(PromptTemplate prompt) {
  auto it = std::find_if(prompts_.begin(), prompts_.end(), [&](const auto& p) { return p.name == prompt.name; });
  if (it != prompts_.end()) *it = std::move(prompt);
  else prompts_.push_back(std::move(prompt));
  return save();
}

Result<void> PromptStore::remove(const std::string& name) {
  auto it = std::find_if(prompts_.begin(), prompts_.end(), [&](const auto& p) { return p.name == name; });
  if (it == prompts_.end()) return unexpected(unknown_prompt(name, prompts_));
  prompts_.erase(it);
  return save();
}

Result<void> PromptStore::save() const {
  std::string out =
      "# llmux prompt templates: `llmux prompt create NAME TEMPLATE`, `llmux run NAME --param k=v`.\n"
      "# {name} is a parameter; {{ and }} are literal braces.\n";
  if (prompts_.empty()) {
    out += "prompts: {}\n";
  } else {
    out += "prompts:\n";
    for (const auto& p : prompts_) {
      YAML::Node node(YAML::NodeType::Map);
      node["template"] = text_node(p.text);
      if (!p.system.empty()) node["system"] = text_node(p.system);
      if (!p.description.empty()) node["description"] = text_node(p.description);
      out += emit_entry(p.name, node, 2);
    }
  }
  if (auto dir = ensure_dir(dir_of(path_), 0700); !dir) return unexpected(dir.error());
  return write_file_atomic(path_, out, 0600);
}

Failure unknown_prompt(const std::string& name, const std::vector<PromptTemplate>& known) {
  std::string message = "Prompt '" + name + "' not found; ";
  if (known.empty()) {
    message += "no prompts yet (create one: llmux prompt create NAME \"TEMPLATE with {param}\")";
  } else {
    message += "known: ";
    for (size_t i = 0; i < known.size(); ++i) message += (i ? ", " : "") + known[i].name;
  }
  return Failure::of(FailKind::not_found, std::move(message));
}

Result<Settings> Settings::load(const std::string& path) {
  Settings s;
  auto text = read_file(path);
  if (!text) return unexpected(text.error());
  if (!*text) return s;
  try {
    YAML::Node root = YAML::Load(**text);
    if (root.IsMap()) s.default_provider = scalar(root["default_provider"]);
  } catch (const YAML::Exception& e) {
    return unexpected(Failure::of(FailKind::broken, path + ":" + std::to_string(e.mark.line + 1) + ": syntax error: " + e.msg));
  }
  return s;
}

Result<void> Settings::save(const std::string& path) const {
  std::string out = "# llmux CLI settings (`llmux provider default NAME`, `llmux config set default_provider NAME`)\n";
  if (!default_provider.empty()) out += emit_entry("default_provider", text_node(default_provider), 0);
  if (auto dir = ensure_dir(dir_of(path), 0700); !dir) return unexpected(dir.error());
  return write_file_atomic(path, out, 0600);
}

}  // namespace llmux::store
