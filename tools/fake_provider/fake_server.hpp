// HTTP/1.1 server of the fake provider: one io_context per thread; a single acceptor deals the
// connections out round-robin, so threads share nothing on the request path but the request log.
#pragma once

#include "script.hpp"

namespace llmux::fake {

// Binds, prints "listening on http://HOST:PORT" as the first stdout line, and serves until
// SIGINT or SIGTERM. Returns the process exit code; throws if it cannot listen.
int run_server(const Options& opt);

}  // namespace llmux::fake
