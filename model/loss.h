// Next-token cross-entropy over logits [B, T, V] and targets [B, T] (int64), computed in fp32.
// Targets equal to `ignore_index` (padding, prompt tokens, document boundaries) do not count.
// Data-parallel training sums per rank and divides by the global token count, so both the sum and
// the mean are offered. next_token_loss_sum applies either the LM head and this loss or the fused
// chunked version of both (kernels/fused_linear_cross_entropy.h) to a whole model.
#pragma once

#include <ATen/Tensor.h>

namespace ember::model {

constexpr int64_t kIgnoreIndex = -100;

/// Mean of -log softmax(logits)[target] over the non-ignored tokens (a 0-dim fp32 tensor; NaN
/// when every target is ignored).
at::Tensor cross_entropy_mean(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index = kIgnoreIndex);

/// Sum of the same per-token losses (0 when every target is ignored).
at::Tensor cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index = kIgnoreIndex);

class TransformerImpl;

/// The summed next-token cross-entropy of `model` on input_ids [B, T] (doc_ids as in
/// TransformerImpl::forward) against targets [B, T]: cross_entropy_sum(model.forward(...)), or with
/// `fused` the same sum through fused_linear_cross_entropy on the final hidden states and the
/// LM-head weight (no [B, T, V] logits; for a model whose LM head holds the whole vocabulary).
at::Tensor next_token_loss_sum(TransformerImpl& model, const at::Tensor& input_ids, const at::Tensor& targets,
                               const at::Tensor& doc_ids, bool fused);

}  // namespace ember::model
