// Cross-entropy in fp32, and the model-level next-token loss (see loss.h).
#include "model/loss.h"

#include <ATen/core/Reduction.h>
#include <ATen/ops/cross_entropy_loss.h>

#include "model/kernels/fused_linear_cross_entropy.h"
#include "model/transformer.h"

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

at::Tensor next_token_loss_sum(TransformerImpl& model, const at::Tensor& input_ids, const at::Tensor& targets,
                               const at::Tensor& doc_ids, bool fused) {
  if (!fused) return cross_entropy_sum(model.forward(input_ids, doc_ids), targets);
  auto hidden = model.final_hidden(input_ids, doc_ids);
  return kernels::fused_linear_cross_entropy(hidden.reshape({-1, hidden.size(-1)}), model.lm_head_weight(),
                                             targets.reshape({-1}));
}

}  // namespace ember::model
