// Fused input projections: the q, k and v projections of attention as one GEMM, and the gate and up
// projections of the SwiGLU MLP as another, without changing the parameters (names, shapes,
// checkpoints stay those of the separate Projection modules). The weights are concatenated at
// forward time (under autocast from their cached bf16 casts, so one cheap copy per forward) and the
// output is split; autograd carries the gradients back through the concatenation. Against three
// (two) separate projections this reads and casts the input once instead of three (two) times, sums
// one input gradient instead of three (two), and replaces the small k / v GEMMs (C -> K*d) by a
// single large one; the packed gate|up output feeds the packed SwiGLU kernel (fused_kernels.h)
// without a copy. Same maths: each output element is the same dot product (float reassociation in
// the GEMM aside).
//
// Applies on CUDA only (the launches and casts it saves are what costs there), to plain Projection
// modules only (not the column-parallel subclasses of distributed/parallelize), with the fused
// kernels switch (train.fused_kernels) on and its own switch (train.fused_projections) on.
#pragma once

#include <initializer_list>

#include <ATen/Tensor.h>

#include "model/layers.h"

namespace ember::model {

/// The process-wide switch (default on), applied by setup_runtime from train.fused_projections.
void set_fused_projections_enabled(bool enabled);
bool fused_projections_enabled();

/// True when both switches are on, x is a CUDA tensor, every module is a plain GEMM
/// (ProjectionImpl::plain_gemm) reading x's feature size, and either all or none have a bias.
bool fused_projections_apply(const at::Tensor& x, std::initializer_list<const ProjectionImpl*> projections);

/// x [..., C] -> [..., sum of out_features]: x (W_1; W_2; ...)^T (+ (b_1; b_2; ...)), the outputs of
/// the projections side by side in the given order. Works on any device (the CPU tests use it).
at::Tensor fused_projection(const at::Tensor& x, std::initializer_list<const ProjectionImpl*> projections);

}  // namespace ember::model
