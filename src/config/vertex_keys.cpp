#include "config/vertex_keys.hpp"

#include "config/config_internal.hpp"

namespace llmux::config_detail {

namespace {

// Project ids are lowercase words with hyphens, older domain-scoped ones "example.com:name";
// either way they stand in a URL path, so nothing that would change the path is let through.
bool plain_segment(std::string_view text, std::string_view extra) {
  if (text.empty()) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              extra.find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string vertex_base_url(std::string_view region) {
  if (region == "global") return "https://aiplatform.googleapis.com/v1";
  return "https://" + std::string(region) + "-aiplatform.googleapis.com/v1";
}

std::string set_vertex_key(ProviderConfig& p, std::string_view name, std::string value) {
  if (p.type != kVertexAI) {
    // AWS Bedrock has a region of its own; it reads it itself.
    if (name == "region" && p.type == "aws-bedrock") return {};
    return std::string(name) + " is a vertex-ai setting (type: vertex-ai)";
  }
  // A bad value is kept all the same: the load fails on it, without a second "is required".
  if (name == "project_id") {
    bool ok = plain_segment(value, ".:_");
    p.vertex.project_id = std::move(value);
    if (!ok) return "projectId must be a Google Cloud project id such as my-project-123";
  } else if (name == "region") {
    bool ok = plain_segment(value, "");
    p.vertex.region = std::move(value);
    if (!ok) return "region must be a Google Cloud region such as us-central1, or global";
  } else if (name == "service_account_key") {
    if (value.empty()) return "serviceAccountKey must name a service-account JSON key file";
    p.vertex.service_account_key = std::move(value);
  } else if (name == "publisher") {
    std::string lower = to_lower(value);
    if (lower != "google" && lower != "anthropic")
      return "publisher must be google or anthropic (or left out: claude models go to anthropic)";
    p.vertex.publisher = std::move(lower);
  }
  return {};
}

std::vector<std::pair<std::string, std::string>> finish_vertex_keys(ProviderConfig& p, bool base_url_given) {
  std::vector<std::pair<std::string, std::string>> problems;
  if (p.vertex.project_id.empty()) problems.emplace_back("project_id", "projectId is required for type vertex-ai");
  if (p.vertex.region.empty()) problems.emplace_back("region", "region is required for type vertex-ai (e.g. us-central1)");
  if (p.vertex.service_account_key.empty())
    problems.emplace_back("service_account_key",
                          "serviceAccountKey (the path of a service-account JSON key file) is required for type vertex-ai");
  if (!base_url_given && p.base_url.empty() && plain_segment(p.vertex.region, "")) p.base_url = vertex_base_url(p.vertex.region);
  return problems;
}

}  // namespace llmux::config_detail
