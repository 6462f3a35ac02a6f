// Tensor-parallel mappings: the collectives that enter and leave a tensor-parallel region, as
// conjugate autograd pairs (Megatron-LM's mappings). Each is the identity when the group has one
// rank, so the single-process path runs the same code. p = group size, r = this rank.
//
// Last-dim (hidden) region, used by column / row parallel linears:
//   copy_to_tp       fwd  y = x                       bwd  dx = sum_r dy_r           (all-reduce)
//   reduce_from_tp   fwd  y = sum_r x_r  (all-reduce) bwd  dx = dy
//   scatter_to_tp    fwd  y = x[..., r-th 1/p]        bwd  dx = cat_r dy_r           (all-gather)
//   gather_from_tp   fwd  y = cat_r x_r  (all-gather) bwd  dx = dy[..., r-th 1/p]
// Why the pairs: with Y = X A and A = [A_1 .. A_p] split by columns, rank r computes Y_r = X A_r
// from the same X, so dL/dX = sum_r dL/dY_r A_r^T: the copy's backward is an all-reduce. With
// A split by rows and X = [X_1 .. X_p] by columns, Y = sum_r X_r A_r: the forward all-reduce has
// an identity backward because every rank needs the whole dL/dY.
//
// Sequence dim (dim 1 of [B, T, C]), for sequence parallelism (activations outside the tensor-
// parallel region are split over tokens instead of replicated):
//   scatter_to_sequence      fwd  y = x[:, r-th 1/p]              bwd  dx = all-gather_T(dy)
//   all_gather_sequence      fwd  y = all-gather_T(x)             bwd  dx = reduce-scatter_T(dy)
//   reduce_scatter_sequence  fwd  y = reduce-scatter_T(x)         bwd  dx = all-gather_T(dy)
// all_gather_sequence replaces copy_to_tp before a column-parallel linear (its backward sums the
// partial input gradients and keeps only this rank's tokens); reduce_scatter_sequence replaces
// reduce_from_tp after a row-parallel linear (sum the partial outputs, keep this rank's tokens).
//
// The communicator must outlive the backward pass (autograd finds it again by id).
#pragma once

#include <ATen/Tensor.h>

#include "distributed/communicator.h"

namespace ember::distributed {

/// The dim that sequence parallelism splits: tokens of [B, T, C].
constexpr int64_t kSequenceDim = 1;

at::Tensor copy_to_tp(const at::Tensor& x, Communicator& tp);
at::Tensor reduce_from_tp(const at::Tensor& x, Communicator& tp);
at::Tensor scatter_to_tp(const at::Tensor& x, Communicator& tp);
at::Tensor gather_from_tp(const at::Tensor& x, Communicator& tp);

at::Tensor scatter_to_sequence(const at::Tensor& x, Communicator& tp);
at::Tensor all_gather_sequence(const at::Tensor& x, Communicator& tp);
at::Tensor reduce_scatter_sequence(const at::Tensor& x, Communicator& tp);

/// This rank's 1/p slice of `x` along `dim` (a view); throws ember::Error when p does not divide it.
at::Tensor split_for_rank(const at::Tensor& x, int64_t dim, const Communicator& group);

}  // namespace ember::distributed
