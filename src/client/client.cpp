#include "llmux/client.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <future>
#include <mutex>
#include <thread>

#include "client/answer_reader.hpp"
#include "discovery/defaults.hpp"
#include "http/upstream_guard.hpp"
#include "http/sse.hpp"
#include "server/stream_framing.hpp"
#include "http/upstream.hpp"
#include "json/request_view.hpp"
#include "providers/provider.hpp"
#include "router/model_catalog.hpp"

namespace llmux {

namespace asio = boost::asio;
namespace bjson = boost::json;

namespace {

// Providers and catalog for one set of registrations; replaced whole on every change so calls in
// flight keep the set they started with.
struct Registry {
  std::vector<std::unique_ptr<providers::Provider>> providers;
  std::unique_ptr<router::ModelCatalog> catalog;
  std::string default_provider;
};

// Collects one upstream transfer and fulfils a promise when it completes.
class Collector : public http::UpstreamHandler {
 public:
  explicit Collector(std::function<void(std::string_view)> on_body = {}) : on_body_(std::move(on_body)) {}

  void on_headers(int status, std::string_view, std::string_view retry_after, std::string_view error_type) override {
    status_ = status;
    retry_after_ = retry_after;
    error_type_ = error_type;
  }
  bool on_body(std::string_view bytes) override {
    if (on_body_ && status_ >= 200 && status_ < 300) on_body_(bytes);
    else body_.append(bytes);
    return true;
  }
  void on_complete(const http::TransferResult& result) override {
    result_ = result;
    done_.set_value();
  }

  http::UpstreamRequest request_;
  int status_ = 0;
  std::string retry_after_;
  std::string error_type_;  // x-amzn-ErrorType
  std::string body_;
  http::TransferResult result_;
  std::promise<void> done_;
  std::function<void(std::string_view)> on_body_;
};

Error invalid(std::string message, std::string param = {}) {
  return Error::make(ErrorKind::invalid_request, std::move(message), std::move(param));
}

}  // namespace

struct Client::Impl {
  Impl() : upstream(io), guard(asio::make_work_guard(io)) {
    loop = std::thread([this] { io.run(); });
  }

  std::shared_ptr<const Registry> registry() {
    std::lock_guard lock(mutex);
    return current;
  }

  Expected<void, Error> rebuild(std::vector<ProviderConfig> configs, std::string default_provider) {
    auto next = std::make_shared<Registry>();
    for (auto& c : configs) {
      auto p = providers::make_provider(c);
      if (!p) return unexpected(invalid(p.error()));
      next->providers.push_back(std::move(p.value()));
    }
    next->catalog = std::make_unique<router::ModelCatalog>(next->providers);
    next->default_provider = std::move(default_provider);
    current = std::move(next);
    return {};
  }

  std::vector<ProviderConfig> configs_locked() const {
    std::vector<ProviderConfig> out;
    if (current)
      for (const auto& p : current->providers) out.push_back(p->config());
    return out;
  }

  // Runs one transfer on the loop and waits for it.
  std::shared_ptr<Collector> run(http::UpstreamRequest request, std::function<void(std::string_view)> on_body = {}) {
    auto collector = std::make_shared<Collector>(std::move(on_body));
    collector->request_ = std::move(request);  // must outlive the transfer: the collector does
    auto done = collector->done_.get_future();
    asio::post(io, [this, collector] { upstream.start(collector->request_, collector.get()); });
    done.wait();
    return collector;
  }

  // on_event null: a whole answer; else a stream whose events go to it.
  Expected<ChatResponse, Error> chat(const ChatRequest& request, const std::function<void(const StreamEvent&)>* on_event);

