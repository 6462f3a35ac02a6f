// Per-token estimators of KL(pi || pi_ref) from the log-probabilities of the sampled tokens, the
// ones the GRPO family uses for the penalty that keeps the policy near a frozen reference.
//
// With r = log pi(y_t) - log pi_ref(y_t) for the token y_t sampled from pi:
//   k1 = r                                 unbiased, high variance, can be negative
//   k2 = r^2 / 2                           biased, low variance, always >= 0
//   k3 = exp(-r) + r - 1                   unbiased, low variance, always >= 0 ("low_var_kl")
// k3 clamps r to [-20, 20] and the result to [-10, 10] so that one rare token cannot blow up the
// loss. Each is differentiable in log pi; the reference is a constant.
#pragma once

#include <string_view>

#include <ATen/Tensor.h>

namespace ember::train::rl {

enum class KlEstimator { kK1, kK2, kK3 };

/// "k1", "k2" or "k3"; anything else throws ember::UsageError.
KlEstimator parse_kl_estimator(std::string_view name);

constexpr double kKlLogRatioClamp = 20.0;
constexpr double kK3Clamp = 10.0;

/// The estimator per token: logprobs and ref_logprobs of the same shape, result of that shape.
at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, KlEstimator estimator);

}  // namespace ember::train::rl
