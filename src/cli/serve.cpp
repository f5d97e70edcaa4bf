#include "cli/serve.hpp"

#include <sys/stat.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>
#include <utility>

#include <boost/json.hpp>

#include "admin/admin_worker.hpp"
#include "admin/auth.hpp"
#include "cli/output.hpp"
#include "cli/serve_admin.hpp"
#include "discovery/defaults.hpp"
#include "discovery/live_models.hpp"
#include "llmux/config.hpp"
#include "observability/log.hpp"
#include "server/gateway_state.hpp"
#include "server/server.hpp"
#include "governance/key_refresher.hpp"
#include "http/upstream_guard.hpp"
#include "storage/key_store.hpp"
#include "storage/ledger.hpp"
#include "store/prompts.hpp"
#include "store/sources.hpp"

namespace llmux::cli {

namespace {

using StateResult = Expected<std::shared_ptr<const server::GatewayState>, std::vector<std::string>>;

void print_summary(const server::GatewayState& state, const std::string& origin) {
  std::printf("config: %s\n", origin.c_str());
  if (state.providers.empty()) {
    std::printf("no providers configured: set OPENAI_API_KEY (or another provider key), start Ollama, "
                "add one with `llmux provider add NAME URL`, or pass --config FILE; `make demo` shows a full "
                "round trip with the bundled fake provider\n");
  }
  for (const auto& p : state.providers) {
    const auto& c = p->config();
    std::string url = c.base_url;  // a key may sit in its path (Azure-style deployment URLs)
    p->scrub(url);
    std::printf("provider %s (%s) %s%s: ", c.id.c_str(), c.type.c_str(), url.c_str(),
                c.enabled ? "" : " [disabled]");
    if (c.models.empty()) std::printf("any model (pass-through)");
    constexpr size_t kShown = 8;  // a hosted service lists dozens
    for (size_t i = 0; i < c.models.size() && i < kShown; ++i) std::printf("%s%s", i ? ", " : "", c.models[i].id.c_str());
    if (c.models.size() > kShown) std::printf(", … (%zu models)", c.models.size());
    if (!c.default_model.empty()) std::printf("; default %s", c.default_model.c_str());
    std::printf("\n");
  }
  std::fflush(stdout);
}

struct Loaded {
  store::Assembled sources;
  std::shared_ptr<const server::GatewayState> state;
};

// Within this a discovered provider's GET /models must answer, at start and on refresh.
constexpr std::chrono::seconds kModelListTimeout{3};

// How often discovered providers' model lists are fetched again: LLMUX_MODELS_REFRESH (a duration)
// or every 10 minutes.
std::chrono::milliseconds model_refresh_interval() {
  if (const char* text = std::getenv("LLMUX_MODELS_REFRESH"); text && *text) {
    if (auto d = parse_duration(text); d && d->count() > 0) return *d;
    std::cerr << "llmux: LLMUX_MODELS_REFRESH=" << text << " is not a duration (e.g. 10m); using 10m\n";
  }
  return std::chrono::minutes(10);
}

// Providers found from a known service's key (variable or vault): they list no models of their
// own, their model list is the service's live one.
bool is_discovered(const store::Assembled& sources, const ProviderConfig& p) {
  auto it = sources.origins.find(p.id);
  return it != sources.origins.end() && (it->second.kind == "environment" || it->second.kind == "vault");
}

std::vector<ProviderConfig> discovered(const store::Assembled& sources) {
  std::vector<ProviderConfig> out;
  for (const auto& p : sources.config.providers)
    if (is_discovered(sources, p)) out.push_back(p);
  return out;
}

// Loads everything serve serves; the errors are lines ready to print.
Expected<Loaded, std::vector<std::string>> load(const ServeOptions& options, discovery::LiveModels& live) {
  store::SourceOptions so;
  so.config_file = options.config_file;
  so.strict_env = true;
  so.discover = options.discover;
  so.probe_local = options.discover;
  auto sources = store::assemble(store::Paths::from_environment(), so);
  if (!sources) return unexpected(sources.error().messages);
  auto& config = sources->config;
  http::set_upstream_guard(config.upstream_guard);
  if (options.host) config.server.host = *options.host;
  if (options.port && *options.port >= 0 && *options.port <= 65535) config.server.port = static_cast<uint16_t>(*options.port);
  if (options.threads) config.server.threads = *options.threads;
  if (config.state_dir.empty()) config.state_dir = discovery::state_dir();
  apply_admin_key_env(config);
  live.fetch_new(discovered(*sources));
  for (auto& p : config.providers)
    if (is_discovered(*sources, p)) live.apply(p);
  auto state = server::GatewayState::build(config);
  if (!state) return unexpected(state.error());
  return Loaded{std::move(*sources), std::move(*state)};
}

// server.tls's certificate and key are watched like the config: a renewed certificate is served
// to new connections without a SIGHUP.
void add_tls_files(std::vector<std::string>& files, const ServerConfig& server) {
  for (const std::string* path : {&server.tls.cert_file, &server.tls.key_file})
    if (!path->empty()) files.push_back(*path);
}

// Size, mtime and inode of each watched file (all zero when absent).
struct Signature {
  std::vector<std::tuple<bool, int64_t, int64_t, uint64_t, uint64_t>> files;
  bool operator==(const Signature&) const = default;
};

Signature signature(const std::vector<std::string>& paths) {
  Signature s;
  for (const auto& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      s.files.emplace_back(false, 0, 0, 0, 0);
      continue;
    }
    int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.files.emplace_back(true, mtime, static_cast<int64_t>(st.st_size), static_cast<uint64_t>(st.st_ino),
                         static_cast<uint64_t>(st.st_dev));
  }
  return s;
}

// On its own thread, off the request path: polls the watched files every 250 ms and reloads on
// change (unless --no-watch) or when asked (SIGHUP), and fetches the discovered providers' model
// lists again every refresh interval, reloading when one changed. The admin API's apply() reloads
// through reload_now() on its own thread; reload_mutex_ serializes it with the watcher's reloads.
class Watcher {
 public:
  using Origins = std::map<std::string, store::ProviderOrigin>;

