// Asio I/O objects bound to io_context's own executor type. The default `any_io_executor` is
// type-erased: every operation copies and destroys it, which perf showed at ~2% of a proxied
// request's CPU. Every worker runs one io_context, so nothing needs the erasure.
#pragma once

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace llmux::http {

using IoExecutor = boost::asio::io_context::executor_type;
using TcpSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, IoExecutor>;
using TcpAcceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, IoExecutor>;

}  // namespace llmux::http
