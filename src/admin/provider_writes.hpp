// The admin API's provider writes: register, replace (PUT), update (PATCH, a JSON merge patch),
// delete, set default, enable, disable. Each validates with the config loader (every problem at
// once), honours ?dry_run=true and If-Match, writes the provider store the CLI edits (the API key
// into the vault), applies the result to the running gateway, and appends an audit line.
#pragma once

#include "admin/admin_api.hpp"

namespace llmux::admin {

AdminAnswer register_provider(AdminContext& context, const AdminRequest& request);  // POST /api/providers/register
AdminAnswer put_provider(AdminContext& context, const AdminRequest& request);   // PUT /api/providers/{name}
AdminAnswer patch_provider(AdminContext& context, const AdminRequest& request);    // PATCH /api/providers/{name}
AdminAnswer delete_provider(AdminContext& context, const AdminRequest& request);    // DELETE /api/providers/{name}
AdminAnswer set_default_provider(AdminContext& context, const AdminRequest& request);  // POST …/{name}/default
AdminAnswer enable_provider(AdminContext& context, const AdminRequest& request);    // POST …/{name}/enable
AdminAnswer disable_provider(AdminContext& context, const AdminRequest& request);   // POST …/{name}/disable

}  // namespace llmux::admin
