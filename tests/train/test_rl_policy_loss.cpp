// The GRPO-family policy loss against hand-computed values: each clip case (value, gradient and
// clip counters), the dual clip, the KL term, and each aggregation mode with global normalisers.
#include <gtest/gtest.h>

#include <cmath>

#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "core/error.h"
#include "train/rl/policy_loss.h"

using namespace ember::train::rl;

namespace {

struct OneToken {
  double loss, grad;
  PolicyLossSums sums;
};

/// One token with advantage `a` and ratio `ratio` (old log-prob 0, current log-prob log ratio).
OneToken one_token(double a, double ratio, const PolicyLossOptions& options) {
  auto logp = at::tensor({std::log(ratio)}, at::kDouble).reshape({1, 1}).set_requires_grad(true);
  PolicyLossInputs in;
  in.logprobs = logp;
  in.old_logprobs = at::zeros({1, 1}, at::kDouble);
  in.advantages = at::tensor({a}, at::kDouble);
  in.mask = at::tensor({1.0}).reshape({1, 1});
  auto out = policy_loss(in, options, {1, 1});
  out.loss.backward();
  return {out.loss.item<double>(), logp.grad().item<double>(), out.sums};
}

}  // namespace

TEST(RlPolicyLoss, OnPolicyIsReinforce) {
  auto t = one_token(1.0, 1.0, {});
  EXPECT_NEAR(t.loss, -1.0, 1e-6);
  EXPECT_NEAR(t.grad, -1.0, 1e-6);  // d(-A rho)/dlogp = -A rho
  EXPECT_EQ(t.sums.clipped_high + t.sums.clipped_low, 0.0);
}

TEST(RlPolicyLoss, PositiveAdvantageClipsAbove) {
  auto t = one_token(1.0, 1.5, {});  // max(-1.5, -1.2)
  EXPECT_NEAR(t.loss, -1.2, 1e-6);
  EXPECT_NEAR(t.grad, 0.0, 1e-12);
  EXPECT_EQ(t.sums.clipped_high, 1.0);
  auto below = one_token(1.0, 0.5, {});  // max(-0.5, -0.8): the unclipped branch
  EXPECT_NEAR(below.loss, -0.5, 1e-6);
  EXPECT_NEAR(below.grad, -0.5, 1e-6);
  EXPECT_EQ(below.sums.clipped_low, 0.0);
}

TEST(RlPolicyLoss, NegativeAdvantageClipsBelow) {
  auto t = one_token(-1.0, 0.5, {});  // max(0.5, 0.8)
  EXPECT_NEAR(t.loss, 0.8, 1e-6);
  EXPECT_NEAR(t.grad, 0.0, 1e-12);
  EXPECT_EQ(t.sums.clipped_low, 1.0);
  auto above = one_token(-1.0, 1.5, {});  // max(1.5, 1.2): unclipped, pushes rho down
  EXPECT_NEAR(above.loss, 1.5, 1e-6);
  EXPECT_NEAR(above.grad, 1.5, 1e-6);
}

TEST(RlPolicyLoss, AsymmetricClipHigher) {
  PolicyLossOptions dapo;
  dapo.eps_low = 0.2;
  dapo.eps_high = 0.28;
  EXPECT_NEAR(one_token(1.0, 1.25, dapo).loss, -1.25, 1e-6);  // inside 1.28
  EXPECT_NEAR(one_token(1.0, 1.3, dapo).loss, -1.28, 1e-6);
  EXPECT_NEAR(one_token(-1.0, 0.75, dapo).loss, 0.8, 1e-6);   // below 0.8: clipped
}

TEST(RlPolicyLoss, DualClipCapsNegativeAdvantages) {
  PolicyLossOptions options;
  options.dual_clip = 3.0;
  auto t = one_token(-1.0, 5.0, options);  // max(5, 1.2) = 5, min(5, 3) = 3
  EXPECT_NEAR(t.loss, 3.0, 1e-6);
  EXPECT_NEAR(t.grad, 0.0, 1e-12);
  EXPECT_EQ(t.sums.dual_clipped, 1.0);
  auto inside = one_token(-1.0, 2.0, options);  // below c: untouched
  EXPECT_NEAR(inside.loss, 2.0, 1e-6);
  EXPECT_EQ(inside.sums.dual_clipped, 0.0);
  auto positive = one_token(1.0, 5.0, options);  // A > 0: no dual clip
  EXPECT_NEAR(positive.loss, -1.2, 1e-6);
  EXPECT_NEAR(one_token(-1.0, 5.0, {}).loss, 5.0, 1e-6);  // off by default
}

