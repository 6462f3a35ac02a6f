// KL estimators (see kl.h).
#include "train/rl/kl.h"

#include <ATen/TensorOperators.h>

#include "core/error.h"

namespace ember::train::rl {

KlEstimator parse_kl_estimator(std::string_view name) {
  if (name == "k1") return KlEstimator::kK1;
  if (name == "k2") return KlEstimator::kK2;
  if (name == "k3") return KlEstimator::kK3;
  fail_usage("unknown KL estimator '{}': use k1, k2 or k3", name);
}

at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, KlEstimator estimator) {
  const auto log_ratio = logprobs - ref_logprobs.detach();
  switch (estimator) {
    case KlEstimator::kK1: return log_ratio;
    case KlEstimator::kK2: return 0.5 * log_ratio * log_ratio;
    case KlEstimator::kK3: {
      const auto r = log_ratio.clamp(-kKlLogRatioClamp, kKlLogRatioClamp);
      return ((-r).exp() + r - 1.0).clamp(-kK3Clamp, kK3Clamp);
    }
  }
  fail("unhandled KL estimator");
}

}  // namespace ember::train::rl
