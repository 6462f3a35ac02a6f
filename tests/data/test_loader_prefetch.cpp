// The loader's prefetch thread: order, bounded look-ahead, exception delivery and clean shutdown.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "data/prefetcher.h"

namespace ember::data {
namespace {

TEST(LoaderPrefetch, DeliversInOrderAndStaysBounded) {
  std::atomic<int> produced{0};
  Prefetcher<int> prefetcher([&] { return produced++; }, 3);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(prefetcher.pop(), i);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_LE(produced.load(), 100 + 3);
}

TEST(LoaderPrefetch, ProducerExceptionReachesTheConsumerAfterEarlierItems) {
  int next = 0;
  Prefetcher<int> prefetcher(
      [&] {
        if (next == 2) throw std::runtime_error("disk on fire");
        return next++;
      },
      4);
  EXPECT_EQ(prefetcher.pop(), 0);
  EXPECT_EQ(prefetcher.pop(), 1);
  EXPECT_THROW(prefetcher.pop(), std::runtime_error);
  EXPECT_THROW(prefetcher.pop(), std::runtime_error) << "a failed prefetcher stays failed";
}

TEST(LoaderPrefetch, ShutsDownWhileFullOrBusy) {
  {
    Prefetcher<int> full([] { return 1; }, 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    Prefetcher<int> busy(
        [] {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return 2;
        },
        2);
    EXPECT_EQ(busy.pop(), 2);
  }
  SUCCEED();
}

}  // namespace
}  // namespace ember::data
