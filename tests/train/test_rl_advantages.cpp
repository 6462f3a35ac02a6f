// Group advantages and KL estimators against hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <ATen/ops/tensor.h>

#include "core/error.h"
#include "train/rl/advantages.h"
#include "train/rl/kl.h"

using namespace ember::train::rl;

TEST(RlAdvantages, GroupMeanStdDividesByUnbiasedStd) {
  std::vector<double> rewards = {1, 0, 0, 1};
  // mean 0.5; unbiased std sqrt(4 * 0.25 / 3) = 0.5773503
  auto a = group_advantages(rewards, AdvantageMode::kGroupMeanStd);
  const double expected = 0.5 / (std::sqrt(1.0 / 3.0) + kAdvantageStdEps);
  ASSERT_EQ(a.size(), 4u);
  EXPECT_NEAR(a[0], expected, 1e-12);
  EXPECT_NEAR(a[1], -expected, 1e-12);
  EXPECT_NEAR(a[2], -expected, 1e-12);
  EXPECT_NEAR(a[3], expected, 1e-12);
}

TEST(RlAdvantages, GroupMeanOnlyCentres) {
  std::vector<double> rewards = {2, 0, 1};
  auto a = group_advantages(rewards, AdvantageMode::kGroupMean);
  EXPECT_NEAR(a[0], 1.0, 1e-12);
  EXPECT_NEAR(a[1], -1.0, 1e-12);
  EXPECT_NEAR(a[2], 0.0, 1e-12);
}

TEST(RlAdvantages, RlooLeavesOneOut) {
  std::vector<double> rewards = {1, 0, 0, 1};
  auto a = group_advantages(rewards, AdvantageMode::kRloo);
  // r_0 - mean(r_1, r_2, r_3) = 1 - 1/3; r_1 - mean(r_0, r_2, r_3) = 0 - 2/3
  EXPECT_NEAR(a[0], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(a[1], -2.0 / 3.0, 1e-12);
  std::vector<double> three = {3, 0, 0};
  auto b = group_advantages(three, AdvantageMode::kRloo);
  EXPECT_NEAR(b[0], 3.0, 1e-12);   // 3 - 0
  EXPECT_NEAR(b[1], -1.5, 1e-12);  // 0 - (3 + 0) / 2
}

TEST(RlAdvantages, ZeroStdAndSingletonGroupsGiveZero) {
  for (auto mode : {AdvantageMode::kGroupMeanStd, AdvantageMode::kGroupMean, AdvantageMode::kRloo}) {
    std::vector<double> same = {0.7, 0.7, 0.7};
    for (double a : group_advantages(same, mode)) EXPECT_EQ(a, 0.0);
    std::vector<double> one = {5.0};
    EXPECT_EQ(group_advantages(one, mode)[0], 0.0);
  }
  std::vector<double> same = {1, 1};
  std::vector<double> mixed = {1, 0};
  EXPECT_TRUE(has_zero_std(same));
  EXPECT_FALSE(has_zero_std(mixed));
}

TEST(RlAdvantages, BatchSplitsIntoGroups) {
  std::vector<double> rewards = {1, 0, 5, 5};
  auto a = batch_advantages(rewards, 2, AdvantageMode::kGroupMean);
  EXPECT_NEAR(a[0], 0.5, 1e-12);
  EXPECT_NEAR(a[1], -0.5, 1e-12);
  EXPECT_EQ(a[2], 0.0);
  EXPECT_EQ(a[3], 0.0);
  EXPECT_THROW(batch_advantages(rewards, 3, AdvantageMode::kGroupMean), ember::Error);
}

TEST(RlAdvantages, RewardModeKeepsEveryRewardAsIs) {
  // REINFORCE without a baseline: no centring, and solved (zero-std) groups still count.
  std::vector<double> mixed = {1, 0, 1, 0.25};
  auto a = group_advantages(mixed, AdvantageMode::kReward);
  ASSERT_EQ(a.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], mixed[i]);
  std::vector<double> solved = {1, 1, 1};
  for (double value : group_advantages(solved, AdvantageMode::kReward)) EXPECT_EQ(value, 1.0);
  std::vector<double> one = {0.5};
  EXPECT_EQ(group_advantages(one, AdvantageMode::kReward)[0], 0.5);
}

TEST(RlAdvantages, ParsesModeNames) {
  EXPECT_EQ(parse_advantage_mode("rloo"), AdvantageMode::kRloo);
  EXPECT_EQ(parse_advantage_mode("reward"), AdvantageMode::kReward);
  EXPECT_THROW(parse_advantage_mode("gae"), ember::UsageError);
}

TEST(RlKl, EstimatorsByHand) {
  // r = logp - ref = 0 - (-0.5) = 0.5 and r = 0 - 1 = -1
  auto logp = at::tensor({0.0, 0.0});
  auto ref = at::tensor({-0.5, 1.0});
  auto k1 = kl_estimate(logp, ref, KlEstimator::kK1);
  auto k2 = kl_estimate(logp, ref, KlEstimator::kK2);
  auto k3 = kl_estimate(logp, ref, KlEstimator::kK3);
  EXPECT_NEAR(k1[0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(k1[1].item<double>(), -1.0, 1e-12);
  EXPECT_NEAR(k2[0].item<double>(), 0.125, 1e-12);
  EXPECT_NEAR(k2[1].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(k3[0].item<double>(), std::exp(-0.5) + 0.5 - 1.0, 1e-12);  // 0.1065307
  EXPECT_NEAR(k3[1].item<double>(), std::exp(1.0) - 1.0 - 1.0, 1e-12);   // 0.7182818
}

TEST(RlKl, K3IsClamped) {
  // r = 30 -> clamped to 20 -> exp(-20) + 19 -> clamped to 10; r = -30 -> exp(20) - 21 -> 10
  auto k3 = kl_estimate(at::tensor({30.0, -30.0}), at::tensor({0.0, 0.0}), KlEstimator::kK3);
  EXPECT_NEAR(k3[0].item<double>(), kK3Clamp, 1e-12);
  EXPECT_NEAR(k3[1].item<double>(), kK3Clamp, 1e-12);
}

TEST(RlKl, GradientFlowsThroughPolicyOnly) {
  auto logp = at::tensor({0.2}).set_requires_grad(true);
  auto ref = at::tensor({0.0}).set_requires_grad(true);
  kl_estimate(logp, ref, KlEstimator::kK2).sum().backward();
  EXPECT_NEAR(logp.grad().item<double>(), 0.2, 1e-12);  // d(r^2/2)/dr = r
  EXPECT_FALSE(ref.grad().defined());
  EXPECT_THROW(parse_kl_estimator("k4"), ember::UsageError);
}
