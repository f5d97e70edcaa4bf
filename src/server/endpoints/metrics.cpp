#include <string>

#include "server/endpoints/endpoints.hpp"
#include "server/worker.hpp"

namespace llmux::server {

std::string metrics_text(Server::Impl& server) {
  std::string out = server.metrics.render();
  out += "# HELP llmux_client_connections Client connections open now.\n"
         "# TYPE llmux_client_connections gauge\nllmux_client_connections ";
  out += std::to_string(server.live_connections.load(std::memory_order_relaxed));
  out += "\n# HELP llmux_client_connections_refused_total Client connections refused at server.max_connections.\n"
         "# TYPE llmux_client_connections_refused_total counter\nllmux_client_connections_refused_total ";
  out += std::to_string(server.rejected_connections.load(std::memory_order_relaxed));
  out += "\n";
  if (server.ledger) append_ledger_metrics(out, server.ledger->stats());
  return out;
}

}  // namespace llmux::server
