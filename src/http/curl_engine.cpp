#include "http/tls_context.hpp"
#include "http/transfer_engine.hpp"
#include "http/upstream_guard.hpp"
#include "core/text.hpp"

#include <curl/curl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace llmux::http {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

void global_init_once() {
  static std::once_flag flag;
  std::call_once(flag, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  return s;
}

// Poll with zero timeout: Asio's epoll reactor is edge-triggered, and curl may leave data unread
// (it reads one buffer per call), so readiness must be re-checked before waiting for a new edge.
bool ready_now(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (events | POLLERR | POLLHUP));
}

struct SocketWatch {
  explicit SocketWatch(asio::io_context& io, int fd, bool owned) : descriptor(io, fd), owned(owned) {}
  asio::posix::stream_descriptor descriptor;
  bool owned;  // created by our open-socket callback (else: curl's resolver pipe, not ours to close)
  int wanted = 0;  // CURL_POLL_* curl asked for
  bool reading = false;
  bool writing = false;
  bool closed = false;
};

class CurlEngine;

struct Transfer {
  TransferEngine::TransferId id = 0;
  CurlEngine* engine = nullptr;
  CURL* easy = nullptr;
  const UpstreamRequest* request = nullptr;
  UpstreamHandler* handler = nullptr;
  curl_slist* header_list = nullptr;
  curl_slist* connect_to = nullptr;  // tls.server_name: where the renamed URL really connects
  std::string renamed_url;           // tls.server_name: the URL with server_name as its host
  std::string content_type;
  std::string retry_after;
  std::string error_type;  // x-amzn-ErrorType
  bool headers_done = false;
  bool tls_configured = false;  // carries a provider's TLS options: never pooled for another request
  bool cancelled = false;
  bool timed_out = false;
  bool paused = false;            // by its handler: the inactivity timeout does not run
  long bad_status = 0;            // a final status llmux refuses (the transfer is aborted)
  uint64_t body_bytes = 0;
  bool too_large = false;         // the body passed request->max_response_bytes
  std::string refused;            // why the upstream guard refused to open a socket
  Clock::time_point last_activity;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

class CurlEngine final : public TransferEngine {
 public:
  explicit CurlEngine(asio::io_context& io) : io(io), multi_timer(io) {
    global_init_once();
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &CurlEngine::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &CurlEngine::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 1024L);
  }

