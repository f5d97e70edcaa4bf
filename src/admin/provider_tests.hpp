// The admin API's provider self-tests (H3 `admin-selftest-ssrf`): the checks of
// `llmux provider test` (authentication, model listing, basic chat, streaming, error handling)
// with each one's status, latency and reason. Routed in routes.cpp.
#pragma once

#include "admin/admin_api.hpp"

namespace llmux::admin {

// POST /api/providers/{name}/test: a provider of the running gateway.
AdminAnswer test_saved_provider(AdminContext& context, const AdminRequest& request);
// POST /api/providers/test: body ProviderConfig JSON, not saved.
AdminAnswer test_unsaved_provider(AdminContext& context, const AdminRequest& request);

}  // namespace llmux::admin
