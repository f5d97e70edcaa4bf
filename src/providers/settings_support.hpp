// OpenAI request settings that only some providers have: what a translating adapter refuses with
// a 400 naming the field (unless it asks only for the default), and the provider's drop_params,
// the fields it leaves out deliberately (llmux/config.hpp, kDroppableParams).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "providers/encode_support.hpp"

namespace llmux::providers::encode {

// The fields a provider's drop_params names; none by default. Views the provider's config.
class DroppedParams {
 public:
  DroppedParams() = default;
  explicit DroppedParams(std::span<const std::string> names) : names_(names) {}
  bool contains(std::string_view name) const noexcept {
    for (const std::string& n : names_)
      if (n == name) return true;
    return false;
  }

 private:
  std::span<const std::string> names_;
};

// OpenAI settings of OpenAI's own services (stored completions, audio output, predicted outputs,
// web search, prompt-cache routing, GPT-5 verbosity, stream obfuscation): no translating adapter
// maps them, so each refuses them.
inline constexpr std::string_view kOpenAIServiceSettings[] = {
    "metadata",  "store",     "modalities", "web_search_options", "prompt_cache_key",
    "verbosity", "prediction", "audio",     "stream_options",     "logit_bias", "top_logprobs"};

// Whether a value asks for no more than leaving the field out does: null, false, "", an empty
// object or array, a penalty of 0, and the defaults some fields spell out (service_tier auto or
// default where the provider has one tier, verbosity medium, modalities ["text"], stream_options
// with include_usage only, which llmux reads itself). web_search_options {} turns search on.
inline bool asks_for_default(std::string_view name, simdjson::dom::element value) {
  if (value.is_null()) return true;
  if (name == "web_search_options") return false;
  bool flag = true;
  if (!value.get_bool().get(flag)) return !flag;
  std::string_view text;
  if (!value.get_string().get(text)) {
    if (name == "service_tier") return text == "auto" || text == "default";
    if (name == "verbosity") return text == "medium";
    return text.empty();
  }
  simdjson::dom::object members;
  if (!value.get_object().get(members)) {
    if (name != "stream_options") return members.size() == 0;
    for (auto member : members) {
      bool on = true;
      if (member.key == "include_usage") continue;
      if (member.key == "include_obfuscation" && !member.value.get_bool().get(on) && !on) continue;
      return false;
    }
    return true;
  }
  simdjson::dom::array items;
  if (!value.get_array().get(items)) {
    if (name != "modalities") return items.size() == 0;
    for (simdjson::dom::element item : items)
      if (item.get_string().get(text) || text != "text") return false;
    return true;
  }
  double number = 1;
  return name.ends_with("_penalty") && !value.get_double().get(number) && number == 0;
}

// The 400 for the first of `fields` the request sets, other than to its default, that the
// provider has no setting for ("'seed' is not supported for Anthropic models"). Fields in
// `dropped` are left out without a word: the operator chose that.
inline Expected<void, Error> refuse_unexpressed(simdjson::dom::object request, std::span<const std::string_view> fields,
                                                std::string_view provider, const DroppedParams& dropped) {
  for (std::string_view name : fields) {
    simdjson::dom::element value;
    if (request[name].get(value) || asks_for_default(name, value) || dropped.contains(name)) continue;
    return invalid("'" + std::string(name) + "' is not supported for " + std::string(provider) +
                       " models (they have no such setting; a provider's drop_params can leave it out)",
                   std::string(name));
  }
  return {};
}

inline Expected<void, Error> refuse_unexpressed(simdjson::dom::object request, std::initializer_list<std::string_view> fields,
                                                std::string_view provider, const DroppedParams& dropped) {
  return refuse_unexpressed(request, std::span<const std::string_view>(fields.begin(), fields.size()), provider, dropped);
}

// refuse_unexpressed for `fields` and then for kOpenAIServiceSettings.
inline Expected<void, Error> refuse_settings(simdjson::dom::object request, std::initializer_list<std::string_view> fields,
                                             std::string_view provider, const DroppedParams& dropped) {
  if (auto refused = refuse_unexpressed(request, fields, provider, dropped); !refused) return refused;
  return refuse_unexpressed(request, kOpenAIServiceSettings, provider, dropped);
}

// The end user's id: `user`, or OpenAI's newer `safety_identifier` (empty when neither is set or
// drop_params drops them). Both set to different ids is a 400: the provider takes one.
inline Expected<std::string_view, Error> read_end_user(simdjson::dom::object request, std::string_view provider,
                                                       const DroppedParams& dropped) {
  std::string_view user, safety;
  if (!dropped.contains("user")) json::read_optional(request["user"].get_string(), user);
  if (!dropped.contains("safety_identifier")) json::read_optional(request["safety_identifier"].get_string(), safety);
  if (!user.empty() && !safety.empty() && user != safety)
    return invalid("'safety_identifier' and 'user' name different end users; " + std::string(provider) +
                       " models take one id (send one of them)",
                   "safety_identifier", "invalid_value");
  return user.empty() ? safety : user;
}

}  // namespace llmux::providers::encode
