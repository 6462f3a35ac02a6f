// y = x W^T (+ b) for a few rows of x (see cpu_decode_linear.h).
//
// Maths: y[r, n] = sum_k x[r, k] W[n, k] for r < R <= 8. W (N x K) is read once, two rows at a
// time; for each 16-float chunk of those rows all R rows of x (in L1: R x K floats) are
// multiplied into 2R accumulator registers, which are summed across their lanes at the end of
// the rows. The next pair of rows is prefetched while this one streams. Threads split the rows of
// W (at::parallel_for), so each output is one thread's sum: deterministic for any thread count.
// AVX-512 only (the x86-64 machines this targets); elsewhere at::linear runs.
#include "model/kernels/cpu_decode_linear.h"

#include <algorithm>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EMBER_DECODE_LINEAR_AVX512 1
#else
#define EMBER_DECODE_LINEAR_AVX512 0
#endif

namespace ember::model::kernels {

namespace {

#if EMBER_DECODE_LINEAR_AVX512

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

// GCC 12's _mm512_reduce_add_ps (avx512fintrin.h) trips -Wmaybe-uninitialized on its own
// temporaries once inlined here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/// y[r, n] for r < R and W rows n in [n_begin, n_end): pairs of rows, then a single last row.
template <int R>
__attribute__((target("avx512f,fma"))) void rows_times_weight(const float* __restrict x, const float* __restrict w,
                                                                int64_t k, int64_t n_begin, int64_t n_end,
                                                                float* __restrict y, int64_t ldy) {
  const int64_t full = k & ~int64_t(15);
  const auto tail = static_cast<__mmask16>((1u << (k - full)) - 1u);
  int64_t n = n_begin;
  for (; n + 2 <= n_end; n += 2) {
    const float* w0 = w + n * k;
    const float* w1 = w0 + k;
    __m512 a0[R], a1[R];
    for (int r = 0; r < R; ++r) a0[r] = _mm512_setzero_ps(), a1[r] = _mm512_setzero_ps();
    for (int64_t j = 0; j < full; j += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(w0 + 2 * k + j), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(w1 + 2 * k + j), _MM_HINT_T0);
      const __m512 v0 = _mm512_loadu_ps(w0 + j), v1 = _mm512_loadu_ps(w1 + j);
      for (int r = 0; r < R; ++r) {
        const __m512 xr = _mm512_loadu_ps(x + r * k + j);
        a0[r] = _mm512_fmadd_ps(xr, v0, a0[r]);
        a1[r] = _mm512_fmadd_ps(xr, v1, a1[r]);
      }
    }
    if (tail) {
      const __m512 v0 = _mm512_maskz_loadu_ps(tail, w0 + full), v1 = _mm512_maskz_loadu_ps(tail, w1 + full);
      for (int r = 0; r < R; ++r) {
        const __m512 xr = _mm512_maskz_loadu_ps(tail, x + r * k + full);
        a0[r] = _mm512_fmadd_ps(xr, v0, a0[r]);
        a1[r] = _mm512_fmadd_ps(xr, v1, a1[r]);
      }
    }
    for (int r = 0; r < R; ++r) {
      y[r * ldy + n] = _mm512_reduce_add_ps(a0[r]);
      y[r * ldy + n + 1] = _mm512_reduce_add_ps(a1[r]);
    }
  }
  if (n < n_end) {  // an odd last row
    const float* w0 = w + n * k;
    __m512 a0[R];
    for (int r = 0; r < R; ++r) a0[r] = _mm512_setzero_ps();
    for (int64_t j = 0; j < full; j += 16) {
      const __m512 v0 = _mm512_loadu_ps(w0 + j);
      for (int r = 0; r < R; ++r) a0[r] = _mm512_fmadd_ps(_mm512_loadu_ps(x + r * k + j), v0, a0[r]);
    }
    if (tail) {
      const __m512 v0 = _mm512_maskz_loadu_ps(tail, w0 + full);
      for (int r = 0; r < R; ++r) a0[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + r * k + full), v0, a0[r]);
    }
    for (int r = 0; r < R; ++r) y[r * ldy + n] = _mm512_reduce_add_ps(a0[r]);
  }
}

#pragma GCC diagnostic pop

using RowsKernel = void (*)(const float*, const float*, int64_t, int64_t, int64_t, float*, int64_t);

RowsKernel kernel_for(int64_t rows) {
  static constexpr RowsKernel kernels[kMaxDecodeLinearRows] = {
      rows_times_weight<1>, rows_times_weight<2>, rows_times_weight<3>, rows_times_weight<4>,
      rows_times_weight<5>, rows_times_weight<6>, rows_times_weight<7>, rows_times_weight<8>};
  return kernels[rows - 1];
}

#else

bool cpu_has_avx512() { return false; }

#endif

/// Whether the kernel implements these operands (the predicate below without the policy).
bool implements(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  auto cpu_fp32 = [](const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat; };
  if (at::GradMode::is_enabled() || !cpu_has_avx512()) return false;
  if (!x.defined() || !weight.defined() || !cpu_fp32(x) || !cpu_fp32(weight)) return false;
  if (weight.dim() != 2 || !weight.is_contiguous() || x.dim() < 1 || x.size(-1) != weight.size(1)) return false;
  if (weight.size(0) == 0 || weight.size(1) == 0) return false;
  const int64_t rows = x.numel() / weight.size(1);
  if (rows < 1 || rows > kMaxDecodeLinearRows) return false;
  return !bias.defined() || (cpu_fp32(bias) && bias.dim() == 1 && bias.size(0) == weight.size(0));
}

}  // namespace

bool cpu_decode_linear_applies(const KernelPolicy& policy, const at::Tensor& x, const at::Tensor& weight,
                               const at::Tensor& bias) {
  return policy.fused_kernels && implements(x, weight, bias);
}

at::Tensor cpu_decode_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(implements(x, weight, bias), "cpu_decode_linear: inputs it does not take: x ",
              x.sizes(), " ", x.scalar_type(), ", weight ", weight.sizes(), " ", weight.scalar_type());
  const int64_t k = weight.size(1), n = weight.size(0), rows = x.numel() / k;
  auto sizes = x.sizes().vec();
  sizes.back() = n;
  auto y = at::empty(sizes, x.options());
#if EMBER_DECODE_LINEAR_AVX512
  const auto input = x.contiguous();
  const float *xp = input.const_data_ptr<float>(), *wp = weight.const_data_ptr<float>();
  float* yp = y.mutable_data_ptr<float>();
  const RowsKernel kernel = kernel_for(rows);
  // Pairs of weight rows per task; 32 pairs of 512 floats are 128 kB of W.
  const int64_t pairs = (n + 1) / 2;
  at::parallel_for(0, pairs, 32, [&](int64_t begin, int64_t end) {
    kernel(xp, wp, k, 2 * begin, std::min(n, 2 * end), yp, n);
  });
  if (bias.defined()) y.add_(bias);
#endif
  return y;
}

}  // namespace ember::model::kernels
