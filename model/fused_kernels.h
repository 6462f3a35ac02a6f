// Fused CPU fp32 kernels with hand-written backward passes for the elementwise parts of a block:
// RMSNorm, RoPE and the SwiGLU product. Each runs one pass over its input forward and one pass
// backward where the composite ATen version runs four to eight (and saves more activations).
// Rows are split over at::parallel_for; every reduction has a fixed order that does not depend
// on the thread count, so results are deterministic (bit-exact resume).
//
// The layers (layers.h) call these when fused_kernels_apply() holds and the composite ATen
// expressions otherwise (CUDA, other dtypes, layouts the kernels do not take).
#pragma once

#include <ATen/Tensor.h>

namespace ember::model {

/// True for CPU fp32 tensors: the only case the fused kernels implement.
bool fused_kernels_apply(const at::Tensor& x);

/// y = weight * x * r,  r = 1 / sqrt(mean(x^2 over the last dim) + eps)   (per row)
/// backward, with g = dy * weight and xhat = x * r:
///   dx = r * (g - xhat * mean(g * xhat))          dweight = sum over rows of dy * xhat
/// x [..., C] contiguous, weight [C].
at::Tensor fused_rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// RoPE in the rotate_half layout (h = d / 2), for i < h:
///   y_i = x_i cos_i - x_{i+h} sin_i          y_{i+h} = x_{i+h} cos_{i+h} + x_i sin_{i+h}
/// backward (the transposed rotation):
///   dx_i = dy_i cos_i + dy_{i+h} sin_{i+h}    dx_{i+h} = dy_{i+h} cos_{i+h} - dy_i sin_i
/// x [B, H, T, d] with any strides but a unit last one; cos, sin [B, 1, T, d] (no gradient).
at::Tensor fused_rope(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

/// h = silu(g) * u = g * s * u with s = sigmoid(g); backward:
///   dg = dh * u * s * (1 + g * (1 - s))          du = dh * g * s
/// gate and up of one shape, contiguous.
at::Tensor fused_swiglu(const at::Tensor& gate, const at::Tensor& up);

}  // namespace ember::model
