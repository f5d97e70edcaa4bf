// TEMPORARY (H1): answers 501 until H2's provider_writes.cpp replaces this file. H2: delete it.
#include "admin/provider_writes.hpp"

namespace llmux::admin {

namespace {
AdminAnswer not_implemented(const AdminRequest& request) {
  return error_answer(Error::make(ErrorKind::unsupported, request.path + " is not implemented yet", {}, "not_implemented"));
}
}  // namespace

AdminAnswer register_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }
AdminAnswer put_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }
AdminAnswer patch_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }
AdminAnswer delete_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }
AdminAnswer set_default_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }
AdminAnswer enable_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }
AdminAnswer disable_provider(AdminContext&, const AdminRequest& r) { return not_implemented(r); }

}  // namespace llmux::admin