  asio::io_context io{1};
  http::UpstreamClient upstream;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread loop;
  mutable std::mutex mutex;  // guards `current`
  std::shared_ptr<const Registry> current = std::make_shared<Registry>();
  std::once_flag closed;
};

Client::Client() : impl_(std::make_unique<Impl>()) {
  std::lock_guard lock(impl_->mutex);
  (void)impl_->rebuild({}, {});
}

Client::~Client() { close(); }

void Client::close() {
  std::call_once(impl_->closed, [this] {
    impl_->guard.reset();
    // Transfers in flight finish first: run() callers are still waiting on them.
    asio::post(impl_->io, [this] {
      if (impl_->upstream.active_transfers() == 0) impl_->io.stop();
    });
    if (impl_->loop.joinable()) impl_->loop.join();
  });
}

Expected<void, Error> Client::add_provider(ProviderConfig config) {
  auto url = normalize_base_url(config.base_url);
  if (!url) return unexpected(invalid("provider '" + config.id + "': " + url.error(), "base_url"));
  config.base_url = *url;
  GatewayConfig check;
  check.upstream_guard = http::upstream_guard_config();  // the process's, so an allowed upstream stays allowed
  check.providers.push_back(config);
  if (auto errors = validate_config(check); !errors.empty()) {
    std::string message;
    for (const auto& e : errors) message += (message.empty() ? "" : "; ") + e.key_path + ": " + e.message;
    return unexpected(invalid(message));
  }
  std::lock_guard lock(impl_->mutex);
  auto configs = impl_->configs_locked();
  auto it = std::find_if(configs.begin(), configs.end(), [&](const auto& c) { return c.id == config.id; });
  if (it != configs.end()) *it = std::move(config);
  else configs.push_back(std::move(config));
  std::string default_provider = impl_->current->default_provider;
  if (default_provider.empty()) default_provider = configs.front().id;
  return impl_->rebuild(std::move(configs), default_provider);
}

Expected<void, Error> Client::remove_provider(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  auto configs = impl_->configs_locked();
  auto it = std::find_if(configs.begin(), configs.end(), [&](const auto& c) { return c.id == id; });
  if (it == configs.end())
    return unexpected(Error::make(ErrorKind::not_found, "provider '" + std::string(id) + "' is not registered"));
  configs.erase(it);
  std::string default_provider = impl_->current->default_provider;
  if (default_provider == id) default_provider = configs.empty() ? "" : configs.front().id;
  return impl_->rebuild(std::move(configs), default_provider);
}

Expected<void, Error> Client::set_default_provider(std::string_view id) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->current->catalog->provider(id))
    return unexpected(Error::make(ErrorKind::not_found, "provider '" + std::string(id) + "' is not registered"));
  return impl_->rebuild(impl_->configs_locked(), std::string(id));
}

std::vector<std::string> Client::provider_ids() const {
  std::vector<std::string> ids;
  std::lock_guard lock(impl_->mutex);
  for (const auto& p : impl_->current->providers) ids.push_back(p->id());
  return ids;
}

namespace {

std::optional<Error> invalid_tools(const ChatRequest& request) {
  for (size_t i = 0; i < request.tools.size(); ++i) {
    const auto& tool = request.tools[i];
    if (tool.name.empty()) return invalid("tools[" + std::to_string(i) + "] has no name", "tools");
    boost::system::error_code ec;
    auto parameters = bjson::parse(tool.parameters, ec);
    if (ec || !parameters.is_object())
      return invalid("tool '" + tool.name + "': parameters must be a JSON Schema object written as JSON text", "tools");
  }
  return std::nullopt;
}

}  // namespace

