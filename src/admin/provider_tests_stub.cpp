// TEMPORARY (H1): answers 501 until H3's self-test endpoints replace this file. H3: delete it.
#include "admin/provider_tests.hpp"

namespace llmux::admin {

AdminAnswer test_saved_provider(AdminContext&, const AdminRequest& r) {
  return error_answer(Error::make(ErrorKind::unsupported, r.path + " is not implemented yet", {}, "not_implemented"));
}
AdminAnswer test_unsaved_provider(AdminContext&, const AdminRequest& r) {
  return error_answer(Error::make(ErrorKind::unsupported, r.path + " is not implemented yet", {}, "not_implemented"));
}

}  // namespace llmux::admin
