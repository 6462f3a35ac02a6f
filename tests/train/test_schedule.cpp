// Learning-rate schedules against hand-computed values.
#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "core/error.h"
#include "train/schedule.h"

using ember::train::learning_rate;
using ember::train::ScheduleOptions;

TEST(Schedule, WarmupIsLinearFromFirstStep) {
  ScheduleOptions o{"constant", 1.0, 0.1, 4, 100, 0.2};
  EXPECT_DOUBLE_EQ(learning_rate(o, 0), 0.25);
  EXPECT_DOUBLE_EQ(learning_rate(o, 3), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 50), 1.0);
}

TEST(Schedule, CosineEndsAtTheFloor) {
  ScheduleOptions o{"cosine", 2.0, 0.1, 0, 11, 0.2};
  EXPECT_DOUBLE_EQ(learning_rate(o, 0), 2.0);
  EXPECT_NEAR(learning_rate(o, 11), 0.2, 1e-12);
  double t = 5.0 / 11.0;
  EXPECT_NEAR(learning_rate(o, 5), 0.2 + 1.8 * 0.5 * (1 + std::cos(std::numbers::pi * t)), 1e-12);
}

TEST(Schedule, WsdHoldsThenDecaysLinearly) {
  ScheduleOptions o{"wsd", 1.0, 0.0, 0, 10, 0.2};  // decay over the last 2 steps
  EXPECT_DOUBLE_EQ(learning_rate(o, 7), 1.0);
  EXPECT_DOUBLE_EQ(learning_rate(o, 8), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(o, 9), 0.0);
}

TEST(Schedule, UnknownKindIsAUsageError) {
  ScheduleOptions o{"linear", 1.0, 0.0, 0, 10, 0.2};
  EXPECT_THROW(learning_rate(o, 3), ember::UsageError);
}
