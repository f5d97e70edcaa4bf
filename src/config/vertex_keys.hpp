// A vertex-ai provider's own keys: projectId, region, serviceAccountKey, publisher (snake_case
// too). The key file is only named here; the provider reads it when it starts.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmux/config.hpp"

namespace llmux::config_detail {

inline constexpr std::string_view kVertexKeys[] = {"project_id", "region", "service_account_key", "publisher"};

// Stores one of kVertexKeys; returns what is wrong with it, or "".
std::string set_vertex_key(ProviderConfig& provider, std::string_view name, std::string value);

// Once all keys are read: the required ones are there, and base_url defaults to the region's
// endpoint. Returns (key, problem) pairs.
std::vector<std::pair<std::string, std::string>> finish_vertex_keys(ProviderConfig& provider, bool base_url_given);

// "https://us-central1-aiplatform.googleapis.com/v1"; "global" has no region prefix.
std::string vertex_base_url(std::string_view region);

}  // namespace llmux::config_detail
