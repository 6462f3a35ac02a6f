// fused_projection (model/kernels/fused_projections.h) on the CPU: the concatenated GEMM gives the
// separate projections' outputs side by side, and the same input and parameter gradients (fp32,
// with and without biases); the packed SwiGLU falls back to the halves' SwiGLU off CUDA; the fused
// path is never chosen for CPU tensors (the golden tests' path is unchanged); only the plain
// Projection counts as a plain GEMM, not a subclass standing in its slot unless it says so (what
// keeps the tensor-parallel shards out of the fused GEMM, checked on a GPU in tests/cuda).
#include <vector>

#include <gtest/gtest.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/randn.h>
#include <torch/csrc/autograd/autograd.h>

#include "model/kernels/fused_kernels.h"
#include "model/kernels/fused_projections.h"
#include "model/kernels/reference_ops.h"
#include "model/layers.h"
#include "tests/model/kernels/fused_kernel_checks.h"

using namespace ember;
namespace kernels = model::kernels;

namespace {

/// A subclass in a projection slot, as the tensor-parallel layers of distributed/ are.
class SubclassedProjection : public model::ProjectionImpl {
 public:
  using model::ProjectionImpl::ProjectionImpl;
};

/// One that declares its forward a plain GEMM.
class DeclaredPlainProjection : public model::ProjectionImpl {
 public:
  using model::ProjectionImpl::ProjectionImpl;
  bool plain_gemm() const override { return true; }
};

}  // namespace

TEST(FusedProjections, ConcatenatedGemmMatchesSeparateProjections) {
  for (bool bias : {false, true}) {
    SCOPED_TRACE(bias ? "bias" : "no bias");
    at::manual_seed(11);
    model::Projection q(torch::nn::LinearOptions(48, 32).bias(bias)), k(torch::nn::LinearOptions(48, 16).bias(bias));
    auto x = at::randn({3, 5, 48}).requires_grad_(true);
    auto fused = kernels::fused_projection(x, {q.get(), k.get()});
    auto separate = at::cat({q->forward(x), k->forward(x)}, -1);
    ASSERT_EQ(fused.sizes(), separate.sizes());
    EXPECT_TRUE(at::allclose(fused, separate, 1e-5, 1e-6));
    std::vector<at::Tensor> inputs{x, q->weight, k->weight};
    if (bias) inputs.insert(inputs.end(), {q->bias, k->bias});
    auto dy = at::randn(fused.sizes());
    auto fused_grads = torch::autograd::grad({fused}, inputs, {dy});
    auto separate_grads = torch::autograd::grad({separate}, inputs, {dy});
    for (size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_TRUE(at::allclose(fused_grads[i], separate_grads[i], 1e-5, 1e-6)) << "gradient " << i;
    }
  }
}

TEST(FusedProjections, NotChosenOnCpuAndPackedSwigluFallsBack) {
  model::Projection gate(torch::nn::LinearOptions(8, 6).bias(false)), up(torch::nn::LinearOptions(8, 6).bias(false));
  auto x = at::randn({4, 8});
  EXPECT_FALSE(kernels::fused_projections_apply(fused_checks::kFused, x, {gate.get(), up.get()}));
  auto gate_up = at::randn({4, 12});
  auto expected = kernels::reference_swiglu(gate_up.narrow(-1, 0, 6), gate_up.narrow(-1, 6, 6));
  EXPECT_TRUE(at::allclose(kernels::fused_swiglu_packed(gate_up), expected, 1e-6, 1e-7));
}

TEST(FusedProjections, OnlyPlainSlotsArePlainGemms) {
  auto options = torch::nn::LinearOptions(8, 6).bias(false);
  model::Projection plain(options);
  SubclassedProjection subclassed(options);
  DeclaredPlainProjection declared(options);
  EXPECT_TRUE(plain->plain_gemm());
  EXPECT_FALSE(subclassed.plain_gemm());
  EXPECT_TRUE(declared.plain_gemm());
  model::TokenEmbedding embedding(16, 8);
  EXPECT_TRUE(embedding->plain_gemm());
}