Expected<ChatResponse, Error> Client::Impl::chat(const ChatRequest& request,
                                                 const std::function<void(const StreamEvent&)>* on_event) {
  auto reg = registry();
  if (request.messages.empty()) return unexpected(invalid("'messages' must contain at least one message", "messages"));
  if (auto bad = invalid_tools(request)) return unexpected(*bad);
  std::string provider_pin = request.provider;
  if (request.model.empty() && provider_pin.empty()) provider_pin = reg->default_provider;
  if (reg->providers.empty())
    return unexpected(Error::make(ErrorKind::not_found, "no providers are registered", "model"));
  auto resolved = reg->catalog->resolve(request.model, provider_pin);
  if (!resolved) return unexpected(resolved.error());
  const auto& provider = *resolved->provider;
  const bool stream = on_event != nullptr;

  // The canonical request is an OpenAI body; each adapter encodes its own wire format from it.
  std::string body = chat_request_body(request, stream);
  auto fields = json::read_request(body);
  if (!fields) return unexpected(fields.error());
  providers::EncodeInput input{providers::Endpoint::chat_completions, body, &fields.value(),
                               resolved->upstream_model, {}, stream};
  auto encoded = provider.encode(input);
  if (!encoded) return unexpected(encoded.error());
  std::string url = encoded->url;
  auto timeout = encoded->timeout;

  ChatResponse out;
  out.provider = provider.id();
  static const std::function<void(const StreamEvent&)> kNoCallback = [](const StreamEvent&) {};
  client_detail::AnswerAssembler assembler(out, stream ? *on_event : kNoCallback);
  // A provider with its own wire format is read through its decoder's canonical events, like the
  // gateway reads it; an OpenAI stream's chunks directly.
  auto decoder = provider.make_response_decoder();
  client_detail::CanonicalStreamReader canonical(out, assembler);
  server::StreamFramer sse;  // SSE, or the provider's own framing (NDJSON, AWS event-stream)
  sse.reset(decoder ? decoder->stream_framing() : providers::StreamFraming::sse);
  std::optional<Error> stream_error;
  bool saw_done = false;
  auto on_stream_event = [&](const http::SseEvent& e) {
    if (stream_error) return false;
    if (decoder) {
      if (auto decoded = decoder->decode_event(e, canonical); !decoded) {
        Error error = std::move(decoded).error();
        error.message = "provider '" + provider.id() + "': " + error.message;
        stream_error = std::move(error);
      } else if (const auto& failed = canonical.error()) {
        Error error = Error::make(ErrorKind::upstream_error,
                                  "provider '" + provider.id() + "' failed mid-stream: " + failed->second, {},
                                  failed->first);
        error.http_status = 502;
        error.provider = provider.id();
        stream_error = provider.scrubbed(std::move(error));
      }
      return !stream_error;
    }
    if (e.data == "[DONE]") {
      saw_done = true;
    } else if (!client_detail::read_openai_chunk(e.data, out, assembler)) {
      stream_error = provider.decode_error(502, e.data, {});
    }
    return !stream_error;
  };
  std::function<void(std::string_view)> on_bytes;
  if (stream) on_bytes = [&](std::string_view bytes) { sse.feed(bytes, on_stream_event); };

  auto started = std::chrono::steady_clock::now();
  auto c = run(std::move(encoded.value()), on_bytes);
  out.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (c->result_.failure != http::TransferFailure::none)
    return unexpected(providers::transfer_error(provider, url, c->result_, timeout));
  if (c->status_ < 200 || c->status_ >= 300)
    return unexpected(provider.decode_error_with_type(c->status_, c->body_, c->retry_after_, c->error_type_));
  if (stream) {
    if (decoder && sse.ends_with_open_line()) sse.feed("\n", on_stream_event);  // a last unended line
    if (stream_error) return unexpected(*stream_error);
    // Streams never lie: one that stopped before its end is an error, not a short answer.
    bool complete = decoder ? canonical.done() : saw_done || !out.finish_reason.empty();
    if (!complete) {
      Error e = Error::make(ErrorKind::upstream_error,
                            "stream from provider '" + provider.id() + "' (" + url + ") ended before it was complete", {},
                            "upstream_stream_ended");
      e.http_status = 502;
      e.provider = provider.id();
      return unexpected(e);
    }
    return out;
  }

  bool read = false;
  if (decoder) {
    providers::ChatResponse decoded;
    if (auto done = decoder->decode_body(c->body_, decoded); !done) {
      Error e = std::move(done).error();
      e.message = "provider '" + provider.id() + "' (" + url + "): " + e.message;
      return unexpected(e);
    }
    client_detail::read_canonical_completion(decoded, out);
    read = true;
  } else {
    read = client_detail::read_openai_completion(c->body_, out);
  }
  if (!read) {
    Error e = Error::make(ErrorKind::upstream_error, "provider '" + provider.id() + "' returned a malformed response (" + url + ")");
    e.http_status = 502;
    return unexpected(e);
  }
  if (out.model.empty()) out.model = resolved->upstream_model;
  return out;
}

