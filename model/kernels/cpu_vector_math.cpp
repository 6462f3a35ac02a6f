// Vectorised fp32 loops (see cpu_vector_math.h for the exp formula and the determinism rule).
#include "model/kernels/cpu_vector_math.h"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define EMBER_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define EMBER_VECTOR_CLONES
#endif

namespace ember::model::kernels::vec {

namespace {

constexpr int64_t kLanes = 16;  ///< partial results per reduction (one AVX-512 register of floats)

/// exp(x) for the loops: inline so each clone vectorises it with its own instructions. The
/// rounding of x / ln2 to an integer adds and subtracts 1.5 * 2^23 (no rounding instruction
/// needed); 2^n is built in the exponent bits.
inline float exp_inline(float x) {
  x = x < -87.3f ? -87.3f : (x > 88.7f ? 88.7f : x);
  constexpr float kRound = 12582912.0f;                 // 1.5 * 2^23
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;  // ln2 = hi + lo
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = (p * r) * r + r + 1.0f;
  int32_t bits;
  std::memcpy(&bits, &y, sizeof bits);
  bits += static_cast<int32_t>(n) << 23;
  std::memcpy(&y, &bits, sizeof y);
  return y;
}

}  // namespace

float exp(float x) { return exp_inline(x); }

EMBER_VECTOR_CLONES float max(const float* __restrict x, int64_t n) {
  float lanes[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) lanes[l] = x[0];
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] = x[j + l] > lanes[l] ? x[j + l] : lanes[l];
  float best = lanes[0];
  for (int64_t l = 1; l < kLanes; ++l) best = lanes[l] > best ? lanes[l] : best;
  for (; j < n; ++j) best = x[j] > best ? x[j] : best;
  return best;
}

EMBER_VECTOR_CLONES float exp_shifted_sum(float* __restrict x, int64_t n, float shift) {
  for (int64_t j = 0; j < n; ++j) x[j] = exp_inline(x[j] - shift);
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += x[j + l];
  float sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; j < n; ++j) sum += x[j];
  return sum;
}

EMBER_VECTOR_CLONES void scale(float* __restrict x, int64_t n, float factor) {
  for (int64_t j = 0; j < n; ++j) x[j] *= factor;
}

EMBER_VECTOR_CLONES void softmax_grad(float* __restrict dp, const float* __restrict p, float delta, int64_t n) {
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - delta);
}

EMBER_VECTOR_CLONES float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= n; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += a[j + l] * b[j + l];
  float sum = 0;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; j < n; ++j) sum += a[j] * b[j];
  return sum;
}

EMBER_VECTOR_CLONES void swiglu(const float* __restrict gate, const float* __restrict up, float* __restrict h,
                                int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = gate[i] / (1.0f + exp_inline(-gate[i])) * up[i];
}

EMBER_VECTOR_CLONES void swiglu_backward(const float* __restrict dh, const float* __restrict gate,
                                         const float* __restrict up, float* __restrict dgate,
                                         float* __restrict dup, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = 1.0f / (1.0f + exp_inline(-gate[i]));
    dgate[i] = dh[i] * up[i] * s * (1.0f + gate[i] * (1.0f - s));
    dup[i] = dh[i] * gate[i] * s;
  }
}

}  // namespace ember::model::kernels::vec
