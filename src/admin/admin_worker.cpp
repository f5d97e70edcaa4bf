#include "admin/admin_worker.hpp"

#include <exception>

#include "observability/log.hpp"

namespace llmux::admin {

AdminAnswer call_endpoint(AdminEndpoint endpoint, AdminContext& context, const AdminRequest& request) {
  try {
    return endpoint(context, request);
  } catch (const std::exception& e) {
    observability::log_warning(std::string("admin endpoint ") + request.path + " failed: " + e.what());
  } catch (...) {
    observability::log_warning("admin endpoint " + request.path + " failed");
  }
  return error_answer(Error::make(ErrorKind::internal, "the admin endpoint failed; see the gateway's log", {},
                                  "admin_internal_error"));
}

AdminWorker::AdminWorker(AdminContext& context, size_t threads) : context_(context) {
  threads_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

AdminWorker::~AdminWorker() { stop(); }

void AdminWorker::submit(AdminEndpoint endpoint, AdminRequest request, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back({endpoint, std::move(request), std::move(done)});
  }
  ready_.notify_one();
}

void AdminWorker::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    queue_.clear();
  }
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  std::lock_guard lock(mutex_);
  threads_.clear();
}

void AdminWorker::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    AdminAnswer answer = call_endpoint(job.endpoint, context_, job.request);
    job.done(std::move(answer));
    job = Job{};  // the request and the callback go before the lock is taken again
    lock.lock();
  }
}

}  // namespace llmux::admin
