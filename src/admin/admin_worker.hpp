// The admin threads: admin endpoints run here, off the workers' event loops, because they may
// block (files, the vault, SQLite, an upstream's model listing, a reload). A small fixed pool
// (2 threads): the admin API is for people and scripts, not traffic, and a slow call (a self-test)
// must not hold up a quick one behind it.
//
// Thread-safety: submit() and stop() may be called from any thread. `done` runs on an admin
// thread; the caller posts the answer back to its own thread from there.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "admin/admin_api.hpp"

namespace llmux::admin {

class AdminWorker {
 public:
  using Done = std::function<void(AdminAnswer)>;

  explicit AdminWorker(AdminContext& context, size_t threads = 2);
  ~AdminWorker();
  AdminWorker(const AdminWorker&) = delete;
  AdminWorker& operator=(const AdminWorker&) = delete;

  // Runs `endpoint` on an admin thread and hands its answer to `done` (an endpoint that throws
  // answers 500). After stop() the call is dropped: `done` never runs.
  void submit(AdminEndpoint endpoint, AdminRequest request, Done done);
  // Lets the calls already running finish, drops the queued ones and joins the threads. Idempotent.
  void stop();

  AdminContext& context() noexcept { return context_; }

 private:
  struct Job {
    AdminEndpoint endpoint;
    AdminRequest request;
    Done done;
  };
  void run();

  AdminContext& context_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> threads_;
};

// Calls the endpoint, turning an exception into a 500 answer.
AdminAnswer call_endpoint(AdminEndpoint endpoint, AdminContext& context, const AdminRequest& request);

}  // namespace llmux::admin
