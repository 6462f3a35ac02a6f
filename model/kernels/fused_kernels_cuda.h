// CUDA kernels behind the fused RMSNorm, RoPE and SwiGLU of fused_kernels.h (the maths is there),
// for fp32, bf16 and fp16 CUDA tensors with fp32 arithmetic inside. These are the raw forward and
// backward launches; the autograd Functions in fused_kernels.cpp call them for CUDA tensors. Every
// launch runs on the current CUDA stream; the reductions have a fixed order (deterministic).
// Compiled only when the build has CUDA (EMBER_HAVE_CUDA).
//
// Dtypes follow the composite ATen reference ops (reference_ops.h) exactly (eager type promotion):
//   RMSNorm: x in X, weight in W (fp32 or X), y in promote(X, W); xhat = x * r is rounded to X
//            before the weight multiplies it, and in backward dy * weight is rounded to X, as the
//            composite's .to(x.dtype) does; dx in X, dweight in W.
//   RoPE:    x in X, cos / sin in C (fp32 or X), y in promote(X, C); dx in X.
//   SwiGLU:  gate and up in one dtype, h and both gradients in it too.
#pragma once

#include <utility>

#include <ATen/Tensor.h>

namespace ember::model::kernels::fused_cuda {

/// x [..., C] whose memory is a sequence of rows of C contiguous elements (see rms_rows_layout in
/// fused_kernels.cpp), weight [C] -> {y with x's strides, rstd [rows] fp32}.
std::pair<at::Tensor, at::Tensor> rms_norm_forward(const at::Tensor& x, const at::Tensor& weight, double eps);

/// dy with x's strides -> {dx with x's strides, dweight [C] in weight's dtype}.
std::pair<at::Tensor, at::Tensor> rms_norm_backward(const at::Tensor& dy, const at::Tensor& x, const at::Tensor& weight,
                                                    const at::Tensor& rstd);

/// The RoPE rotation of `in` [B, H, T, d] (any strides, unit last one) with cos, sin [B, 1, T, d]
/// (any strides, unit last one) into a new tensor of `out_dtype` laid out like `in`;
/// `transposed` applies the backward rotation.
at::Tensor rope(const at::Tensor& in, const at::Tensor& cos, const at::Tensor& sin, at::ScalarType out_dtype,
                bool transposed);

/// h = silu(gate) * up (contiguous) for gate and up of one shape and dtype, each either contiguous
/// or rows of unit stride evenly spaced in memory: the two halves of a packed gate|up projection
/// output [..., 2F] (fused_projections.h) are read in place.
at::Tensor swiglu_forward(const at::Tensor& gate, const at::Tensor& up);

/// dh contiguous -> dgate and dup written into the given tensors, laid out like gate (the halves of
/// one packed gradient for packed operands).
void swiglu_backward(const at::Tensor& dh, const at::Tensor& gate, const at::Tensor& up, const at::Tensor& dgate,
                     const at::Tensor& dup);

}  // namespace ember::model::kernels::fused_cuda
