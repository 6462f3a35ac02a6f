// A communication thread: runs jobs (blocking collectives) one at a time, in the order they were
// submitted, while the submitting thread goes on computing. This is how a CPU backend overlaps a
// collective with backward: MPI makes progress inside MPI calls, so a blocking MPI_Allreduce on a
// thread of its own moves data while the main thread computes (MPI_THREAD_MULTIPLE), where an
// MPI_Iallreduce left alone would mostly wait for the next MPI call.
//
// Ordering: a communicator's async collectives are jobs of one CommThread, so they run in the
// order each rank submitted them; before a blocking collective of the same communicator the
// caller drains the thread, so the rank's sequence of collectives on the group is its call order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "distributed/communicator.h"

namespace ember::distributed {

class CommThread {
 public:
  CommThread();
  /// Runs the jobs still queued, then joins the thread.
  ~CommThread();
  CommThread(const CommThread&) = delete;
  CommThread& operator=(const CommThread&) = delete;

  /// Queues `job`; the result's wait() blocks until it ran and rethrows what it threw.
  std::unique_ptr<PendingCollective> submit(std::function<void()> job);

  /// Blocks until every job submitted so far has run (their errors stay with their handles).
  void drain();

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;      ///< a job was queued, or the thread should stop
  std::condition_variable idle_;      ///< the queue emptied and no job runs
  std::deque<std::packaged_task<void()>> queue_;
  bool running_job_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ember::distributed
