// The admin API's virtual keys (H1): the key store `llmux keys` edits, through
// AdminContext::key_store(). A key's value is shown once, in the answer that creates it; the store
// keeps only its SHA-256. Changes reach requests within governance::kKeyPropagationMs.
#pragma once

#include "admin/admin_api.hpp"

namespace llmux::admin {

// GET /api/keys → {"keys":[{...}]}
AdminAnswer list_keys(AdminContext& context, const AdminRequest& request);
// POST /api/keys {name, models?, rpm?, tpm?, budget?:{daily,monthly}, expires?} → 201 {"key":{...},"secret":"llmux-…"}
AdminAnswer create_key(AdminContext& context, const AdminRequest& request);
// GET /api/keys/{id} → {"key":{...}}
AdminAnswer get_key(AdminContext& context, const AdminRequest& request);
// PATCH /api/keys/{id} {models?, rpm?, tpm?, budget?, expires?} → 200 {"key":{...}}
AdminAnswer patch_key(AdminContext& context, const AdminRequest& request);
// DELETE /api/keys/{id}: revokes it → 200 {"key":{...}}
AdminAnswer delete_key(AdminContext& context, const AdminRequest& request);

}  // namespace llmux::admin
