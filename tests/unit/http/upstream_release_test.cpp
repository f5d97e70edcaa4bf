// UpstreamClient::release_sent_request on the HTTP/1.1 engine: refused while the request may still
// be written, granted once the response head has arrived (the engine frees its copy of the head),
// and the response goes on undisturbed after the caller has freed the request's body and headers.
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "http/upstream.hpp"
#include "loopback_listener.hpp"

namespace llmux::http {
namespace {

using namespace std::chrono_literals;

// Answers one request on 127.0.0.1: the head and a first chunk at once, the rest once `go_on` is
// set. `received` is the request as it arrived.
class TwoPartServer {
 public:
  TwoPartServer() : thread_([this] { serve(); }) {}
  ~TwoPartServer() {
    go_on();
    thread_.join();
  }
  int port() const { return listener_.port(); }
  void go_on() {
    if (!went_on_) go_on_.set_value();
    went_on_ = true;
  }
  std::future<std::string> received() { return received_.get_future(); }

 private:
  void serve() {
    int fd = ::accept(listener_.fd(), nullptr, nullptr);
    std::string request;
    char buffer[4096];
    // The head, then as many body bytes as its Content-Length says.
    while (true) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
      size_t end = request.find("\r\n\r\n");
      size_t at = request.find("Content-Length: ");
      if (end == std::string::npos || at == std::string::npos) continue;
      if (request.size() >= end + 4 + std::stoul(request.substr(at + 16))) break;
    }
    received_.set_value(request);
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "9\r\ndata: a\n\n\r\n");
    go_on_future_.wait();
    write_all(fd, "9\r\ndata: b\n\n\r\n0\r\n\r\n");
    ::close(fd);
  }
  static void write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd, bytes.data(), bytes.size());
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  test::LoopbackListener listener_;
  std::promise<std::string> received_;
  std::promise<void> go_on_;
  bool went_on_ = false;
  std::shared_future<void> go_on_future_ = go_on_.get_future().share();
  std::thread thread_;
};

struct Recorder final : UpstreamHandler {
  int status = 0;
  std::string body;
  std::optional<TransferResult> result;
  void on_headers(int s, std::string_view, std::string_view, std::string_view) override { status = s; }
  bool on_body(std::string_view bytes) override {
    body.append(bytes);
    return true;
  }
  void on_complete(const TransferResult& r) override { result = r; }
};

TEST(UpstreamRelease, TheSentRequestIsReleasedOnlyAfterTheResponseHeadAndTheStreamGoesOn) {
  TwoPartServer server;
  auto received = server.received();
  boost::asio::io_context io;
  UpstreamClient client(io);
  UpstreamRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/chat/completions";
  request.headers.push_back("Accept: text/event-stream");
  request.headers.push_back("X-Request-Id: 0123456789abcdef0123456789abcdef");
  request.body = R"({"model":"m","stream":true,"messages":[{"role":"user","content":")" + std::string(300, 'x') + "\"}]}";
  request.timeout = 10s;
  const std::string body = request.body;
  Recorder recorder;
  auto id = client.start(request, &recorder);

  size_t released = 0;
  EXPECT_FALSE(client.release_sent_request(id, released));  // not written yet: it may be sent again
  EXPECT_EQ(released, 0u);
  while (recorder.status == 0 && !recorder.result && io.run_one_for(10s)) {
  }
  ASSERT_EQ(recorder.status, 200) << (recorder.result ? recorder.result->detail : "");
  std::string seen = received.get();
  EXPECT_TRUE(seen.ends_with("\r\n\r\n" + body)) << seen;
  EXPECT_NE(seen.find("X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"), std::string::npos) << seen;

  ASSERT_TRUE(client.release_sent_request(id, released));
  EXPECT_GT(released, 100u);  // the head it wrote, and the target it was built from
  // What the caller may now drop while the response goes on.
  std::string().swap(request.body);
  EXPECT_GT(request.headers.release(), 0u);
  EXPECT_TRUE(request.headers.empty());

  server.go_on();
  while (!recorder.result && io.run_one_for(10s)) {
  }
  ASSERT_TRUE(recorder.result);
  EXPECT_EQ(recorder.result->failure, TransferFailure::none) << recorder.result->detail;
  EXPECT_EQ(recorder.body, "data: a\n\ndata: b\n\n");
}

}  // namespace
}  // namespace llmux::http