  Watcher(const ServeOptions& options, server::Server& server, std::vector<std::string> files, Signature seen,
          const ServerConfig& listening, discovery::LiveModels& live, std::vector<ProviderConfig> discovered,
          Origins origins)
      : options_(options),
        server_(server),
        files_(std::move(files)),
        seen_(std::move(seen)),
        listening_(listening),
        live_(live),
        discovered_(std::move(discovered)),
        refresh_every_(model_refresh_interval()),
        next_refresh_(std::chrono::steady_clock::now() + refresh_every_),
        origins_(std::make_shared<const Origins>(std::move(origins))) {
    thread_ = std::thread([this] { loop(); });
  }
  // Reloads now, on the calling thread, after any reload in progress; the loader's errors, one
  // line each, when the change was not applied. Thread-safe.
  Expected<void, std::vector<std::string>> reload_now() {
    std::lock_guard reloading(reload_mutex_);
    return reload();
  }
  // Where each provider of the snapshot last applied comes from. Thread-safe.
  std::optional<store::ProviderOrigin> origin_of(std::string_view id) const {
    std::shared_ptr<const Origins> origins;
    {
      std::lock_guard lock(origins_mutex_);
      origins = origins_;
    }
    auto it = origins->find(std::string(id));
    if (it == origins->end()) return std::nullopt;
    return it->second;
  }
  // Thread-safe: the reload runs on the watcher's thread.
  void request_reload() {
    {
      std::lock_guard lock(mutex_);
      reload_asked_ = true;
    }
    cv_.notify_all();
  }
  ~Watcher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stop_ || reload_asked_; });
      if (stop_) break;
      bool changed = std::exchange(reload_asked_, false);
      lock.unlock();
      std::unique_lock reloading(reload_mutex_);
      if (options_.watch) {
        Signature now = signature(files_);
        if (now != seen_) {
          seen_ = std::move(now);
          changed = true;
        }
      }
      bool refresh = !discovered_.empty() && std::chrono::steady_clock::now() >= next_refresh_;
      if (refresh) {
        auto refreshed = live_.refresh(discovered_);
        next_refresh_ = std::chrono::steady_clock::now() + refresh_every_;
        for (const auto& failure : refreshed.failures)
          std::cerr << "llmux: model list refresh failed for " << failure << "; still serving the last list\n";
        std::cerr.flush();
        changed = changed || refreshed.changed;
      }
      if (changed) (void)reload();
      reloading.unlock();
      lock.lock();
    }
  }

  // Called with reload_mutex_ held.
  Expected<void, std::vector<std::string>> reload() {
    auto loaded = load(options_, live_);
    if (!loaded) {
      std::fflush(stdout);
      std::cerr << "llmux: config change not applied, still serving the last good config:\n";
      for (const auto& e : loaded.error()) std::cerr << "  " << e << "\n";
      std::cerr.flush();
      return unexpected(std::move(loaded.error()));
    }
    const auto& s = loaded->state->config.server;
    if (s.host != listening_.host || s.port != listening_.port || s.threads != listening_.threads)
      std::cerr << "llmux: server host/port/threads changes take effect after a restart\n";
    // The watched set follows the config (e.g. a config.yaml created under the config dir).
    files_ = loaded->sources.watch;
    add_tls_files(files_, s);
    seen_ = signature(files_);
    discovered_ = discovered(loaded->sources);
    {
      std::lock_guard lock(origins_mutex_);
      origins_ = std::make_shared<const Origins>(loaded->sources.origins);
    }
    server_.update_state(loaded->state);
    std::printf("reloaded: %zu provider(s) from %s\n", loaded->state->providers.size(),
                loaded->sources.describe().c_str());
    std::fflush(stdout);
    return {};
  }

  const ServeOptions& options_;
  server::Server& server_;
  // files_, seen_, discovered_ and next_refresh_ are guarded by reload_mutex_.
  std::mutex reload_mutex_;
  std::vector<std::string> files_;
  Signature seen_;
  ServerConfig listening_;
  discovery::LiveModels& live_;
  std::vector<ProviderConfig> discovered_;
  std::chrono::milliseconds refresh_every_;
  std::chrono::steady_clock::time_point next_refresh_;
  mutable std::mutex origins_mutex_;
  std::shared_ptr<const Origins> origins_;  // guarded by origins_mutex_
  bool reload_asked_ = false;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int run_validate(const std::string& config_file, bool json) {
  store::SourceOptions so;
  so.config_file = config_file;
  so.strict_env = true;
  so.discover = false;
  auto paths = store::Paths::from_environment();
  std::vector<std::string> errors;
  std::string origin;
  size_t provider_count = 0, model_count = 0;
  auto sources = store::assemble(paths, so);
  if (!sources) {
    errors = sources.error().messages;
  } else {
    origin = sources->describe();
    auto state = server::GatewayState::build(sources->config);
    if (!state) {
      errors = state.error();
    } else {
      provider_count = (*state)->providers.size();
      for (const auto& p : (*state)->providers) model_count += p->config().models.size();
    }
    auto settings = store::Settings::load(paths.settings());
    if (!settings) {
      errors.insert(errors.end(), settings.error().messages.begin(), settings.error().messages.end());
    } else if (!settings->default_provider.empty() && !sources->find(settings->default_provider)) {
      errors.push_back(paths.settings() + ": default_provider: provider '" + settings->default_provider +
                       "' does not exist (llmux provider default NAME)");
    }
    store::PromptStore prompts(paths.prompts());
    if (auto ok = prompts.load(); !ok)
      errors.insert(errors.end(), ok.error().messages.begin(), ok.error().messages.end());
  }
  if (json) {
    boost::json::array list;
    for (const auto& e : errors) list.push_back(boost::json::value(e));
    print_json(boost::json::object{{"ok", errors.empty()},
                                   {"source", origin},
                                   {"providers", provider_count},
                                   {"models", model_count},
                                   {"errors", std::move(list)}});
    return errors.empty() ? kOk : kFailed;
  }
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << e << "\n";
    std::cerr << errors.size() << " error(s)" << (origin.empty() ? "" : " in " + origin) << "\n";
    return kFailed;
  }
  std::printf("%s: OK: %zu provider(s), %zu model(s)\n", origin.c_str(), provider_count, model_count);
  return kOk;
}

