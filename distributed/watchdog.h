// The collective watchdog: a collective that does not finish within parallel.timeout_s ends the
// whole job with a message naming the collective, the group and the rank, instead of hanging.
//
// One timer thread per process. Blocking backends (MPI) open a Scope around each call; the thread
// wakes every poll interval, and when a scope is older than the timeout it prints the message and
// calls the abort action (MPI_Abort: mpirun then stops every rank). Asynchronous backends (NCCL)
// add a poll that reports a failure message (an async error or an enqueued collective whose event
// has not completed in time); the thread treats it the same way.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ember::distributed {

class Watchdog {
 public:
  /// Called on the watchdog thread with the failure message; should not return (default: abort_job).
  using Abort = std::function<void(const std::string& message)>;
  /// Checked on the watchdog thread; a message ends the job.
  using Poll = std::function<std::optional<std::string>()>;

  explicit Watchdog(double timeout_s, Abort abort = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  double timeout_s() const { return timeout_s_; }

  /// Marks a blocking collective in flight until the scope ends.
  class Scope {
   public:
    Scope(Watchdog* watchdog, uint64_t id) : watchdog_(watchdog), id_(id) {}
    Scope(Scope&& other) noexcept : watchdog_(other.watchdog_), id_(other.id_) { other.watchdog_ = nullptr; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    Scope& operator=(Scope&&) = delete;
    ~Scope();

   private:
    Watchdog* watchdog_;
    uint64_t id_;
  };

  /// `what` names the collective, e.g. "all_reduce on group 'tp' (rank 1 of 2)".
  Scope watch(std::string what);

  /// Registers a poll; returns its handle for remove_poll.
  int64_t add_poll(Poll poll);
  void remove_poll(int64_t handle);

 private:
  using Clock = std::chrono::steady_clock;
  struct InFlight {
    std::string what;
    Clock::time_point deadline;
  };

  void finish(uint64_t id);
  void run();
  void end_job(const std::string& message);

  double timeout_s_;
  Abort abort_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t next_scope_ = 1;
  int64_t next_poll_ = 1;
  std::map<uint64_t, InFlight> in_flight_;
  std::map<int64_t, Poll> polls_;
  std::thread thread_;
};

/// Prints `message` to stderr and ends the job: MPI_Abort when MPI is running (every rank stops),
/// otherwise the process exits with status 1.
[[noreturn]] void abort_job(const std::string& message);

}  // namespace ember::distributed
