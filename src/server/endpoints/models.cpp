#include "server/endpoints/endpoints.hpp"
#include "governance/key_snapshot.hpp"
#include "server/http_text.hpp"

namespace llmux::server {

Expected<std::string, Error> model_json(const GatewayState& state, std::string_view encoded_id,
                                        const governance::KeyPolicy* key) {
  std::string id = percent_decode(encoded_id);
  if (key && !governance::model_allowed(*key, id)) return unexpected(governance::model_not_allowed(*key, id));
  const auto* listed = state.catalog->find_listed(id);
  if (listed) return model_object_json(*listed);
  std::string message = "model '" + id + "' not found";
  auto close = state.catalog->close_matches(id);
  if (!close.empty()) {
    message += "; did you mean: ";
    for (size_t i = 0; i < close.size(); ++i) message += (i ? ", " : "") + close[i];
  }
  return unexpected(Error::make(ErrorKind::not_found, message, "model", "model_not_found"));
}

std::string models_json_for(const GatewayState& state, const governance::KeyPolicy& key) {
  std::string out = R"({"object":"list","data":[)";
  bool first = true;
  for (const auto& m : state.catalog->models()) {
    if (!governance::model_allowed(key, m.id)) continue;
    if (!first) out += ',';
    first = false;
    out += model_object_json(m);
  }
  out += "]}";
  return out;
}

std::optional<providers::Endpoint> completion_endpoint(std::string_view path) {
  if (path == "/v1/chat/completions") return providers::Endpoint::chat_completions;
  if (path == "/v1/completions") return providers::Endpoint::completions;
  if (path == "/v1/embeddings") return providers::Endpoint::embeddings;
  if (path == "/v1/responses") return providers::Endpoint::responses;
  return std::nullopt;
}

bool is_loopback_host(std::string_view host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

}  // namespace llmux::server
