// Fused RMSNorm, RoPE and SwiGLU with hand-written backward passes for the elementwise parts of a
// block. Each runs one pass over its input forward and one pass backward where the composite ATen
// version (reference_ops.h, the reference the tests compare them with) runs four to eight (and
// saves more activations).
//   CPU fp32: kernels here (fused_kernels.cpp); rows are split over at::parallel_for and every
//     reduction has a fixed order that does not depend on the thread count, so results are
//     deterministic (bit-exact resume).
//   CUDA fp32 / bf16 / fp16 (builds with CUDA): kernels in fused_kernels_cuda.cu, fp32 arithmetic
//     inside, on the current stream, deterministic too; mixed dtypes as under bf16 autocast (a bf16
//     input with an fp32 RMSNorm weight or fp32 RoPE tables) give the reference's promoted output
//     dtype, so nothing downstream changes (see fused_kernels_cuda.h).
//
// The layers (model/layers.h) call these when the fused_*_applies(policy, ...) predicate holds and
// the reference ops otherwise (other devices and dtypes, or a policy without fused kernels:
// train.fused_kernels=false, which lets a benchmark compare both paths).
#pragma once

#include <ATen/Tensor.h>

#include "model/kernels/kernel_policy.h"

namespace ember::model::kernels {

/// True when the policy has fused kernels on and x is a CPU fp32 tensor or, in builds with CUDA, a
/// CUDA fp32, bf16 or fp16 one: the device and dtype cases the fused kernels implement.
bool fused_kernels_apply(const KernelPolicy& policy, const at::Tensor& x);

/// Whether each fused op runs on these operands: fused_kernels_apply on both, one device, and the
/// second operand's dtype equal to the first's or fp32 (RMSNorm weight, RoPE tables).
bool fused_rms_norm_applies(const KernelPolicy& policy, const at::Tensor& x, const at::Tensor& weight);
bool fused_rope_applies(const KernelPolicy& policy, const at::Tensor& x, const at::Tensor& cos);
bool fused_swiglu_applies(const KernelPolicy& policy, const at::Tensor& gate, const at::Tensor& up);

/// y = weight * x * r,  r = 1 / sqrt(mean(x^2 over the last dim) + eps)   (per row)
/// backward, with g = dy * weight and xhat = x * r:
///   dx = r * (g - xhat * mean(g * xhat))          dweight = sum over rows of dy * xhat
/// x [..., C], weight [C]. Dtypes as reference_rms_norm: y = weight * (x * r).to(x.dtype) is in
/// promote(x.dtype, weight.dtype) (fp32 for a bf16 input under autocast with an fp32 weight).
at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// RoPE in the rotate_half layout (h = d / 2), for i < h:
///   y_i = x_i cos_i - x_{i+h} sin_i          y_{i+h} = x_{i+h} cos_{i+h} + x_i sin_{i+h}
/// backward (the transposed rotation):
///   dx_i = dy_i cos_i + dy_{i+h} sin_{i+h}    dx_{i+h} = dy_{i+h} cos_{i+h} - dy_i sin_i
/// x [B, H, T, d] with any strides but a unit last one; cos, sin [B, 1, T, d] (no gradient);
/// y in promote(x.dtype, cos.dtype).
at::Tensor fused_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// h = silu(g) * u = g * s * u with s = sigmoid(g); backward:
///   dg = dh * u * s * (1 + g * (1 - s))          du = dh * g * s
/// gate and up of one shape, contiguous.
at::Tensor fused_swiglu(const at::Tensor& gate, const at::Tensor& up);

/// The same SwiGLU of a packed gate|up tensor [..., 2F] (gate the first F columns, up the last F:
/// the output of the fused gate/up projection of fused_projections.h) -> [..., F]. On CUDA with a
/// contiguous input the kernels read the halves in place and write one packed gradient; elsewhere
/// fused_swiglu of the halves, or reference_swiglu when the fused kernels do not take the dtype.
/// The caller has checked the policy (the fused projections that produce gate_up need it).
at::Tensor fused_swiglu_packed(const at::Tensor& gate_up);

}  // namespace ember::model::kernels
