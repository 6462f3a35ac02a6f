// Which kernels a forward pass runs: the fast ones of this folder or the composite ATen reference
// ops (reference_ops.h) they are tested against. The policy is a value, not process state: the
// Transformer holds one (set from train.fused_kernels / train.fused_projections when a recipe builds
// or loads it, see train/runtime.h) and passes it down through every layer to each kernel's
// `*_applies(policy, ...)` predicate, so two models in one process (an RL policy and its reference,
// a teacher and its student, a test's fused and reference runs) may differ.
//
// A kernel runs when the policy allows it AND it implements the operands (device, dtype, shape);
// otherwise the layer runs the reference op, with the same maths.
#pragma once

namespace ember::model::kernels {

struct KernelPolicy {
  /// train.fused_kernels: fused RMSNorm / RoPE / SwiGLU (CPU fp32, CUDA fp32 / bf16 / fp16), the
  /// CPU causal attention and the CPU decode projections. Off: the reference ops on every device.
  bool fused_kernels = true;
  /// train.fused_projections: q/k/v and gate/up projections of plain (unsharded) slots as one GEMM
  /// each on CUDA. Takes effect only together with fused_kernels.
  bool fused_projections = true;

  /// Whether the fused q/k/v and gate/up GEMMs are allowed (both flags on).
  bool fuses_projections() const { return fused_kernels && fused_projections; }

  /// Every fast kernel off: the reference ops everywhere.
  static KernelPolicy reference() { return {.fused_kernels = false, .fused_projections = false}; }
};

}  // namespace ember::model::kernels
