// The upstream guard in both engines: a refused address fails the transfer as not_allowed before
// any connection is made (the listener never sees one), for literal addresses and for names
// refused on what they resolve to.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "http/upstream.hpp"
#include "http/upstream_guard.hpp"
#include "loopback_listener.hpp"

namespace llmux::http {
namespace {

using namespace std::chrono_literals;

struct Recorder final : UpstreamHandler {
  std::optional<TransferResult> result;
  void on_headers(int, std::string_view, std::string_view, std::string_view) override {}
  bool on_body(std::string_view) override { return true; }
  void on_complete(const TransferResult& r) override { result = r; }
};

TransferResult transfer(const std::string& url) {
  boost::asio::io_context io;
  UpstreamClient client(io);
  UpstreamRequest request;
  request.method = "GET";
  request.url = url;
  request.timeout = 5s;
  request.connect_timeout = 5s;
  Recorder recorder;
  client.start(request, &recorder);
  while (!recorder.result && io.run_one_for(10s)) {
  }
  EXPECT_TRUE(recorder.result) << url;
  return recorder.result.value_or(TransferResult{TransferFailure::other, "did not complete"});
}

// A listening socket on 127.0.0.1 that never accepts; pending() says whether anyone connected.
class Listener {
 public:
  int port() const { return socket_.port(); }
  bool pending() const {
    int client = ::accept(socket_.fd(), nullptr, nullptr);
    if (client < 0) return false;
    ::close(client);
    return true;
  }

 private:
  test::LoopbackListener socket_{SOCK_NONBLOCK};
};

class UpstreamGuardEngines : public ::testing::Test {
 protected:
  void TearDown() override { set_upstream_guard(UpstreamGuardConfig{}); }
};

TEST_F(UpstreamGuardEngines, MetadataAddressesAreRefusedInBothEngines) {
  // http:// goes through the pooled HTTP/1 engine, https:// without provider TLS settings through curl.
  for (const char* url : {"http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/",
                          "https://169.254.169.254/", "https://[fd00:ec2::254]/", "http://100.100.100.200/"}) {
    auto r = transfer(url);
    EXPECT_EQ(r.failure, TransferFailure::not_allowed) << url << ": " << r.detail;
    EXPECT_NE(r.detail.find("upstream_not_allowed"), std::string::npos) << r.detail;
  }
}

TEST_F(UpstreamGuardEngines, ANameIsCheckedOnItsResolvedAddressBeforeConnecting) {
  Listener listener;
  set_upstream_guard(UpstreamGuardConfig{false, {}});
  for (std::string scheme : {"http", "https"}) {
    auto r = transfer(scheme + "://localhost:" + std::to_string(listener.port()) + "/v1/models");
    EXPECT_EQ(r.failure, TransferFailure::not_allowed) << scheme << ": " << r.detail;
    EXPECT_NE(r.detail.find("localhost ("), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("admin.allow_private is false"), std::string::npos) << r.detail;
    EXPECT_FALSE(listener.pending()) << scheme << ": a connection was made";
  }
  // Listed by network, the same name connects: the listener sees the connection.
  set_upstream_guard(UpstreamGuardConfig{false, {"127.0.0.0/8"}});
  boost::asio::io_context io;
  UpstreamClient client(io);
  UpstreamRequest request;
  request.method = "GET";
  request.url = "http://localhost:" + std::to_string(listener.port()) + "/v1/models";
  request.timeout = 5s;
  Recorder recorder;
  auto id = client.start(request, &recorder);
  bool connected = false;
  for (int i = 0; i < 200 && !connected && !recorder.result; ++i) {
    io.run_one_for(50ms);
    connected = listener.pending();
  }
  EXPECT_TRUE(connected) << (recorder.result ? recorder.result->detail : "no connection");
  client.cancel(id);
}

}  // namespace
}  // namespace llmux::http
