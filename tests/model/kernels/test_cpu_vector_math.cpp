// The vectorised loops of model/kernels/cpu_vector_math.h against scalar double-precision references:
// exp over its whole clamped range, and each loop at lengths around the 16-lane width (tails).
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "model/kernels/cpu_vector_math.h"

using namespace ember::model::kernels;

namespace {

std::vector<float> random_values(int64_t n, float low, float high, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(low, high);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

double relative(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-30); }

const int64_t kLengths[] = {1, 7, 15, 16, 17, 33, 100, 257};

}  // namespace

TEST(CpuVectorMath, ExpWithinTwoUlpOverTheRangeAndFiniteOutside) {
  double worst = 0;
  for (float x = -87.0f; x < 88.5f; x += 0.0137f) worst = std::max(worst, relative(vec::exp(x), std::exp(double(x))));
  EXPECT_LT(worst, 2.4e-7);
  EXPECT_EQ(vec::exp(0.0f), 1.0f);
  EXPECT_TRUE(std::isfinite(vec::exp(1000.0f)));
  EXPECT_GT(vec::exp(1000.0f), 1e38f);
  EXPECT_GE(vec::exp(-1000.0f), 0.0f);
  EXPECT_LT(vec::exp(-1000.0f), 1e-37f);
}

TEST(CpuVectorMath, RowLoopsMatchScalarReferences) {
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    auto x = random_values(n, -6, 6, uint32_t(n));
    auto y = random_values(n, -2, 2, uint32_t(n + 1000));
    double max_ref = -1e300, dot_ref = 0;
    for (int64_t j = 0; j < n; ++j) max_ref = std::max(max_ref, double(x[j])), dot_ref += double(x[j]) * y[j];
    EXPECT_EQ(vec::max(x.data(), n), float(max_ref));
    EXPECT_LT(std::abs(vec::dot(x.data(), y.data(), n) - dot_ref), 1e-5 * (1 + std::abs(dot_ref)) * std::sqrt(n));

    auto e = x;
    const float sum = vec::exp_shifted_sum(e.data(), n, float(max_ref));
    double sum_ref = 0;
    for (int64_t j = 0; j < n; ++j) {
      const double want = std::exp(double(x[j]) - max_ref);
      sum_ref += want;
      EXPECT_LT(std::abs(e[j] - want), 3e-7) << j;
    }
    EXPECT_LT(relative(sum, sum_ref), 1e-6);

    auto s = y;
    vec::scale(s.data(), n, 0.25f);
    for (int64_t j = 0; j < n; ++j) EXPECT_EQ(s[j], y[j] * 0.25f);

    auto dp = y;
    vec::softmax_grad(dp.data(), e.data(), 0.5f, n);
    for (int64_t j = 0; j < n; ++j) EXPECT_FLOAT_EQ(dp[j], e[j] * (y[j] - 0.5f));
  }
}

TEST(CpuVectorMath, SwigluAndItsGradientMatchScalarReferences) {
  for (int64_t n : kLengths) {
    SCOPED_TRACE(n);
    auto g = random_values(n, -12, 12, uint32_t(n)), u = random_values(n, -3, 3, uint32_t(n + 1));
    auto dh = random_values(n, -1, 1, uint32_t(n + 2));
    std::vector<float> h(static_cast<size_t>(n)), dg(h), du(h);
    vec::swiglu(g.data(), u.data(), h.data(), n);
    vec::swiglu_backward(dh.data(), g.data(), u.data(), dg.data(), du.data(), n);
    for (int64_t j = 0; j < n; ++j) {
      const double s = 1.0 / (1.0 + std::exp(-double(g[j])));
      EXPECT_NEAR(h[j], g[j] * s * u[j], 1e-6 * (1 + std::abs(g[j] * u[j]))) << j;
      EXPECT_NEAR(dg[j], dh[j] * u[j] * s * (1 + g[j] * (1 - s)), 2e-6 * (1 + std::abs(u[j] * g[j]))) << j;
      EXPECT_NEAR(du[j], dh[j] * g[j] * s, 1e-6 * (1 + std::abs(g[j]))) << j;
    }
  }
}