TEST(RlPolicyLoss, KlTermInTheLoss) {
  PolicyLossOptions options;
  options.kl_coef = 0.1;
  options.kl_estimator = KlEstimator::kK3;
  PolicyLossInputs in;
  auto logp = at::zeros({1, 1}, at::kDouble).set_requires_grad(true);
  in.logprobs = logp;
  in.old_logprobs = at::zeros({1, 1}, at::kDouble);
  in.ref_logprobs = at::tensor({-0.5}, at::kDouble).reshape({1, 1});
  in.advantages = at::tensor({0.0}, at::kDouble);
  in.mask = at::tensor({1.0}).reshape({1, 1});
  auto out = policy_loss(in, options, {1, 1});
  const double k3 = std::exp(-0.5) + 0.5 - 1.0;
  EXPECT_NEAR(out.loss.item<double>(), 0.1 * k3, 1e-6);
  EXPECT_NEAR(out.sums.kl, k3, 1e-6);
  out.loss.backward();
  EXPECT_NEAR(logp.grad().item<double>(), 0.1 * (1.0 - std::exp(-0.5)), 1e-6);  // d k3/dr = 1 - e^-r
  in.ref_logprobs = at::Tensor();
  EXPECT_THROW(policy_loss(in, options, {1, 1}), ember::UsageError);
}

namespace {

/// Two sequences on-policy (rho = 1): per-token loss -A_i. Sequence 0 has 2 counted tokens with
/// A = 1, sequence 1 one counted token with A = -3. Token sum: -2 + 3 = 1.
PolicyLossInputs two_sequences() {
  PolicyLossInputs in;
  in.logprobs = at::zeros({2, 3}, at::kDouble).set_requires_grad(true);
  in.old_logprobs = at::zeros({2, 3}, at::kDouble);
  in.advantages = at::tensor({1.0, -3.0}, at::kDouble);
  in.mask = at::tensor({1.0, 1.0, 0.0, 1.0, 0.0, 0.0}).reshape({2, 3});
  return in;
}

PolicyLossInputs row(const PolicyLossInputs& in, int64_t i) {
  PolicyLossInputs r;
  r.logprobs = in.logprobs.narrow(0, i, 1);
  r.old_logprobs = in.old_logprobs.narrow(0, i, 1);
  r.advantages = in.advantages.narrow(0, i, 1);
  r.mask = in.mask.narrow(0, i, 1);
  return r;
}

}  // namespace

TEST(RlPolicyLoss, AggregationModesByHand) {
  const LossNormaliser global{3, 2};
  PolicyLossOptions options;
  auto in = two_sequences();
  options.aggregation = LossAggregation::kTokenMean;  // 1 / 3
  EXPECT_NEAR(policy_loss(in, options, global).loss.item<double>(), 1.0 / 3.0, 1e-9);
  options.aggregation = LossAggregation::kSeqMeanTokenMean;  // (mean(-1, -1) + mean(3)) / 2
  EXPECT_NEAR(policy_loss(in, options, global).loss.item<double>(), 1.0, 1e-9);
  options.aggregation = LossAggregation::kSeqMeanTokenSumNorm;  // 1 / (2 * 4)
  options.norm_length = 4;
  EXPECT_NEAR(policy_loss(in, options, global).loss.item<double>(), 0.125, 1e-9);
}

TEST(RlPolicyLoss, TokenMeanGradientByHand) {
  auto in = two_sequences();
  auto out = policy_loss(in, {}, {3, 2});
  out.loss.backward();
  auto grad = in.logprobs.grad();
  EXPECT_NEAR(grad[0][0].item<double>(), -1.0 / 3.0, 1e-9);
  EXPECT_NEAR(grad[1][0].item<double>(), 1.0, 1e-9);  // -(-3) / 3
  EXPECT_EQ(grad[0][2].item<double>(), 0.0);           // masked
}

TEST(RlPolicyLoss, MicroBatchSharesSumToTheBatchLoss) {
  for (auto aggregation : {LossAggregation::kTokenMean, LossAggregation::kSeqMeanTokenMean,
                           LossAggregation::kSeqMeanTokenSumNorm}) {
    PolicyLossOptions options;
    options.aggregation = aggregation;
    options.norm_length = 4;
    auto in = two_sequences();
    const LossNormaliser global{3, 2};
    const double whole = policy_loss(in, options, global).loss.item<double>();
    const double split = policy_loss(row(in, 0), options, global).loss.item<double>() +
                         policy_loss(row(in, 1), options, global).loss.item<double>();
    EXPECT_NEAR(whole, split, 1e-12);
  }
}

TEST(RlPolicyLoss, RejectsBadOptions) {
  auto in = two_sequences();
  PolicyLossOptions options;
  options.dual_clip = 0.5;
  EXPECT_THROW(policy_loss(in, options, {3, 2}), ember::UsageError);
  EXPECT_THROW(policy_loss(in, {}, {0, 2}), ember::UsageError);
  EXPECT_THROW(parse_loss_aggregation("seq-sum"), ember::UsageError);
  EXPECT_EQ(parse_loss_aggregation("seq-mean-token-sum-norm"), LossAggregation::kSeqMeanTokenSumNorm);
}
