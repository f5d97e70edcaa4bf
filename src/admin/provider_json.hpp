// A provider as the admin API speaks it (the seeds' ProviderConfig JSON, camelCase or snake_case,
// or ClosedPaw's short form {provider_type, name, api_key, base_url, default_model}) and as the
// provider store writes it (the config loader's YAML mapping, snake_case). The JSON is turned into
// that mapping and validated by the loader itself, so the API, the config file and the CLI accept
// exactly the same settings. Answers show a provider without its secrets ("****" + last 4).
#pragma once

#include <boost/json/object.hpp>
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmux/config.hpp"
#include "llmux/secret.hpp"

namespace llmux::admin {

// One problem with a provider's settings: where (the field path as the client spelled it, e.g.
// "models[0].contextWindow"; "" for the body as a whole) and what.
struct FieldError {
  std::string field;
  std::string message;
};
using FieldErrors = std::vector<FieldError>;

// What a request body says about a provider.
struct ProviderInput {
  std::string id;    // the body's id; "" when not given
  std::string name;  // the body's name (register takes it as the id when there is no id)
  // The settings with the client's key spelling (the loader accepts it; its errors then name
  // the fields as the client wrote them). No id, no literal API key. For PATCH: the patch, where a
  // null value means "remove this setting".
  YAML::Node settings{YAML::NodeType::Map};
  // The API key to keep in the vault; nullopt: not given. A ${VAR} reference is not a key but a
  // setting (kept in `settings` as api_key, like `llmux provider add --api-key-env`).
  std::optional<Secret> api_key;
  bool remove_api_key = false;  // PATCH {"apiKey": null}
  std::vector<std::string> fields;  // the top-level fields given, as spelled (for the audit log)
};

enum class BodyMode {
  whole,  // register, PUT: every setting; null values are left out
  patch,  // PATCH: a JSON merge patch (RFC 7386)
};

// Parses a request body. Every problem of the body itself (not JSON, not an object, an id that is
// not a valid provider name, a short-form value of the wrong kind) is reported at once.
Expected<ProviderInput, FieldErrors> parse_provider_body(std::string_view body, BodyMode mode);

// "invalid provider name \"x y\": use letters, digits, '.', '_' and '-'"
std::string invalid_id_message(const std::string& id);

// `base` with `patch` merged in (RFC 7386: objects merge key by key, null removes, anything else
// replaces). A key of `base` spelled differently (apiKey / api_key / api-key) is the same key.
YAML::Node merge_settings(const YAML::Node& base, const YAML::Node& patch);

// The mapping with every key in the store's snake_case spelling (header names and
// defaultParams keys are the user's, not settings, and stay as they are).
YAML::Node canonical_settings(const YAML::Node& settings);

// The loader's errors about a candidate store file, as field errors: paths under provider `id`
// lose their "providers.<id>." prefix and take the spelling of `settings` (what was validated),
// others keep the whole path.
FieldErrors field_errors(const ConfigErrors& errors, const std::string& id, const YAML::Node& settings);

// "message; message" (the error's message), and the `errors` array of the validation answer.
std::string joined_message(const FieldErrors& errors);
boost::json::array errors_json(const FieldErrors& errors);

// "****" + the last 4 characters; "****" alone for a secret of 8 characters or fewer (the
// masking of Secret::redacted and of GET /api/providers). Empty: "".
std::string mask_secret(std::string_view secret);

// The ETag of a stored provider: a quoted hex 64-bit FNV-1a hash of its mapping (as read from
// the store) re-emitted by YAML::Dump, the same as GET /api/providers/{name} answers, so it
// changes exactly when the stored settings change.
std::string provider_etag(const YAML::Node& settings);

// A provider not (yet) served, for a dry run's answer, in the shape of GET /api/providers (the
// seeds' camelCase names, pricing in USD per 1M tokens, headers as [{"name","value"}]) plus what
// the config says beyond it: id, name, type, enabled, origin, baseUrl, priority, timeout,
// maxRetries, defaultModel, models, headers, authType, apiKey (masked or null), rateLimit, budget,
// defaultParams, default. `written` is its mapping as stored (header
// values as written, so a ${VAR} reference shows as one); may be null.
struct ProviderView {
  const ProviderConfig* config = nullptr;
  const YAML::Node* written = nullptr;
  std::string origin;  // config | store | environment | vault
  bool is_default = false;
};
boost::json::object provider_json(const ProviderView& view);

}  // namespace llmux::admin
