// The distillation divergences against hand-computed values, the JSD limits, temperature and T^2,
// top-k missing-mass handling, token weights, and the blockwise gradient against plain autograd.
#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>

#include "core/error.h"
#include "train/distill/divergence.h"

namespace ember::train::distill {
namespace {

// Student s = (0.5, 0.3, 0.2) and teacher p = (0.7, 0.2, 0.1), given as log-probabilities (logits
// of a softmax). Hand-computed, natural log:
//   FKL = 0.7 ln(0.7/0.5) + 0.2 ln(0.2/0.3) + 0.1 ln(0.1/0.2)              = 0.0851228259572216
//   RKL = 0.5 ln(0.5/0.7) + 0.3 ln(0.3/0.2) + 0.2 ln(0.2/0.1)              = 0.0920328502338319
//   JSD(0.5), M = (0.6, 0.25, 0.15):
//       0.5 [0.7 ln(0.7/0.6) + 0.2 ln(0.2/0.25) + 0.1 ln(0.1/0.15)]
//     + 0.5 [0.5 ln(0.5/0.6) + 0.3 ln(0.3/0.25) + 0.2 ln(0.2/0.15)]         = 0.0219011789684939
//   T = 2: s' ∝ s^(1/2), p' ∝ p^(1/2); FKL(p' || s')                        = 0.0245742976593839
constexpr double kForwardKl = 0.0851228259572216;
constexpr double kReverseKl = 0.0920328502338319;
constexpr double kJsdHalf = 0.0219011789684939;
constexpr double kForwardKlT2 = 0.0245742976593839;

at::Tensor student_logits() { return at::tensor({0.5, 0.3, 0.2}, at::kFloat).log().reshape({1, 3}); }
at::Tensor teacher_logits() { return at::tensor({0.7, 0.2, 0.1}, at::kFloat).log().reshape({1, 3}); }

double dense(Divergence kind, double beta = 0.5, double temperature = 1, bool t2 = false) {
  DivergenceOptions options;
  options.kind = kind;
  options.beta = beta;
  options.temperature = temperature;
  options.t2_scaling = t2;
  return dense_divergence(student_logits(), teacher_logits(), {}, options).loss.item<double>();
}

TEST(DistillDivergence, DenseMatchesHandComputedValues) {
  EXPECT_NEAR(dense(Divergence::kForwardKl), kForwardKl, 1e-6);
  EXPECT_NEAR(dense(Divergence::kReverseKl), kReverseKl, 1e-6);
  EXPECT_NEAR(dense(Divergence::kJsd, 0.5), kJsdHalf, 1e-6);
}

TEST(DistillDivergence, JsdEndsAreExactlyTheTwoKls) {
  EXPECT_EQ(dense(Divergence::kJsd, 0.0), dense(Divergence::kForwardKl));
  EXPECT_EQ(dense(Divergence::kJsd, 1.0), dense(Divergence::kReverseKl));
}

TEST(DistillDivergence, JsdScaledLimitsApproachTheKls) {
  const double small = 1e-4;
  EXPECT_NEAR(dense(Divergence::kJsd, small) / small, kForwardKl, 1e-3);
  EXPECT_NEAR(dense(Divergence::kJsd, 1 - small) / small, kReverseKl, 1e-3);
}

TEST(DistillDivergence, TemperatureAndT2Scaling) {
  EXPECT_NEAR(dense(Divergence::kForwardKl, 0.5, 2.0), kForwardKlT2, 1e-6);
  EXPECT_NEAR(dense(Divergence::kForwardKl, 0.5, 2.0, true), 4 * kForwardKlT2, 1e-6);
}

TEST(DistillDivergence, TopKRenormalizeAndTailBucket) {
  // Teacher top-2 = ids {0, 1}. renormalize: p = (7/9, 2/9), s = (5/8, 3/8):
  //   FKL = 7/9 ln((7/9)/(5/8)) + 2/9 ln((2/9)/(3/8)) = 0.053814235469412136
  // bucket: the tail bucket is token 2's mass on both sides, so it equals the dense value.
  TeacherTopK teacher{at::tensor({0, 1}, at::kLong).reshape({1, 2}),
                      at::tensor({0.7, 0.2}, at::kFloat).log().reshape({1, 2})};
  DivergenceOptions options;
  options.tail = TailMode::kRenormalize;
  EXPECT_NEAR(topk_divergence(student_logits(), teacher, {}, options).loss.item<double>(), 0.053814235469412136, 1e-6);
  options.tail = TailMode::kBucket;
  EXPECT_NEAR(topk_divergence(student_logits(), teacher, {}, options).loss.item<double>(), kForwardKl, 1e-6);
}

TEST(DistillDivergence, TopKOverTheWholeVocabularyEqualsDense) {
  at::manual_seed(3);
  auto student = at::randn({6, 11});
  auto teacher = at::randn({6, 11}) * 2;
  auto top = at::topk(at::log_softmax(teacher, -1), 11);
  TeacherTopK topk{std::get<1>(top), std::get<0>(top)};
  for (auto kind : {Divergence::kForwardKl, Divergence::kReverseKl, Divergence::kJsd}) {
    for (auto tail : {TailMode::kRenormalize, TailMode::kBucket}) {
      DivergenceOptions options;
      options.kind = kind;
      options.tail = tail;
      options.temperature = tail == TailMode::kRenormalize ? 1.7 : 1.0;
      auto a = dense_divergence(student, teacher, {}, options);
      auto b = topk_divergence(student, topk, {}, options);
      EXPECT_NEAR(a.loss.item<double>(), b.loss.item<double>(), 1e-5);
      EXPECT_EQ(a.agreement, b.agreement);
    }
  }
}

TEST(DistillDivergence, WeightsSelectTokensAndAgreementCountsTop1) {
  auto student = at::cat({student_logits(), teacher_logits()}, 0);
  auto teacher = at::cat({teacher_logits(), teacher_logits()}, 0);
  auto sums = dense_divergence(student, teacher, at::tensor({1.0, 0.0}), {});
  EXPECT_NEAR(sums.loss.item<double>(), kForwardKl, 1e-6);
  EXPECT_EQ(sums.tokens, 1);
  EXPECT_EQ(sums.agreement, 1);
}

TEST(DistillDivergence, BlockwiseGradientEqualsAutograd) {
  at::manual_seed(5);
  auto teacher = at::randn({9, 13});
  for (auto kind : {Divergence::kForwardKl, Divergence::kReverseKl, Divergence::kJsd}) {
    DivergenceOptions options;
    options.kind = kind;
    options.beta = 0.3;
    options.temperature = 1.5;
    options.t2_scaling = true;
    options.chunk_elements = 26;  // two rows per block: five blocks
    auto weights = at::tensor({1, 1, 0, 1, 1, 1, 0, 1, 1}, at::kFloat);
    auto a = at::randn({9, 13}).requires_grad_(true);
    auto loss = dense_divergence(a, teacher, weights, options).loss;
    auto gradient = torch::autograd::grad({loss}, {a})[0];

    auto b = a.detach().clone().requires_grad_(true);
    auto direct = (divergence_rows(at::log_softmax(b / 1.5, -1), at::log_softmax(teacher / 1.5, -1), kind, 0.3) *
                   weights).sum() * 2.25;
    auto expected = torch::autograd::grad({direct}, {b})[0];
    EXPECT_NEAR(loss.item<double>(), direct.item<double>(), 1e-5);
    EXPECT_TRUE(at::allclose(gradient, expected, 1e-5, 1e-6));
  }
}

TEST(DistillDivergence, RejectsBadOptions) {
  EXPECT_THROW(parse_divergence("kl"), UsageError);
  EXPECT_THROW(parse_tail_mode("zero"), UsageError);
  DivergenceOptions options;
  options.temperature = 0;
  EXPECT_THROW(dense_divergence(student_logits(), teacher_logits(), {}, options), UsageError);
}

}  // namespace
}  // namespace ember::train::distill
