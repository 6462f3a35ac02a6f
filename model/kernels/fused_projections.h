// Fused input projections: the q, k and v projections of attention as one GEMM, and the gate and up
// projections of the SwiGLU MLP as another, without changing the parameters (names, shapes,
// checkpoints stay those of the separate Projection modules). The weights are concatenated at
// forward time (under autocast from their cached bf16 casts, so one cheap copy per forward) and the
// output is split; autograd carries the gradients back through the concatenation. Against three
// (two) separate projections this reads and casts the input once instead of three (two) times, sums
// one input gradient instead of three (two), and replaces the small k / v GEMMs (C -> K*d) by a
// single large one; the packed gate|up output feeds the packed SwiGLU kernel (fused_kernels.h)
// without a copy. Same maths: each output element is the same dot product (float reassociation in
// the GEMM aside). The reference is the separate projections' own forwards.
//
// Applies on CUDA only (the launches and casts it saves are what costs there), when the policy
// fuses projections (train.fused_kernels and train.fused_projections), and only to slots whose
// forward is a plain GEMM (ProjectionImpl::plain_gemm): the fused GEMM bypasses each module's
// forward, so a subclass in the slot (the tensor-parallel shards of distributed/parallelize, which
// communicate and hold a part of the weight) keeps its own.
#pragma once

#include <initializer_list>

#include <ATen/Tensor.h>

#include "model/kernels/kernel_policy.h"
#include "model/layers.h"

namespace ember::model::kernels {

/// True when the policy fuses projections, x is a CUDA tensor, every module is a plain GEMM
/// (ProjectionImpl::plain_gemm) reading x's feature size, and either all or none have a bias.
bool fused_projections_apply(const KernelPolicy& policy, const at::Tensor& x,
                             std::initializer_list<const ProjectionImpl*> projections);

/// x [..., C] -> [..., sum of out_features]: x (W_1; W_2; ...)^T (+ (b_1; b_2; ...)), the outputs of
/// the projections side by side in the given order. Works on any device (the CPU tests use it).
at::Tensor fused_projection(const at::Tensor& x, std::initializer_list<const ProjectionImpl*> projections);

}  // namespace ember::model::kernels
