// Linear layers for decoding on the CPU: y = x W^T (+ b) in fp32 when x has only a few rows (one
// token per sequence of a generation batch). The cost is reading W once; MKL's sgemm streams W at
// about 21 GB/s for 8 rows on the development machine, this kernel at about 33 GB/s (its gemv
// reaches 50): see cpu_decode_linear.cpp. Projection and the tied LM head (model/layers.h) call it
// when cpu_decode_linear_applies, and their reference, at::linear / at::matmul, otherwise.
#pragma once

#include <ATen/Tensor.h>

#include "model/kernels/kernel_policy.h"

namespace ember::model::kernels {

/// Rows of x at most (tokens in one decode step of the whole batch).
inline constexpr int64_t kMaxDecodeLinearRows = 8;

/// True when the policy has fused kernels on, gradients are off, the CPU has AVX-512,
/// x [..., K] has at most kMaxDecodeLinearRows rows, and x, weight [N, K] (contiguous) and bias
/// [N] (optional) are fp32 CPU tensors.
bool cpu_decode_linear_applies(const KernelPolicy& policy, const at::Tensor& x, const at::Tensor& weight,
                               const at::Tensor& bias = {});

/// x W^T (+ bias): [..., K] -> [..., N], the same maths as at::linear (sums in another order).
at::Tensor cpu_decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias = {});

}  // namespace ember::model::kernels
