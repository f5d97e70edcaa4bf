// llmux-loadgen: open-loop HTTP/1.1 load at a fixed request rate, for latency figures that do not
// depend on how fast the target is (wrk's closed loop measures latency at saturation, where it is
// queueing). Request i is due at start + i / rate and goes out on connection i mod N. When the
// connection is still waiting for its previous answer at that time, the request's latency runs
// from its due time, so a stall of the target is charged to every request it delays (no
// coordinated omission); otherwise it runs from when the request was written, so the load
// generator's own timer wake-up delay is not charged to the target.
//
//   llmux-loadgen --url http://127.0.0.1:PORT/v1/chat/completions --body FILE --rate 10000
//                 [--connections 32] [--duration 10] [--warmup 2] [--header "Name: value"]...
//
// Prints one JSON object: requests, errors, non_2xx, achieved rate, latency percentiles in µs.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sys/prctl.h>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host, port, target;
  std::string body;
  std::vector<std::string> headers;
  double rate = 0;
  int connections = 32;
  double duration_s = 10;
  double warmup_s = 2;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "llmux-loadgen: %s\nusage: llmux-loadgen --url http://HOST:PORT/PATH --body FILE --rate QPS "
               "[--connections N] [--duration S] [--warmup S] [--header 'Name: value']...\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  std::string url, body_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--url") url = value();
    else if (a == "--body") body_file = value();
    else if (a == "--rate") o.rate = std::atof(value().c_str());
    else if (a == "--connections") o.connections = std::atoi(value().c_str());
    else if (a == "--duration") o.duration_s = std::atof(value().c_str());
    else if (a == "--warmup") o.warmup_s = std::atof(value().c_str());
    else if (a == "--header") o.headers.push_back(value());
    else usage("unknown option " + a);
  }
  if (url.rfind("http://", 0) != 0) usage("--url must be http://HOST:PORT/PATH");
  std::string rest = url.substr(7);
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  o.target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  if (colon == std::string::npos) usage("--url needs a port");
  o.host = authority.substr(0, colon);
  o.port = authority.substr(colon + 1);
  if (o.rate <= 0) usage("--rate must be positive");
  if (o.connections < 1) usage("--connections must be at least 1");
  if (!body_file.empty()) {
    std::ifstream in(body_file, std::ios::binary);
    if (!in) usage("cannot read " + body_file);
    std::stringstream ss;
    ss << in.rdbuf();
    o.body = ss.str();
  }
  return o;
}

struct Stats {
  std::vector<double> latencies_us;  // of measured (post-warm-up) requests
  uint64_t requests = 0, errors = 0, non_2xx = 0;
  int running = 0;  // connections with requests still to send or answers still to read
  asio::steady_timer* deadline = nullptr;

