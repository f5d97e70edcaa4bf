#include "config/key_scopes.hpp"

#include "config/config_internal.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "core/text.hpp"

namespace llmux::config_detail {

namespace {

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

std::string to_snake(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c >= 'A' && c <= 'Z') {
      if (!out.empty() && out.back() != '_') out += '_';
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

namespace {

std::string to_camel(std::string_view snake) {
  std::string out;
  bool upper = false;
  for (char c : snake) {
    if (c == '_') upper = true;
    else out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    if (c != '_') upper = false;
  }
  return out;
}

}  // namespace

std::string fold(std::string_view key) {
  std::string out;
  for (char c : key)
    if (c != '_' && c != '-') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}


const KeySpec* find_spec(std::span<const KeySpec> specs, std::string_view key) {
  std::string snake = to_snake(key);
  for (const KeySpec& spec : specs) {
    if (spec.name == snake) return &spec;
    for (auto alias : spec.aliases)
      if (!alias.empty() && alias == snake) return &spec;
  }
  return nullptr;
}

namespace {

bool in_scope(const Scope& scope, std::string_view canonical) {
  return std::any_of(scope.keys.begin(), scope.keys.end(), [&](const KeySpec& s) { return s.name == canonical; });
}

}  // namespace

namespace {

// The closest key of `scope` to `key`, within a typo's distance; `skip` leaves out keys that
// `skip` also has (the same name means the same kind of thing in both).
std::optional<Suggestion> closest(std::string_view key, const Scope& scope, const Scope* skip = nullptr) {
  std::string folded = fold(key);
  size_t best = SIZE_MAX;
  std::string_view best_name, best_canonical;
  for (const KeySpec& spec : scope.keys) {
    if (skip && in_scope(*skip, spec.name)) continue;
    for (std::string_view name : {spec.name, spec.aliases[0], spec.aliases[1]}) {
      if (name.empty()) continue;
      size_t distance = edit_distance(folded, fold(name));
      if (distance < best) best = distance, best_name = name, best_canonical = spec.name;
    }
  }
  if (best > std::clamp<size_t>((folded.size() + 2) / 3, 1, 3)) return std::nullopt;
  bool camel = std::any_of(key.begin(), key.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  return Suggestion{camel ? to_camel(best_name) : std::string(best_name), best_canonical, &scope, best};
}

}  // namespace

// What to say about a key `scope` does not know: the key it was probably meant to be, or where a
// key of that name belongs when it (or its near miss) is another scope's setting. A key is only
// suggested when no other scope's key is at least as close: `apiKey` at the top level is a
// provider's api_key out of place, never a misspelt api_keys.
std::string unknown_key_message(std::string_view key, const Scope& scope, std::optional<Suggestion>& hint) {
  hint = closest(key, scope);
  std::optional<Suggestion> elsewhere;
  for (const Scope* other : kScopes) {
    if (other == &scope || !other->offered_elsewhere) continue;
    auto near = closest(key, *other, &scope);
    if (near && (!elsewhere || near->distance < elsewhere->distance)) elsewhere = std::move(near);
  }
  if (elsewhere && (!hint || elsewhere->distance <= hint->distance)) {
    hint.reset();
    const Scope& home = *elsewhere->scope;
    std::string named = elsewhere->distance == 0 ? quoted(key) + " is " + std::string(home.kind)
                                                 : "did you mean " + quoted(elsewhere->display) + "? that is " +
                                                       std::string(home.kind);
    return "unknown key " + quoted(key) + " here: " + named + ", which belongs " + std::string(home.placement) +
           ", not " + std::string(scope.placement);
  }
  if (hint) return "unknown key " + quoted(key) + " (did you mean " + quoted(hint->display) + "?)";
  std::string known;
  for (const KeySpec& s : scope.keys) known += (known.empty() ? "" : ", ") + std::string(s.name);
  return "unknown key " + quoted(key) + "; expected one of: " + known;
}

bool is_single_provider(const std::vector<std::string>& keys) {
  bool provider_key = false;
  for (const auto& key : keys) {
    // "models" is both a provider's model list and the top-level routing section.
    if (find_spec(kTopKeys, key) && to_snake(key) != "models") return false;
    provider_key = provider_key || find_spec(kProviderKeys, key);
  }
  return provider_key;
}

}  // namespace llmux::config_detail
