// Vectorised fp32 loops for the CPU kernels (fused_kernels.cpp, cpu_attention.cpp): exp to about
// 1 ulp, the SwiGLU product and its gradient, and the pieces of a softmax row.
//
// Each loop is written so the compiler vectorises it (no aliasing, independent lanes) and, on x86
// with GCC or Clang, compiled three times - x86-64-v4 (AVX-512), x86-64-v3 (AVX2 + FMA) and the
// baseline - with the dynamic loader picking the best the CPU has (target_clones). Elsewhere the
// plain loop is compiled once. Reductions keep kLanes partial sums or maxima and combine them in a
// fixed order, so results do not depend on the clone taken or the thread count.
//
// exp(x) (Cody-Waite range reduction, degree-6 polynomial): x = n ln2 + r with |r| <= ln2 / 2,
//   exp(x) = 2^n * (1 + r + r^2 p(r)); inputs are clamped to [-87.3, 88.7] (finite, no denormals);
//   relative error below 2e-7 against std::exp.
#pragma once

#include <cstdint>

namespace ember::model::kernels::vec {

/// exp of one value: the formula the loops inline, callable on its own (the tests check it).
float exp(float x);

/// max over x[0..n), n >= 1.
float max(const float* x, int64_t n);

/// x[j] = exp(x[j] - shift) for j < n; returns their sum.
float exp_shifted_sum(float* x, int64_t n, float shift);

/// x[j] *= factor for j < n.
void scale(float* x, int64_t n, float factor);

/// The gradient of a softmax row in place: dp[j] = p[j] * (dp[j] - delta) for j < n, where
/// delta = sum_j p[j] dp[j] (the caller computes it, e.g. as dot(dO, O) in attention).
void softmax_grad(float* dp, const float* p, float delta, int64_t n);

/// sum over j < n of a[j] * b[j].
float dot(const float* a, const float* b, int64_t n);

/// SwiGLU: h = g * s * u with s = sigmoid(g) = 1 / (1 + exp(-g)).
void swiglu(const float* gate, const float* up, float* h, int64_t n);

/// Its gradient: dg = dh * u * s * (1 + g * (1 - s)),  du = dh * g * s.
void swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);

}  // namespace ember::model::kernels::vec
