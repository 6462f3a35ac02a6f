// The communication thread's queue (see comm_thread.h).
#include "distributed/comm_thread.h"

#include <utility>

namespace ember::distributed {
namespace {

/// The handle of a queued job: its future holds completion and the job's exception.
class QueuedCollective : public PendingCollective {
 public:
  explicit QueuedCollective(std::future<void> done) : done_(std::move(done)) {}
  void wait() override {
    if (done_.valid()) done_.get();
  }

 private:
  std::future<void> done_;
};

}  // namespace

CommThread::CommThread() { thread_ = std::thread([this] { run(); }); }

CommThread::~CommThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::unique_ptr<PendingCollective> CommThread::submit(std::function<void()> job) {
  std::packaged_task<void()> task(std::move(job));
  auto done = task.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
  }
  wake_.notify_one();
  return std::make_unique<QueuedCollective>(std::move(done));
}

void CommThread::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !running_job_; });
}

void CommThread::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left to run
    auto task = std::move(queue_.front());
    queue_.pop_front();
    running_job_ = true;
    lock.unlock();
    task();  // a packaged_task keeps the job's exception for its future
    lock.lock();
    running_job_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
}

}  // namespace ember::distributed
