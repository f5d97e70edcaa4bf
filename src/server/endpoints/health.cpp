#include "server/endpoints/endpoints.hpp"

namespace llmux::server {

Answer health_answer(bool ready_check, bool draining) {
  if (!ready_check) return {200, "application/json", R"({"status":"ok"})"};
  if (draining) return {503, "application/json", R"({"status":"draining"})"};
  return {200, "application/json", R"({"status":"ready"})"};
}

}  // namespace llmux::server