  ~CurlEngine() override {
    for (auto& [id, t] : transfers) {
      curl_multi_remove_handle(multi, t->easy);
      release(std::move(t));
    }
    transfers.clear();
    for (CURL* easy : idle_easies) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi);  // closes pooled connections through on_close_socket
    for (auto& [fd, watch] : watches) {
      if (!watch->owned) watch->descriptor.release();
    }
  }

  // --- curl callbacks -------------------------------------------------------------------------

  // Called for each new connection only (pooled ones are reused without it): the guard's check on
  // the address curl resolved, before any connection attempt.
  static curl_socket_t on_open_socket(void* userp, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(userp);
    auto* self = t->engine;
    if (auto why = refuse_connection(url_host(t->request->url), &address->addr)) {
      t->refused = std::move(*why);
      return CURL_SOCKET_BAD;
    }
    int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    boost::system::error_code ec;
    auto watch = std::make_shared<SocketWatch>(self->io, fd, true);
    self->watches[fd] = std::move(watch);
    return fd;
  }

  static int on_close_socket(void* userp, curl_socket_t fd) {
    auto* self = static_cast<CurlEngine*>(userp);
    auto it = self->watches.find(fd);
    if (it == self->watches.end()) return ::close(fd);
    it->second->closed = true;
    boost::system::error_code ec;
    it->second->descriptor.close(ec);  // cancels pending waits
    self->watches.erase(it);
    return 0;
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<CurlEngine*>(userp);
    auto it = self->watches.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it != self->watches.end()) {
        it->second->wanted = 0;
        if (!it->second->owned) {
          it->second->closed = true;
          boost::system::error_code ec;
          it->second->descriptor.cancel(ec);
          it->second->descriptor.release();
          self->watches.erase(it);
        }
      }
      return 0;
    }
    if (it == self->watches.end())
      it = self->watches.emplace(fd, std::make_shared<SocketWatch>(self->io, fd, false)).first;
    it->second->wanted = what;
    self->arm(it->second);
    return 0;
  }

  // curl moves its timeout many times per transfer; every re-arm of an Asio timer can cost a
  // timerfd_settime syscall. Firing early is harmless (curl re-reports what is left), firing late
  // is not, so the armed timer is only moved when curl needs it sooner.
  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<CurlEngine*>(userp);
    if (timeout_ms < 0) return 0;  // a stale wake-up is harmless
    auto due = Clock::now() + std::chrono::milliseconds(timeout_ms);
    if (self->multi_timer_armed && self->multi_timer_due <= due) return 0;
    self->multi_timer_armed = true;
    self->multi_timer_due = due;
    self->multi_timer.expires_at(due);
    self->multi_timer.async_wait([self](boost::system::error_code ec) {
      if (ec) return;
      self->multi_timer_armed = false;
      self->socket_action(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t n = size * count;
    if (t->cancelled) return 0;
    std::string_view line(data, n);
    t->last_activity = Clock::now();
    if (istarts_with(line, "http/")) {
      t->content_type.clear();
      t->retry_after.clear();
      t->error_type.clear();
    } else if (istarts_with(line, "content-type:")) {
      t->content_type = trim(line.substr(13));
    } else if (istarts_with(line, "retry-after:")) {
      t->retry_after = trim(line.substr(12));
    } else if (istarts_with(line, kErrorTypeHeader) && line.size() > kErrorTypeHeader.size() &&
               line[kErrorTypeHeader.size()] == ':') {
      t->error_type = trim(line.substr(kErrorTypeHeader.size() + 1));
    } else if (line == "\r\n" || line == "\n") {
      long status = 0;
      curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
      bool interim = status >= 100 && status < 200 && status != 101;
      if (!interim && !t->headers_done && !acceptable_status(status)) {
        t->bad_status = status;
        return 0;  // aborts the transfer; a redirect is never followed
      }
      if (status >= 200 && !t->headers_done) {
        t->headers_done = true;
        t->handler->on_headers(static_cast<int>(status), t->content_type, t->retry_after, t->error_type);
        if (t->cancelled) return 0;
      }
    }
    return n;
  }

  static size_t on_write(char* data, size_t size, size_t count, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    size_t n = size * count;
    if (t->cancelled) return 0;
    t->last_activity = Clock::now();
    t->body_bytes += n;
    if (uint64_t limit = t->request->max_response_bytes; limit && t->body_bytes > limit) {
      t->too_large = true;
      return 0;  // aborts the transfer; curl closes a connection it stopped reading mid-body
    }
    bool keep_going = t->handler->on_body(std::string_view(data, n));
    if (t->cancelled) return 0;
    if (!keep_going) {
      t->paused = true;
      curl_easy_pause(t->easy, CURLPAUSE_RECV);
    }
    return n;
  }

  // --- driving curl ---------------------------------------------------------------------------

  void arm(const std::shared_ptr<SocketWatch>& watch) {
    if ((watch->wanted & CURL_POLL_IN) && !watch->reading) {
      watch->reading = true;
      watch->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                   [this, watch](boost::system::error_code ec) {
                                     watch->reading = false;
                                     if (ec || watch->closed) return;
                                     on_ready(watch, CURL_POLL_IN, CURL_CSELECT_IN, POLLIN);
                                   });
    }
    if ((watch->wanted & CURL_POLL_OUT) && !watch->writing) {
      watch->writing = true;
      watch->descriptor.async_wait(asio::posix::descriptor_base::wait_write,
                                   [this, watch](boost::system::error_code ec) {
                                     watch->writing = false;
                                     if (ec || watch->closed) return;
                                     on_ready(watch, CURL_POLL_OUT, CURL_CSELECT_OUT, POLLOUT);
                                   });
    }
  }

  void on_ready(const std::shared_ptr<SocketWatch>& watch, int poll_flag, int select_flag,
                short poll_events) {
    int fd = watch->descriptor.native_handle();
    for (int round = 0; round < 64; ++round) {
      if (!(watch->wanted & poll_flag)) return;
      socket_action(fd, select_flag);
      if (watch->closed || !(watch->wanted & poll_flag)) return;
      if (!ready_now(fd, poll_events)) break;
    }
    arm(watch);
  }

  void socket_action(curl_socket_t fd, int flags) {
    int running = 0;
    curl_multi_socket_action(multi, fd, flags, &running);
    collect_finished();
  }

  void collect_finished() {
    CURLMsg* msg;
    int left = 0;
    while ((msg = curl_multi_info_read(multi, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* raw = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
      CURLcode code = msg->data.result;
      finish(raw, code);
    }
  }

  void finish(Transfer* raw, CURLcode code) {
    auto it = transfers.find(raw->id);
    if (it == transfers.end()) return;
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers.erase(it);
    curl_multi_remove_handle(multi, t->easy);
    UpstreamHandler* handler = t->cancelled ? nullptr : t->handler;
    TransferResult result;
    if (t->timed_out) {
      result.failure = TransferFailure::timeout;
    } else if (!t->refused.empty()) {
      result.failure = TransferFailure::not_allowed;
      result.detail = std::move(t->refused);
    } else if (t->bad_status) {
      result.failure = TransferFailure::bad_status;
      result.detail = "HTTP status " + std::to_string(t->bad_status);
    } else if (t->too_large || code == CURLE_FILESIZE_EXCEEDED) {
      result.failure = TransferFailure::too_large;
      result.detail = "response body exceeds the limit of " + std::to_string(t->request->max_response_bytes) + " bytes";
    } else if (code == CURLE_OPERATION_TIMEDOUT && !connected(t->easy)) {
      // curl reports its connect timeout (TCP and, for https, the TLS handshake) as a timeout of
      // the operation; the connect limit is the one that ran out.
      result.failure = TransferFailure::connect;
      result.detail = std::string("connect timed out: ") + (t->error_buffer[0] ? t->error_buffer : curl_easy_strerror(code));
    } else if (code != CURLE_OK) {
      result.failure = classify(code);
      result.detail = t->error_buffer[0] ? t->error_buffer : curl_easy_strerror(code);
    }
    release(std::move(t));
    if (handler) handler->on_complete(result);
  }

  // Whether the connection was made: TCP, and for https the TLS handshake too.
  static bool connected(CURL* easy) {
    curl_off_t tcp = 0, tls = 0;
    char* scheme = nullptr;
    curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &tcp);
    curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls);
    curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
    bool https = scheme && (std::string_view(scheme) == "https" || std::string_view(scheme) == "HTTPS");
    return https ? tls > 0 : tcp > 0;
  }

  static TransferFailure classify(CURLcode code) {
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
      case CURLE_COULDNT_RESOLVE_PROXY:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_PEER_FAILED_VERIFICATION:
        return TransferFailure::connect;
      case CURLE_OPERATION_TIMEDOUT:
        return TransferFailure::timeout;
      case CURLE_RECV_ERROR:
      case CURLE_SEND_ERROR:
      case CURLE_GOT_NOTHING:
      case CURLE_PARTIAL_FILE:
      case CURLE_HTTP2:
      case CURLE_HTTP2_STREAM:
        return TransferFailure::reset;
      default:
        return TransferFailure::other;
    }
  }

  void release(std::unique_ptr<Transfer> t) {
    curl_slist_free_all(t->header_list);
    t->header_list = nullptr;
    curl_slist_free_all(t->connect_to);
    t->connect_to = nullptr;
    if (t->easy && t->tls_configured) curl_easy_cleanup(t->easy);
    else if (t->easy) idle_easies.push_back(t->easy);
  }

  // A provider's TLS settings when its https request goes through curl (a proxy is configured).
  static void apply_tls(CURL* e, const ProviderTlsConfig& tls) {
    if (!tls.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, tls.ca_file.c_str());
    if (!tls.client_cert.empty()) {
      curl_easy_setopt(e, CURLOPT_SSLCERT, tls.client_cert.c_str());
      curl_easy_setopt(e, CURLOPT_SSLKEY, tls.client_key.c_str());
    }
    if (tls.min_version == TlsVersion::tls1_3) curl_easy_setopt(e, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
    if (!tls.verify) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  }

  // tls.server_name through curl, which has no SNI option of its own: the URL names server_name
  // (so SNI and the verified name are server_name), CONNECT_TO sends the connection to the URL's
  // real host and port, and the Host header keeps the real authority as the HTTP/1.1 engine sends it.
  static void rename_host(Transfer& t, const std::string& server_name) {
    CURLU* url = curl_url();
    char *host = nullptr, *port = nullptr, *authority_port = nullptr, *renamed = nullptr;
    if (curl_url_set(url, CURLUPART_URL, t.request->url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(url, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(url, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        curl_url_set(url, CURLUPART_HOST, server_name.c_str(), 0) == CURLUE_OK &&
        curl_url_get(url, CURLUPART_URL, &renamed, 0) == CURLUE_OK) {
      t.renamed_url = renamed;
      std::string route = server_name + ":" + port + ":" + host + ":" + port;
      t.connect_to = curl_slist_append(nullptr, route.c_str());
      curl_easy_setopt(t.easy, CURLOPT_CONNECT_TO, t.connect_to);
      std::string line = std::string("Host: ") + host;
      if (curl_url_get(url, CURLUPART_PORT, &authority_port, 0) == CURLUE_OK) line.append(":").append(authority_port);
      t.header_list = curl_slist_append(t.header_list, line.c_str());
    }
    // A URL curl cannot read is left as it is: the transfer then fails with curl's own reason.
    for (char* part : {host, port, authority_port, renamed}) curl_free(part);
    curl_url_cleanup(url);
  }

  // One periodic sweep checks every transfer's deadline, so starting, feeding and finishing a
  // transfer touch no timer at all. Precision is the sweep period.
  static constexpr auto kSweepPeriod = std::chrono::milliseconds(20);

  void ensure_sweeping() {
    if (sweeping) return;
    sweeping = true;
    sweep_timer.expires_after(kSweepPeriod);
    sweep_timer.async_wait([this](boost::system::error_code ec) {
      sweeping = false;
      if (ec) return;
      sweep();
      if (!transfers.empty()) ensure_sweeping();
    });
  }

  void sweep() {
    auto now = Clock::now();
    std::vector<TransferId> expired;
    for (auto& [id, t] : transfers)
      if (!t->cancelled && !t->paused && now - t->last_activity >= t->request->timeout) expired.push_back(id);
    // Handlers run inside finish() and may start or cancel transfers: look each one up again.
    for (TransferId id : expired) {
      auto it = transfers.find(id);
      if (it == transfers.end()) continue;
      it->second->timed_out = true;
      finish(it->second.get(), CURLE_OPERATION_TIMEDOUT);
    }
  }

  void start(TransferId id, const UpstreamRequest& request, UpstreamHandler* handler) override {
    auto t = std::make_unique<Transfer>();
    t->id = id;
    t->request = &request;
    t->handler = handler;
    t->engine = this;
    if (!idle_easies.empty()) {
      t->easy = idle_easies.back();
      idle_easies.pop_back();
    } else {
      t->easy = curl_easy_init();
    }
    CURL* e = t->easy;
    const UpstreamRequest& r = *t->request;
    r.for_each_header([&](const std::string& h) { t->header_list = curl_slist_append(t->header_list, h.c_str()); });
    t->header_list = curl_slist_append(t->header_list, "Expect:");  // no 100-continue round trip
    if (r.tls && !r.tls->config().server_name.empty()) rename_host(*t, r.tls->config().server_name);
    curl_easy_setopt(e, CURLOPT_URL, t->renamed_url.empty() ? r.url.c_str() : t->renamed_url.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->header_list);
    if (r.method == "GET") {
      curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method == "POST" ? nullptr : r.method.c_str());
    }
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlEngine::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CurlEngine::on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &CurlEngine::on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &CurlEngine::on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
    // Refuses a too large Content-Length up front; on_write counts bodies of unknown length.
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_response_bytes));
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    if (r.tls) {
      apply_tls(e, r.tls->config());
      t->tls_configured = true;
    }
    // curl has no idle timer: an older pooled connection is closed when the next transfer looks.
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN,
                     static_cast<long>(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(
                                                              r.idle_connection_timeout).count())));
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, static_cast<long>(r.protocol == UpstreamRequest::Protocol::http1_1
                                                                    ? CURL_HTTP_VERSION_1_1
                                                                    : CURL_HTTP_VERSION_2TLS));
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    t->last_activity = Clock::now();
    ensure_sweeping();
    transfers.emplace(id, std::move(t));
    curl_multi_add_handle(multi, e);
  }

  void cancel(TransferId id) override {
    auto it = transfers.find(id);
    if (it == transfers.end()) return;
    Transfer* t = it->second.get();
    t->cancelled = true;
    t->handler = nullptr;
    // Removing a handle from inside curl's own callbacks is not allowed; defer to the loop.
    asio::post(io, [this, id] {
      auto it = transfers.find(id);
      if (it != transfers.end()) finish(it->second.get(), CURLE_ABORTED_BY_CALLBACK);
    });
  }

  void resume(TransferId id) override {
    auto it = transfers.find(id);
    if (it == transfers.end()) return;
    it->second->last_activity = Clock::now();
    it->second->paused = false;
    curl_easy_pause(it->second->easy, CURLPAUSE_CONT);
  }

  asio::io_context& io;
  CURLM* multi = nullptr;
  asio::steady_timer multi_timer;
  Clock::time_point multi_timer_due;
  bool multi_timer_armed = false;
  asio::steady_timer sweep_timer{io};
  bool sweeping = false;
  std::unordered_map<curl_socket_t, std::shared_ptr<SocketWatch>> watches;
  std::unordered_map<TransferId, std::unique_ptr<Transfer>> transfers;
  std::vector<CURL*> idle_easies;

  size_t active() const noexcept override { return transfers.size(); }
};

}  // namespace

std::unique_ptr<TransferEngine> make_curl_engine(asio::io_context& io) {
  return std::make_unique<CurlEngine>(io);
}

}  // namespace llmux::http