  void finished() {
    if (--running == 0) deadline->cancel();
  }
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, const Options& o, const std::string& request, int index, Clock::time_point start,
             Clock::time_point measure_from, Clock::time_point stop, Stats& stats)
      : socket_(io), timer_(io), options_(o), request_(request), index_(index), start_(start),
        measure_from_(measure_from), stop_(stop), stats_(stats) {}

  void run(const tcp::resolver::results_type& endpoints) {
    asio::async_connect(socket_, endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
      if (ec) return self->fail();
      self->socket_.set_option(tcp::no_delay(true));
      self->schedule();
    });
  }

 private:
  Clock::time_point due(uint64_t k) const {
    double i = static_cast<double>(index_) + static_cast<double>(k) * options_.connections;
    return start_ + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / options_.rate));
  }

  void schedule() {
    auto when = due(sent_);
    if (when >= stop_) return stats_.finished();
    if (when <= Clock::now()) return send(when, when);  // overdue: the target kept us waiting
    timer_.expires_at(when);
    timer_.async_wait([self = shared_from_this(), when](beast::error_code ec) {
      if (!ec) self->send(when, Clock::now());
    });
  }

  void send(Clock::time_point due_at, Clock::time_point latency_from) {
    ++sent_;
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this(), due_at, latency_from](beast::error_code ec, size_t) {
                        if (ec) return self->fail();
                        self->read(due_at, latency_from);
                      });
  }

  void read(Clock::time_point due_at, Clock::time_point latency_from) {
    parser_.emplace();
    parser_->body_limit(boost::none);
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this(), due_at, latency_from](beast::error_code ec, size_t) {
      auto done = Clock::now();
      if (ec) return self->fail();
      if (due_at >= self->measure_from_) {
        ++self->stats_.requests;
        int status = self->parser_->get().result_int();
        if (status < 200 || status >= 300) ++self->stats_.non_2xx;
        self->stats_.latencies_us.push_back(std::chrono::duration<double, std::micro>(done - latency_from).count());
      }
      self->schedule();
    });
  }

  // A broken connection stops; every request it had still to send is counted as an error.
  void fail() {
    for (;; ++sent_) {
      auto when = due(sent_);
      if (when >= stop_) break;
      if (when >= measure_from_) ++stats_.errors;
    }
    stats_.finished();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  const Options& options_;
  const std::string& request_;
  int index_;
  Clock::time_point start_, measure_from_, stop_;
  Stats& stats_;
  uint64_t sent_ = 0;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
};

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) ;
  return sorted[std::min(sorted.size() - 1, i == 0 ? 0 : i - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  // Timers may otherwise fire up to 50 µs late (the default slack), which would be charged to
  // every target as latency.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  std::string request = "POST " + o.target + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
                        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(o.body.size()) + "\r\n";
  for (const auto& h : o.headers) request += h + "\r\n";
  request += "\r\n" + o.body;

  asio::io_context io(1);
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto endpoints = resolver.resolve(o.host, o.port, ec);
  if (ec) usage("cannot resolve " + o.host + ": " + ec.message());

  Stats stats;
  stats.latencies_us.reserve(static_cast<size_t>(o.rate * o.duration_s * 1.1) + 16);
  // Connections are opened first; the schedule starts a little later so connecting is not timed.
  auto start = Clock::now() + std::chrono::milliseconds(100);
  auto measure_from = start + std::chrono::nanoseconds(static_cast<int64_t>(o.warmup_s * 1e9));
  auto stop = measure_from + std::chrono::nanoseconds(static_cast<int64_t>(o.duration_s * 1e9));
  // Requests still unanswered 5 s after the end stop the run (the rest is counted below).
  asio::steady_timer deadline(io, stop + std::chrono::seconds(5));
  deadline.async_wait([&](beast::error_code ec) {
    if (!ec) io.stop();
  });
  stats.deadline = &deadline;
  stats.running = o.connections;
  for (int i = 0; i < o.connections; ++i)
    std::make_shared<Connection>(io, o, request, i, start, measure_from, stop, stats)->run(endpoints);
  io.run();
  // Measured requests that never completed (a stalled target) are errors too.
  uint64_t scheduled = 0;
  for (int c = 0; c < o.connections; ++c)
    for (uint64_t k = 0;; ++k) {
      auto when = start + std::chrono::nanoseconds(static_cast<int64_t>((c + static_cast<double>(k) * o.connections) * 1e9 / o.rate));
      if (when >= stop) break;
      if (when >= measure_from) ++scheduled;
    }
  if (stats.requests + stats.errors < scheduled) stats.errors += scheduled - stats.requests - stats.errors;

  auto& l = stats.latencies_us;
  std::sort(l.begin(), l.end());
  double mean = 0;
  for (double v : l) mean += v;
  mean = l.empty() ? 0 : mean / static_cast<double>(l.size());
  std::printf(
      "{\"rate\":%.0f,\"connections\":%d,\"duration_s\":%.1f,\"requests\":%llu,\"errors\":%llu,\"non_2xx\":%llu,"
      "\"achieved_rate\":%.1f,\"mean_us\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
      "\"max_us\":%.1f}\n",
      o.rate, o.connections, o.duration_s, static_cast<unsigned long long>(stats.requests),
      static_cast<unsigned long long>(stats.errors), static_cast<unsigned long long>(stats.non_2xx),
      static_cast<double>(stats.requests) / o.duration_s, mean, percentile(l, 50), percentile(l, 90),
      percentile(l, 99), percentile(l, 99.9), l.empty() ? 0.0 : l.back());
  return stats.errors == 0 && stats.non_2xx == 0 ? 0 : 1;
}
