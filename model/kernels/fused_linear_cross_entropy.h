// The LM head and the summed next-token cross-entropy in one chunked pass, with the gradients
// computed during the forward pass (the loss is the last op of a training step, so nothing is
// recomputed and no FLOPs are added), as Liger-Kernel's fused linear cross-entropy.
//
// hidden h [N, d], weight W [V, d], targets t [N]; valid_i = (t_i != ignore_index).
//   z_i   = W h_i                      logits of token i  [V]   (compute dtype, see below)
//   lse_i = log sum_v exp(z_iv)                                   (fp32)
//   L     = sum_{i valid} (lse_i - z_{i t_i})                     (fp32, 0-dim)
//   G_i   = valid_i (softmax(z_i) - onehot(t_i))  = dL/dz_i       [V]
//   dL/dh_i = W^T G_i  (i.e. the rows of G W)        dL/dW = sum_i G_i h_i^T  (= G^T H)
// Tokens are processed in chunks of `chunk_tokens` rows: per chunk the logits [c, V] exist once
// (log-softmax in fp32, then G in the compute dtype), dL/dh of the chunk is written and dL/dW is
// accumulated in fp32. Only one chunk of logits is ever alive, instead of the [N, V] logits, their
// fp32 copy, the log-softmax kept for backward and its gradient. Backward multiplies the stored
// dL/dh and dL/dW by the incoming scalar gradient and returns them in the inputs' dtypes.
//
// Compute dtype: custom autograd Functions get no autocast casts, so under autocast for the
// inputs' device the GEMMs run in autocast's dtype (bf16 on CUDA, as the LM head's matmul would);
// otherwise in the inputs' dtype. Ignored tokens contribute nothing (zero rows of G, zero dL/dh).
#pragma once

#include <ATen/Tensor.h>

#include "model/loss.h"

namespace ember::model::kernels {

/// Token rows per chunk: 8192 x a 128k vocabulary is 1G logits per chunk (one micro-batch of 4 x
/// 2048 in a single chunk, so dL/dW is written once).
constexpr int64_t kDefaultLossChunkTokens = 8192;

/// Sum over non-ignored tokens of -log softmax(hidden @ weight^T)[target], as a 0-dim fp32 tensor
/// (0 when every target is ignored); differentiable in hidden and weight (see the top of this
/// file). hidden [N, d], weight [V, d], targets [N] int64.
at::Tensor fused_linear_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                      int64_t ignore_index = kIgnoreIndex,
                                      int64_t chunk_tokens = kDefaultLossChunkTokens);

}  // namespace ember::model::kernels
