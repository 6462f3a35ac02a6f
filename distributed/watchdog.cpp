// The collective watchdog thread (see watchdog.h).
#include "distributed/watchdog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "distributed/mpi_runtime.h"

namespace ember::distributed {

Watchdog::Watchdog(double timeout_s, Abort abort)
    : timeout_s_(timeout_s), abort_(abort ? std::move(abort) : Abort([](const std::string& m) { abort_job(m); })) {
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

Watchdog::Scope::~Scope() {
  if (watchdog_) watchdog_->finish(id_);
}

Watchdog::Scope Watchdog::watch(std::string what) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t id = next_scope_++;
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_));
  in_flight_[id] = {std::move(what), deadline};
  return Scope(this, id);
}

void Watchdog::finish(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  in_flight_.erase(id);
}

int64_t Watchdog::add_poll(Poll poll) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t handle = next_poll_++;
  polls_[handle] = std::move(poll);
  return handle;
}

void Watchdog::remove_poll(int64_t handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  polls_.erase(handle);
}

void Watchdog::end_job(const std::string& message) {
  abort_(fmt::format("[ember] watchdog: {}", message));
}

void Watchdog::run() {
  // Poll often enough to end the job within a tenth of the timeout (at most every second).
  const auto interval = std::chrono::duration<double>(std::clamp(timeout_s_ / 10.0, 0.01, 1.0));
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval);
    if (stopping_) break;
    const auto now = Clock::now();
    std::optional<std::string> failure;
    for (auto it = in_flight_.begin(); it != in_flight_.end(); ++it) {
      if (it->second.deadline <= now) {
        failure = fmt::format("{} did not finish within {} s (parallel.timeout_s): a rank stopped, crashed or "
                              "diverged; ending the job",
                              it->second.what, timeout_s_);
        in_flight_.erase(it);
        break;
      }
    }
    std::vector<Poll> polls;
    for (const auto& item : polls_) polls.push_back(item.second);
    lock.unlock();
    for (size_t i = 0; i < polls.size() && !failure; ++i) failure = polls[i]();
    if (failure) end_job(*failure);
    lock.lock();
  }
}

void abort_job(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::fflush(stderr);
  mpi_abort_world(1);
  std::_Exit(1);
}

}  // namespace ember::distributed
