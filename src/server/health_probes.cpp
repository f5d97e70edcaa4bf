#include "server/health_probes.hpp"

#include <boost/asio/post.hpp>

#include "observability/log.hpp"

namespace llmux::server {

namespace asio = boost::asio;

namespace {

constexpr size_t kKeptBodyBytes = 16 << 10;  // enough for an error message; a listing is not read

}  // namespace

std::string url_origin(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "(invalid URL)";
  std::string_view rest = url.substr(scheme + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(url.substr(0, scheme + 3)) + std::string(authority);
}

struct HealthProbes::Run : std::enable_shared_from_this<Run> {
  std::shared_ptr<const GatewayState> state;
  std::unique_ptr<router::ProbeScheduler> scheduler;
};

// One GET probe or webhook POST; owns its request for as long as the engine reads it.
class HealthProbes::Transfer final : public http::UpstreamHandler {
 public:
  using Done = std::function<void(Transfer&, const http::TransferResult&)>;

  http::UpstreamRequest request;
  Done done;
  int status = 0;
  std::string error_type;  // x-amzn-ErrorType
  std::string body;
  http::UpstreamClient::TransferId id = 0;
  bool complete = false;
  std::list<std::unique_ptr<Transfer>>::iterator entry;
  HealthProbes* owner = nullptr;

  void on_headers(int s, std::string_view, std::string_view, std::string_view type) override {
    status = s;
    error_type.assign(type);
  }
  bool on_body(std::string_view bytes) override {
    if (body.size() < kKeptBodyBytes) body.append(bytes.substr(0, kKeptBodyBytes - body.size()));
    return true;
  }
  void on_complete(const http::TransferResult& result) override {
    complete = true;
    if (done) done(*this, result);
    // Not destroyed from inside the engine's callback.
    asio::post(owner->io_, [owner = owner, self = this] { owner->finished(self); });
  }
};

HealthProbes::HealthProbes(asio::io_context& io) : io_(io), client_(io), timer_(io) {}

HealthProbes::~HealthProbes() {
  timer_.cancel();
  for (auto& t : transfers_)
    if (!t->complete) client_.cancel(t->id);
}

void HealthProbes::watch(std::shared_ptr<const GatewayState> state) {
  asio::post(io_, [this, state = std::move(state)]() mutable { start_watching(std::move(state)); });
}

void HealthProbes::start_watching(std::shared_ptr<const GatewayState> state) {
  timer_.cancel();
  auto run = std::make_shared<Run>();
  run->state = std::move(state);
  const auto& s = *run->state;
  // The first probes come one interval after start, spread over the next interval: start-up is
  // left alone, and a gateway that lives shorter than an interval (a test) is never probed.
  auto interval = s.config.router.health.interval;
  auto now = router::Instant::now();
  auto first_round = now + interval;
  Run* raw = run.get();  // the scheduler lives in the run: a shared_ptr here would be a cycle
  run->scheduler = std::make_unique<router::ProbeScheduler>(
      *s.health, s.breakers.get(), router::slot_providers(*s.routes, *s.health), interval,
      [this, raw](size_t index, router::ProbeScheduler::Done done) {
        probe(raw->shared_from_this(), index, std::move(done));
      },
      [] { return router::Instant::now(); }, first_round);
  // Providers that stay keep their place in the schedule: frequent reloads must not postpone
  // their probes for ever.
  if (run_) {
    const auto& previous = *run_->state->health;
    for (size_t i = 0; i < s.health->size(); ++i) {
      auto old = previous.index_of(s.health_providers[i]->id());
      if (!old) continue;
      auto due = run_->scheduler->next_due(*old);
      run->scheduler->set_next_due(i, due ? *due : now.steady + interval);
    }
  }
  run_ = std::move(run);
  schedule();
}

void HealthProbes::schedule() {
  if (!run_) return;
  router::SteadyTime next = run_->scheduler->run_due();
  if (next == router::SteadyTime::max()) return;
  timer_.expires_at(next);
  timer_.async_wait([this, run = std::weak_ptr<Run>(run_)](boost::system::error_code ec) {
    if (!ec && run.lock() == run_) schedule();
  });
}

void HealthProbes::probe(const std::shared_ptr<Run>& run, size_t index, router::ProbeScheduler::Done done) {
  const GatewayState& state = *run->state;
  const providers::Provider& provider = *state.health_providers[index];
  const HealthConfig& health = state.config.router.health;
  auto t = std::make_unique<Transfer>();
  t->request = provider.probe_request(health.path);
  t->request.timeout = health.timeout;
  t->request.connect_timeout = std::min(t->request.connect_timeout, health.timeout);
  auto started = router::SteadyClock::now();
  t->done = [run, &provider, done = std::move(done), started, timeout = health.timeout](
                Transfer& t, const http::TransferResult& r) {
    router::ProbeResult result;
    result.latency = std::chrono::duration_cast<router::Millis>(router::SteadyClock::now() - started);
    if (r.failure != http::TransferFailure::none) {
      result.error = providers::transfer_error(provider, t.request.url, r, timeout).message;
    } else if (t.status < 200 || t.status >= 300) {
      result.error = "GET " + t.request.url + " answered " + std::to_string(t.status) + ": " +
                     provider.decode_error_with_type(t.status, t.body, {}, t.error_type).message;
    } else {
      result.ok = true;
    }
    done(std::move(result));
  };
  start(std::move(t));
}

void HealthProbes::alert(const router::HealthEvent& event) { post_json(router::alert_payload_json(event)); }

void HealthProbes::post_json(std::string body) {
  asio::post(io_, [this, body = std::move(body)]() mutable {
    if (!run_ || run_->state->config.alerts.webhook.empty()) return;
    post_alert(run_->state->config.alerts.webhook, std::move(body));
  });
}

void HealthProbes::post_alert(const std::string& url, std::string body) {
  auto t = std::make_unique<Transfer>();
  t->request.method = "POST";
  t->request.url = url;
  t->request.headers.push_back("Content-Type: application/json");
  t->request.headers.push_back("Accept: */*");
  t->request.body = std::move(body);
  t->request.timeout = kWebhookTimeout;
  t->request.connect_timeout = kWebhookTimeout;
  t->request.max_response_bytes = kKeptBodyBytes;
  t->done = [](Transfer& t, const http::TransferResult& r) {
    std::string where = "alerts.webhook " + url_origin(t.request.url);
    if (r.failure != http::TransferFailure::none)
      observability::log_warning(where + ": not delivered: " + (r.detail.empty() ? "no answer" : r.detail));
    else if (t.status < 200 || t.status >= 300)
      observability::log_warning(where + ": not delivered: answered " + std::to_string(t.status));
  };
  start(std::move(t));
}

HealthProbes::Transfer& HealthProbes::start(std::unique_ptr<Transfer> transfer) {
  transfer->owner = this;
  transfers_.push_front(std::move(transfer));
  Transfer& t = *transfers_.front();
  t.entry = transfers_.begin();
  t.id = client_.start(t.request, &t);
  return t;
}

void HealthProbes::finished(Transfer* transfer) { transfers_.erase(transfer->entry); }

}  // namespace llmux::server
