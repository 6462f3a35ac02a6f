// Vocab-parallel cross-entropy: the loss of logits split over the vocabulary (each tp rank holds
// z[:, r V/p .. (r+1) V/p)) without ever gathering the [N, V] logits.
//
// For a token with target t and logits z over the full vocabulary V:
//   loss = log sum_j exp(z_j) - z_t = log S - (z_t - m)   with   m = max_j z_j,  S = sum_j exp(z_j - m)
// computed from three all-reduces over tp of per-rank pieces:
//   m   = max_r  max_{j in r} z_j                    (all-reduce max; a constant shift, no gradient)
//   S   = sum_r  sum_{j in r} exp(z_j - m)           (reduce_from_tp: fwd all-reduce, bwd identity)
//   z_t = sum_r  [t in r] (z_t - m)                  (reduce_from_tp; one rank holds the target)
// Every rank gets the same loss; the identity backward of reduce_from_tp hands each rank exactly
// the derivative for its own logits: dloss/dz_j = softmax_j - [j = t], for the j it holds.
// Tokens whose target is ignore_index count 0. Computed in fp32.
#pragma once

#include <ATen/Tensor.h>

#include "distributed/communicator.h"
#include "model/loss.h"

namespace ember::distributed {

/// Sum over tokens of the cross-entropy of vocab-split logits [..., V/p] against targets [...]
/// (full-vocabulary ids). With one rank this is model::cross_entropy_sum.
at::Tensor vocab_parallel_cross_entropy_sum(const at::Tensor& local_logits, const at::Tensor& targets,
                                            Communicator& tp, int64_t ignore_index = model::kIgnoreIndex);

}  // namespace ember::distributed