int run_serve(const ServeOptions& options) {
  if (options.dry_run) return run_validate(options.config_file);
  if (options.port && (*options.port < 0 || *options.port > 65535)) {
    std::cerr << "--port must be between 0 and 65535\n";
    return kUsage;
  }
  // Until the server listens for it, a SIGHUP (a reload request) must not end the process.
  std::signal(SIGHUP, SIG_IGN);
  observability::start_log();
  // Taken before loading, so a change made while loading is noticed by the first poll.
  auto paths = store::Paths::from_environment();
  std::vector<std::string> watched;
  if (!options.config_file.empty()) watched.push_back(options.config_file);
  else
    for (const char* name : {"config.yaml", "config.yml", "config.json"}) watched.push_back(paths.config_dir + "/" + name);
  watched.push_back(paths.providers());
  watched.push_back(paths.vault());
  Signature seen = signature(watched);

  discovery::LiveModels live(kModelListTimeout);
  auto loaded = load(options, live);
  if (!loaded) {
    for (const auto& e : loaded.error()) std::cerr << e << "\n";
    std::cerr << loaded.error().size() << " error(s)\n";
    return kFailed;
  }
  const auto& config = loaded->state->config;
  {
    std::vector<std::string> tls_files;
    add_tls_files(tls_files, config.server);
    watched.insert(watched.end(), tls_files.begin(), tls_files.end());
    auto tls_seen = signature(tls_files);
    seen.files.insert(seen.files.end(), tls_seen.files.begin(), tls_seen.files.end());
  }
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (!ec) ::chmod(config.state_dir.c_str(), 0700);

  // The ledger is opened at start only: turning it on or off takes a restart.
  std::shared_ptr<storage::UsageLedger> usage_ledger;
  if (config.ledger.enabled) {
    auto ledger = storage::open_sqlite_ledger({storage::ledger_path(config.state_dir)});
    if (!ledger) {
      std::cerr << "llmux: " << ledger.error() << "\n";
      return kFailed;
    }
    usage_ledger = std::move(*ledger);
  }
  // Stores what is still queued on every way out, the SIGTERM drain included.
  struct CloseLedger {
    storage::UsageLedger* ledger;
    ~CloseLedger() {
      if (ledger) ledger->close();
    }
  } close_ledger{usage_ledger.get()};

  // Virtual keys (`llmux keys`): read now so the first request sees them, then kept fresh. A
  // store that exists but cannot be read stops the start (its keys would be ignored); one that
  // cannot be created (a read-only state dir) only means there are no virtual keys.
  std::shared_ptr<governance::VirtualKeys> virtual_keys;
  std::shared_ptr<storage::KeyStore> key_store;  // the admin API's keys endpoints edit it
  std::string keys_path = storage::key_store_path(config.state_dir);
  bool keys_existed = std::filesystem::exists(keys_path, ec);
  if (auto opened = storage::open_sqlite_key_store(keys_path); opened) {
    key_store = std::shared_ptr<storage::KeyStore>(std::move(*opened));
    virtual_keys = std::make_shared<governance::VirtualKeys>(key_store);
    if (auto read = virtual_keys->refresh(); !read) {
      std::cerr << "llmux: " << read.error() << "\n";
      return kFailed;
    }
  } else if (keys_existed) {
    std::cerr << "llmux: " << opened.error().message << "\n";
    return kFailed;
  } else {
    observability::log_warning(opened.error().message + "; running without virtual keys");
  }

  server::Server server(loaded->state);
  if (usage_ledger) server.set_ledger(usage_ledger);
  if (virtual_keys) server.set_virtual_keys(virtual_keys);
  auto port = server.listen();
  if (!port) {
    std::cerr << "llmux: " << port.error() << "\n";
    return kFailed;
  }
  std::string host = config.server.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  std::printf("listening on %s://%s:%u\n", config.server.tls.enabled() ? "https" : "http", host.c_str(),
              static_cast<unsigned>(*port));
  std::printf("%s\n", admin::admin_start_line(config).c_str());
  print_summary(*loaded->state, loaded->sources.describe());
  int cut = 0;
  {
    Watcher watcher(options, server, watched, seen, config.server, live, discovered(loaded->sources),
                    loaded->sources.origins);
    server.set_reload([&watcher] { watcher.request_reload(); });
    ServeAdmin admin_context(
        server, paths, config.state_dir, [&watcher] { return watcher.reload_now(); },
        [&watcher](std::string_view id) { return watcher.origin_of(id); }, virtual_keys, key_store, usage_ledger);
    auto admin_worker = std::make_shared<admin::AdminWorker>(admin_context);
    server.set_admin(admin_worker);
    cut = server.run();
    admin_worker->stop();  // before the context and the watcher it reloads through go
  }
  if (cut > 0) {
    std::printf("llmux: stopped; %d answer(s) still running at the end of server.shutdown_grace were cut\n", cut);
    std::fflush(stdout);
    return kFailed;
  }
  std::printf("llmux: stopped\n");
  std::fflush(stdout);
  return kOk;
}

}  // namespace llmux::cli
