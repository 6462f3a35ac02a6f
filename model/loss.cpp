// Cross-entropy in fp32 (see loss.h).
#include "model/loss.h"

#include <ATen/core/Reduction.h>
#include <ATen/ops/cross_entropy_loss.h>

namespace ember::model {

namespace {

at::Tensor token_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index,
                               at::Reduction::Reduction reduction) {
  const int64_t vocab = logits.size(-1);
  return at::cross_entropy_loss(logits.reshape({-1, vocab}).to(at::kFloat), targets.reshape({-1}), std::nullopt,
                                reduction, ignore_index);
}

}  // namespace

at::Tensor cross_entropy_mean(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index) {
  return token_cross_entropy(logits, targets, ignore_index, at::Reduction::Mean);
}

at::Tensor cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index) {
  return token_cross_entropy(logits, targets, ignore_index, at::Reduction::Sum);
}

}  // namespace ember::model
