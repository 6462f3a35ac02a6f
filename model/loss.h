// Next-token cross-entropy over logits [B, T, V] and targets [B, T] (int64), computed in fp32.
// Targets equal to `ignore_index` (padding, prompt tokens, document boundaries) do not count.
// Data-parallel training sums per rank and divides by the global token count, so both the sum and
// the mean are offered.
#pragma once

#include <ATen/Tensor.h>

namespace ember::model {

constexpr int64_t kIgnoreIndex = -100;

/// Mean of -log softmax(logits)[target] over the non-ignored tokens (a 0-dim fp32 tensor; NaN
/// when every target is ignored).
at::Tensor cross_entropy_mean(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index = kIgnoreIndex);

/// Sum of the same per-token losses (0 when every target is ignored).
at::Tensor cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets, int64_t ignore_index = kIgnoreIndex);

}  // namespace ember::model
