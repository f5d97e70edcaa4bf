// The admin API's provider reads (H1): what the running gateway serves, with each provider's live
// state (health, breakers, request rate, p95) and where it comes from. Secrets never appear: an
// API key is "****" + its last 4 characters ("****" when it has 8 or fewer).
#pragma once

#include <string>

#include "admin/admin_api.hpp"
#include "llmux/config.hpp"

namespace llmux::providers {
class Provider;
}

namespace llmux::admin {

// GET /api/providers → {"providers":[{...}]}
AdminAnswer list_providers(AdminContext& context, const AdminRequest& request);
// GET /api/providers/{name} → one provider, with its ETag.
AdminAnswer get_provider(AdminContext& context, const AdminRequest& request);
// GET /api/providers/{name}/models → {"configured":[...],"live":[...]|null,"liveError":null|"..."}
AdminAnswer provider_models(AdminContext& context, const AdminRequest& request);
// GET /api/providers/models → {"models":[{"id","provider"}]}
AdminAnswer all_models(AdminContext& context, const AdminRequest& request);

// "****abcd" (or "****" for a key of 8 characters or fewer); empty for no key.
std::string masked_secret(const Secret& secret);
// The ETag of a provider's stored text: "\"" + 16 hex digits of a 64-bit hash + "\"".
std::string etag_of(std::string_view stored_text);
// A served provider's ETag: of its mapping as written in its file (provider store or config
// file), re-emitted with YAML::Dump; of its settings (no secret) when it has no file. Write
// endpoints answer with the same.
std::string provider_etag(const AdminContext& context, const providers::Provider& provider);

}  // namespace llmux::admin
