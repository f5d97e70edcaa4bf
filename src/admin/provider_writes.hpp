// The admin API's provider writes (H2 `admin-writes`): each validates the change with the config
// loader first (`?dry_run=true`: only that), writes the provider store and the vault, applies it
// to the running gateway (AdminContext::apply) and answers after the apply, with the provider's
// ETag. Routed in routes.cpp.
#pragma once

#include "admin/admin_api.hpp"

namespace llmux::admin {

// POST /api/providers/register: body ProviderConfig JSON (or ClosedPaw's short form) → 201.
AdminAnswer register_provider(AdminContext& context, const AdminRequest& request);
// PUT /api/providers/{name}: the whole provider → 200.
AdminAnswer put_provider(AdminContext& context, const AdminRequest& request);
// PATCH /api/providers/{name}: merged into the stored provider → 200.
AdminAnswer patch_provider(AdminContext& context, const AdminRequest& request);
// DELETE /api/providers/{name} → 200 {"deleted":"name"}.
AdminAnswer delete_provider(AdminContext& context, const AdminRequest& request);
// POST /api/providers/{name}/default → 200 {"provider":{...}}.
AdminAnswer set_default_provider(AdminContext& context, const AdminRequest& request);
// POST /api/providers/{name}/enable and /disable → 200 {"provider":{...}}.
AdminAnswer enable_provider(AdminContext& context, const AdminRequest& request);
AdminAnswer disable_provider(AdminContext& context, const AdminRequest& request);

}  // namespace llmux::admin
