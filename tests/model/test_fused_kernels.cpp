// The fused-kernel switch (train.fused_kernels) on CPU fp32: on, the layers run the fused autograd
// Functions; off, the composite ATen expressions (the grad_fn names tell which ran); both paths give
// the same outputs and gradients (1e-5), per layer and through a whole model.
#include <string>

#include <gtest/gtest.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randn_like.h>
#include <ATen/ops/silu.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function.h>

#include "model/fused_kernels.h"
#include "tests/model/fused_kernel_checks.h"
#include "model/layers.h"
#include "model/loss.h"
#include "model/transformer.h"

using namespace ember;

using fused_checks::FusedSwitch;
using fused_checks::relative_error;
using fused_checks::run;
using fused_checks::Run;

namespace {

void expect_same(const Run& fused, const Run& composite, const char* function) {
  EXPECT_NE(fused.grad_fn.find(function), std::string::npos) << fused.grad_fn;
  EXPECT_EQ(composite.grad_fn.find(function), std::string::npos) << composite.grad_fn;
  EXPECT_LT(relative_error(fused.y, composite.y), 1e-5);
  EXPECT_LT(relative_error(fused.dx, composite.dx), 1e-5);
  if (composite.dparam.defined()) {
    EXPECT_LT(relative_error(fused.dparam, composite.dparam), 1e-5);
  }
}

}  // namespace

TEST(FusedKernels, SwitchControlsWhereTheyApply) {
  auto x = at::randn({2, 3});
  EXPECT_TRUE(model::fused_kernels_enabled());
  EXPECT_TRUE(model::fused_kernels_apply(x));
  EXPECT_FALSE(model::fused_kernels_apply(x.to(at::kBFloat16)));
  {
    FusedSwitch off(false);
    EXPECT_FALSE(model::fused_kernels_apply(x));
    EXPECT_FALSE(model::fused_rms_norm_applies(x, at::randn({3})));
    EXPECT_FALSE(model::fused_swiglu_applies(x, x));
  }
  EXPECT_TRUE(model::fused_rms_norm_applies(x, at::randn({3})));
  EXPECT_TRUE(model::fused_swiglu_applies(x, x));
  EXPECT_FALSE(model::fused_swiglu_applies(x, x.to(at::kDouble)));
}

TEST(FusedKernels, RmsNormSwitchOffRunsTheCompositeWithTheSameResults) {
  at::manual_seed(0);
  auto x = at::randn({3, 37, 96});
  auto weight = at::randn({96}) * 0.2 + 1.0;
  auto dy = at::randn_like(x);
  auto f = [&](const at::Tensor& input) {
    model::RMSNorm norm(model::RMSNormOptions(96, 1e-5));
    {
      c10::NoGradGuard no_grad;
      norm->weight.copy_(weight);
    }
    return std::pair(norm->forward(input), norm->weight);
  };
  expect_same(run(true, x, dy, f), run(false, x, dy, f), "RmsNormFunction");
}

TEST(FusedKernels, RopeSwitchOffRunsTheCompositeWithTheSameResults) {
  at::manual_seed(1);
  auto base = at::randn({2, 29, 4, 32});  // [B, T, H, d]: x is the transposed view, as q and k are
  auto positions = at::arange(29, at::kLong).unsqueeze(0).expand({2, 29}) + 3;
  auto [cos, sin] = model::rope_cos_sin(positions, 32, 10000.0, at::kFloat);
  auto dy = at::randn({2, 4, 29, 32});
  auto f = [&](const at::Tensor& input) {
    return std::pair(model::apply_rope(input.transpose(1, 2), cos, sin), at::Tensor());
  };
  expect_same(run(true, base, dy, f), run(false, base, dy, f), "RopeFunction");
}

TEST(FusedKernels, SwigluSwitchOffRunsTheCompositeWithTheSameResults) {
  at::manual_seed(2);
  auto gate = at::randn({3, 11, 40}) * 3.0;
  auto up = at::randn({3, 11, 40});
  auto dy = at::randn_like(gate);
  auto f = [&](const at::Tensor& input) {  // MLPImpl::forward's choice between the two
    return std::pair(model::fused_swiglu_applies(input, up) ? model::fused_swiglu(input, up) : at::silu(input) * up,
                     at::Tensor());
  };
  expect_same(run(true, gate, dy, f), run(false, gate, dy, f), "SwigluFunction");
}

TEST(FusedKernels, WholeModelIsTheSameWithTheSwitchOff) {
  model::ModelConfig c{.vocab_size = 64, .d_model = 48, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_hidden = 80,
                       .max_seq_len = 32, .qk_norm = true};
  at::manual_seed(3);
  model::Transformer net(c);
  auto tokens = at::randint(64, {2, 17}, at::kLong);
  auto inputs = tokens.narrow(1, 0, 16), targets = tokens.narrow(1, 1, 16);
  auto pass = [&](bool fused) {
    FusedSwitch scope(fused);
    net->zero_grad();
    auto logits = net->forward(inputs);
    model::cross_entropy_mean(logits, targets).backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
    return std::pair(logits.detach(), grads);
  };
  auto [fused_logits, fused_grads] = pass(true);
  auto [composite_logits, composite_grads] = pass(false);
  EXPECT_LT(relative_error(fused_logits, composite_logits), 1e-5);
  for (size_t i = 0; i < fused_grads.size(); ++i) {
    EXPECT_LT(relative_error(fused_grads[i], composite_grads[i]), 1e-4) << "parameter " << i;
  }
}
