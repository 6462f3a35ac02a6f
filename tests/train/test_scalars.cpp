// Named scalars: lookup by name, replacement in place, the interval reductions (mean, last, max),
// and the console line that picks the recipe's fields by name.
#include <gtest/gtest.h>

#include "core/error.h"
#include "train/progress.h"
#include "train/scalars.h"

using namespace ember::train;

TEST(Scalars, LooksUpByNameAndKeepsOrder) {
  Scalars s;
  s.add("loss", 2.5).add("lr", 1e-3, Reduce::last).add("loss", 2.0);
  EXPECT_DOUBLE_EQ(s.at("loss"), 2.0);
  ASSERT_EQ(s.items().size(), 2u);
  EXPECT_EQ(s.items()[0].first, "loss");
  EXPECT_EQ(s.items()[1].first, "lr");
  EXPECT_FALSE(s.contains("mfu"));
  EXPECT_THROW(s.at("mfu"), ember::Error);
}

TEST(IntervalScalars, ReducesEachScalarAsItSays) {
  IntervalScalars interval;
  for (double v : {1.0, 4.0, 2.5}) {
    Scalars step;
    step.add("loss", v).add("lr", v * 10, Reduce::last).add("length_max", v, Reduce::max);
    interval.add(step);
  }
  auto out = interval.take();
  EXPECT_DOUBLE_EQ(out.at("loss"), 2.5);  // (1 + 4 + 2.5) / 3
  EXPECT_DOUBLE_EQ(out.at("lr"), 25.0);
  EXPECT_DOUBLE_EQ(out.at("length_max"), 4.0);
  EXPECT_TRUE(interval.empty());
  Scalars next;
  next.add("loss", 7.0);
  interval.add(next);
  EXPECT_DOUBLE_EQ(interval.take().at("loss"), 7.0);  // a new interval starts after take()
}

TEST(IntervalScalars, AScalarOfSomeStepsOnlyIsMeanOverThoseSteps) {
  IntervalScalars interval;
  Scalars a, b;
  a.add("loss", 1.0).add("sample_accuracy", 0.5);
  b.add("loss", 3.0);
  interval.add(a);
  interval.add(b);
  auto out = interval.take();
  EXPECT_DOUBLE_EQ(out.at("loss"), 2.0);
  EXPECT_DOUBLE_EQ(out.at("sample_accuracy"), 0.5);
}

TEST(Progress, RatesCountOnlyTheStepsOwnTime) {
  Progress progress(10, 1e6);
  progress.start(0);
  progress.add_step(100, 2e5, 0.5);
  progress.add_step(300, 6e5, 1.5);
  auto rates = progress.mark();
  EXPECT_DOUBLE_EQ(rates.tokens_per_s, 200.0);  // 400 tokens over 2 s of steps
  EXPECT_DOUBLE_EQ(rates.mfu, 0.4);             // 8e5 FLOPs / 2 s / 1e6 FLOP/s
  EXPECT_DOUBLE_EQ(progress.mark().tokens_per_s, 0.0);
}

TEST(Progress, LinePicksFieldsByName) {
  Progress progress(10, 1e6);
  progress.start(0);
  Scalars s;
  s.add("lr", 3e-4).add("loss", 2.31416);
  auto line = progress.line(2, s, {{"loss", "loss"}, {"lr", "lr", "{:.2e}"}, {"kl", "kl"}}, {1500, 0.25});
  EXPECT_NE(line.find("step 2/10 | loss 2.3142 | lr 3.00e-04 | 1.5k tok/s | MFU 25.0% | ETA"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("kl"), std::string::npos) << line;  // absent scalars are left out
}
