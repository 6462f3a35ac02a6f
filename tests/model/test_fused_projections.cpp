// fused_projection (model/fused_projections.h) on the CPU: the concatenated GEMM gives the separate
// projections' outputs side by side, and the same input and parameter gradients (fp32, with and
// without biases); the packed SwiGLU falls back to the halves' SwiGLU off CUDA; the fused path is
// never chosen for CPU tensors (the golden tests' path is unchanged).
#include <vector>

#include <gtest/gtest.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/silu.h>
#include <torch/csrc/autograd/autograd.h>

#include "model/fused_kernels.h"
#include "model/fused_projections.h"
#include "model/layers.h"

using namespace ember;

TEST(FusedProjections, ConcatenatedGemmMatchesSeparateProjections) {
  for (bool bias : {false, true}) {
    SCOPED_TRACE(bias ? "bias" : "no bias");
    at::manual_seed(11);
    model::Projection q(torch::nn::LinearOptions(48, 32).bias(bias)), k(torch::nn::LinearOptions(48, 16).bias(bias));
    auto x = at::randn({3, 5, 48}).requires_grad_(true);
    auto fused = model::fused_projection(x, {q.get(), k.get()});
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
  EXPECT_FALSE(model::fused_projections_apply(x, {gate.get(), up.get()}));
  auto gate_up = at::randn({4, 12});
  auto expected = at::silu(gate_up.narrow(-1, 0, 6)) * gate_up.narrow(-1, 6, 6);
  EXPECT_TRUE(at::allclose(model::fused_swiglu_packed(gate_up), expected, 1e-6, 1e-7));
}
