// cpu_decode_linear (model/kernels/cpu_decode_linear.h) against at::linear in fp64: every row count it
// takes, odd and even output sizes, input sizes with and without a partial 16-float chunk, with and
// without a bias; the same results for one and two threads; Projection uses it only at inference;
// the predicate refuses what the kernel does not implement and what the policy does not allow.
#include <vector>

#include <gtest/gtest.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/randn.h>
#include <c10/core/GradMode.h>

#include "model/kernels/cpu_decode_linear.h"
#include "model/layers.h"
#include "tests/model/kernels/fused_kernel_checks.h"

using namespace ember;
namespace kernels = model::kernels;
using fused_checks::kFused;
using fused_checks::kReference;

namespace {

bool cpu_has_avx512() { return __builtin_cpu_supports("avx512f"); }

#define SKIP_WITHOUT_AVX512() \
  if (!cpu_has_avx512()) GTEST_SKIP() << "the decode kernel needs AVX-512; this CPU runs at::linear"

double max_error(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kDouble) - want).abs().max().item<double>() / std::max(want.abs().max().item<double>(), 1.0);
}

}  // namespace

TEST(CpuDecodeLinear, MatchesLinearInFp64) {
  SKIP_WITHOUT_AVX512();
  c10::NoGradGuard no_grad;
  for (int64_t rows = 1; rows <= kernels::kMaxDecodeLinearRows; ++rows) {
    for (auto [out, in] : std::vector<std::pair<int64_t, int64_t>>{{64, 32}, {33, 48}, {70, 37}, {5, 7}, {1, 16}}) {
      for (bool with_bias : {false, true}) {
        SCOPED_TRACE(testing::Message() << rows << " rows, W " << out << " x " << in << (with_bias ? ", bias" : ""));
        at::manual_seed(rows * 100 + out);
        auto x = at::randn({rows, 1, in}), w = at::randn({out, in});
        auto b = with_bias ? at::randn({out}) : at::Tensor();
        ASSERT_TRUE(kernels::cpu_decode_linear_applies(kFused, x, w, b));
        auto y = kernels::cpu_decode_linear(x, w, b);
        auto want = at::linear(x.to(at::kDouble), w.to(at::kDouble), with_bias ? b.to(at::kDouble) : at::Tensor());
        ASSERT_EQ(y.sizes(), want.sizes());
        EXPECT_LT(max_error(y, want), 1e-6);
      }
    }
  }
}

TEST(CpuDecodeLinear, SameResultsForOneAndTwoThreads) {
  SKIP_WITHOUT_AVX512();
  c10::NoGradGuard no_grad;
  auto x = at::randn({8, 512}), w = at::randn({1409, 512});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  auto one = kernels::cpu_decode_linear(x, w);
  at::set_num_threads(2);
  auto two = kernels::cpu_decode_linear(x, w);
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(one, two));
}

TEST(CpuDecodeLinear, ProjectionUsesItOnlyAtInference) {
  SKIP_WITHOUT_AVX512();
  model::Projection projection(torch::nn::LinearOptions(48, 40).bias(true));
  auto x = at::randn({4, 1, 48});
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kFused, x, projection->weight, projection->bias));  // gradients on
  auto trained = projection->project(x, kFused);
  EXPECT_TRUE(trained.requires_grad());
  c10::NoGradGuard no_grad;
  EXPECT_TRUE(kernels::cpu_decode_linear_applies(kFused, x, projection->weight, projection->bias));
  auto decoded = projection->project(x, kFused);
  EXPECT_TRUE(at::allclose(decoded, trained.detach(), 1e-5, 1e-6));
  EXPECT_TRUE(at::equal(projection->project(x, kReference), projection->forward(x)));
}

TEST(CpuDecodeLinear, RefusesWhatItDoesNotImplement) {
  c10::NoGradGuard no_grad;
  auto w = at::randn({16, 32});
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kFused, at::randn({kernels::kMaxDecodeLinearRows + 1, 32}), w));
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kFused, at::randn({2, 32}).to(at::kDouble), w.to(at::kDouble)));
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kFused, at::randn({2, 31}), w));
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kFused, at::randn({2, 16}), w.t()));  // not contiguous
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kFused, at::randn({2, 32}), w, at::randn({15})));
  EXPECT_FALSE(kernels::cpu_decode_linear_applies(kReference, at::randn({2, 32}), w));
  EXPECT_EQ(kernels::cpu_decode_linear_applies(kFused, at::randn({2, 32}), w), cpu_has_avx512());
  if (!cpu_has_avx512()) {
    EXPECT_THROW(kernels::cpu_decode_linear(at::randn({2, 32}), w), c10::Error);
  }
}