Expected<ChatResponse, Error> Client::chat(const ChatRequest& request) { return impl_->chat(request, nullptr); }

Expected<ChatResponse, Error> Client::chat_stream(const ChatRequest& request,
                                                  const std::function<void(const StreamEvent&)>& on_event) {
  return impl_->chat(request, &on_event);
}

Expected<ChatResponse, Error> Client::chat_stream(const ChatRequest& request,
                                                  const std::function<void(std::string_view)>& on_delta) {
  std::function<void(const StreamEvent&)> texts = [&](const StreamEvent& e) {
    if (e.type == StreamEvent::Type::text) on_delta(e.text);
  };
  return impl_->chat(request, &texts);
}

Expected<std::vector<ModelInfo>, Error> Client::list_models(std::string_view provider_id) {
  auto reg = impl_->registry();
  std::vector<const providers::Provider*> targets;
  for (const auto& p : reg->providers)
    if (provider_id.empty() || p->id() == provider_id) targets.push_back(p.get());
  if (targets.empty() && !provider_id.empty())
    return unexpected(Error::make(ErrorKind::not_found, "provider '" + std::string(provider_id) + "' is not registered"));
  std::vector<ModelInfo> out;
  for (const auto* p : targets) {
    size_t first = out.size();
    for (const auto& m : p->config().models) out.push_back({m.id, p->id(), true, false, m.context_window});
    auto request = p->list_models_request();
    std::string url = request.url;
    auto timeout = request.timeout;
    auto c = impl_->run(std::move(request));
    if (c->result_.failure != http::TransferFailure::none) {
      if (!provider_id.empty()) return unexpected(providers::transfer_error(*p, url, c->result_, timeout));
      continue;
    }
    if (c->status_ < 200 || c->status_ >= 300) {
      if (!provider_id.empty()) return unexpected(p->decode_error_with_type(c->status_, c->body_, c->retry_after_, c->error_type_));
      continue;
    }
    auto listed = discovery::listed_model_ids(c->body_);
    if (!listed) continue;
    for (auto& id : *listed) {
      auto it = std::find_if(out.begin() + static_cast<long>(first), out.end(), [&](const auto& x) { return x.id == id; });
      if (it != out.end()) it->live = true;
      else out.push_back({std::move(id), p->id(), false, true, std::nullopt});
    }
  }
  return out;
}

HealthStatus Client::check_health(std::string_view provider_id) {
  HealthStatus h;
  h.provider = std::string(provider_id);
  auto reg = impl_->registry();
  const auto* p = reg->catalog->provider(provider_id);
  if (!p) {
    h.message = "provider '" + std::string(provider_id) + "' is not registered";
    return h;
  }
  auto request = p->list_models_request();
  std::string url = request.url;
  auto timeout = request.timeout;
  auto start = std::chrono::steady_clock::now();
  auto c = impl_->run(std::move(request));
  h.latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  h.http_status = c->status_;
  if (c->result_.failure != http::TransferFailure::none) {
    h.message = providers::transfer_error(*p, url, c->result_, timeout).message;
  } else if (c->status_ < 200 || c->status_ >= 300) {
    h.message = p->decode_error_with_type(c->status_, c->body_, c->retry_after_, c->error_type_).message;
  } else {
    h.healthy = true;
    h.message = "ok";
  }
  return h;
}

}  // namespace llmux
