// The GRPO-family policy loss (see policy_loss.h).
#include "train/rl/policy_loss.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/maximum.h>
#include <ATen/ops/minimum.h>
#include <ATen/ops/where.h>
#include <c10/core/GradMode.h>

#include "core/error.h"

namespace ember::train::rl {
namespace {

constexpr double kLogRatioClamp = 20.0;

void check_options(const PolicyLossOptions& options) {
  if (!(options.eps_low >= 0 && options.eps_low < 1)) fail_usage("eps_low must lie in [0, 1), got {}", options.eps_low);
  if (!(options.eps_high >= 0)) fail_usage("eps_high must be non-negative, got {}", options.eps_high);
  if (options.dual_clip != 0 && !(options.dual_clip > 1)) {
    fail_usage("dual_clip must be 0 (off) or greater than 1, got {}", options.dual_clip);
  }
  if (!(options.kl_coef >= 0)) fail_usage("kl_coef must be non-negative, got {}", options.kl_coef);
  if (!(options.norm_length > 0)) fail_usage("the aggregation length must be positive, got {}", options.norm_length);
}

double sum_of(const at::Tensor& values) { return values.sum().item<double>(); }

}  // namespace

LossAggregation parse_loss_aggregation(std::string_view name) {
  if (name == "token-mean") return LossAggregation::kTokenMean;
  if (name == "seq-mean-token-mean") return LossAggregation::kSeqMeanTokenMean;
  if (name == "seq-mean-token-sum-norm") return LossAggregation::kSeqMeanTokenSumNorm;
  fail_usage("unknown loss aggregation '{}': use token-mean, seq-mean-token-mean or seq-mean-token-sum-norm", name);
}

PolicyLoss policy_loss(const PolicyLossInputs& inputs, const PolicyLossOptions& options,
                       const LossNormaliser& normaliser) {
  check_options(options);
  const bool with_kl = options.kl_coef > 0;
  if (with_kl && !inputs.ref_logprobs.defined()) fail_usage("a KL term in the loss needs reference log-probs");
  if (!(normaliser.tokens > 0 && normaliser.sequences > 0)) {
    fail_usage("the loss normaliser must count at least one token and one sequence");
  }

  const auto dtype = inputs.logprobs.scalar_type();
  const auto mask = inputs.mask.to(dtype);
  const auto advantages =
      (inputs.advantages.dim() == 1 ? inputs.advantages.unsqueeze(1) : inputs.advantages).to(dtype).expand_as(mask);
  const auto log_ratio = (inputs.logprobs - inputs.old_logprobs.detach()).clamp(-kLogRatioClamp, kLogRatioClamp);
  const auto ratio = log_ratio.exp();
  const auto unclipped = -advantages * ratio;
  const auto clipped = -advantages * ratio.clamp(1.0 - options.eps_low, 1.0 + options.eps_high);
  auto pg = at::maximum(unclipped, clipped);
  const auto negative = advantages < 0;
  if (options.dual_clip > 0) pg = at::where(negative, at::minimum(pg, -advantages * options.dual_clip), pg);

  auto per_token = pg;
  at::Tensor kl;
  if (with_kl) {
    kl = kl_estimate(inputs.logprobs, inputs.ref_logprobs, options.kl_estimator);
    per_token = per_token + options.kl_coef * kl;
  }

  at::Tensor loss;
  switch (options.aggregation) {
    case LossAggregation::kTokenMean: loss = (per_token * mask).sum() / normaliser.tokens; break;
    case LossAggregation::kSeqMeanTokenMean: {
      const auto counts = mask.sum(1);
      const auto sequence_means = (per_token * mask).sum(1) / counts.clamp_min(1.0);
      loss = sequence_means.sum() / normaliser.sequences;
      break;
    }
    case LossAggregation::kSeqMeanTokenSumNorm:
      loss = (per_token * mask).sum() / (normaliser.sequences * options.norm_length);
      break;
  }

  PolicyLoss result;
  result.loss = loss;
  {
    c10::NoGradGuard no_grad;
    const auto counted = mask > 0;
    const auto positive = advantages > 0;
    result.sums.tokens = sum_of(mask);
    result.sums.clipped_high = sum_of(counted & positive & (ratio > 1.0 + options.eps_high));
    result.sums.clipped_low = sum_of(counted & negative & (ratio < 1.0 - options.eps_low));
    if (options.dual_clip > 0) result.sums.dual_clipped = sum_of(counted & negative & (ratio > options.dual_clip));
    result.sums.pg = sum_of(pg * mask);
    if (with_kl) result.sums.kl = sum_of(kl * mask);
  }
  return result;
}

}  // namespace ember::train::rl
