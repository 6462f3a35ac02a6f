// A background producer thread feeding a bounded queue: the loader uses it to build the next
// training batches while the trainer computes. The producer stops cleanly on destruction (after
// the item it is building); an exception thrown by the producer is delivered to the consumer by
// pop(), after the items produced before it, and the prefetcher then stays failed.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace ember::data {

template <typename T>
class Prefetcher {
 public:
  /// Starts the thread at once; `produce` runs only on it, at most `capacity` items ahead of pop().
  Prefetcher(std::function<T()> produce, size_t capacity)
      : produce_(std::move(produce)), capacity_(capacity < 1 ? 1 : capacity), thread_([this] { run(); }) {}
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> guard(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  /// The next item, waiting for it if needed; rethrows the producer's exception.
  T pop() {
    std::unique_lock<std::mutex> guard(mutex_);
    changed_.wait(guard, [&] { return !ready_.empty() || error_; });
    if (ready_.empty()) std::rethrow_exception(error_);
    T item = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return item;
  }

 private:
  void run() {
    while (true) {
      {
        std::unique_lock<std::mutex> guard(mutex_);
        changed_.wait(guard, [&] { return stopping_ || ready_.size() < capacity_; });
        if (stopping_) return;
      }
      try {
        T item = produce_();
        std::lock_guard<std::mutex> guard(mutex_);
        ready_.push_back(std::move(item));
      } catch (...) {
        std::lock_guard<std::mutex> guard(mutex_);
        error_ = std::current_exception();
        changed_.notify_all();
        return;
      }
      changed_.notify_all();
    }
  }

  std::function<T()> produce_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<T> ready_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once every other member exists
};

}  // namespace ember::data
