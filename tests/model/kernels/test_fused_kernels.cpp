// The fused CPU fp32 kernels against their reference ops (kernels/reference_ops.h), chosen by the
// kernel policy (train.fused_kernels): with fused kernels the layers run the fused autograd
// Functions, with the reference policy the reference ops (the grad_fn names tell which ran); both
// give the same outputs and gradients (1e-5), per layer and through a whole model, whose policy
// reaches every layer.
#include <string>

#include <gtest/gtest.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randn_like.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function.h>

#include "model/kernels/fused_kernels.h"
#include "model/kernels/reference_ops.h"
#include "model/layers.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "tests/model/kernels/fused_kernel_checks.h"

using namespace ember;
namespace kernels = model::kernels;
using fused_checks::kFused;
using fused_checks::kReference;
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

TEST(FusedKernels, PolicyAndOperandsDecideWhereTheyApply) {
  auto x = at::randn({2, 3});
  EXPECT_TRUE(kernels::fused_kernels_apply(kFused, x));
  EXPECT_FALSE(kernels::fused_kernels_apply(kFused, x.to(at::kBFloat16)));
  EXPECT_FALSE(kernels::fused_kernels_apply(kReference, x));
  EXPECT_FALSE(kernels::fused_rms_norm_applies(kReference, x, at::randn({3})));
  EXPECT_FALSE(kernels::fused_swiglu_applies(kReference, x, x));
  EXPECT_FALSE(kernels::fused_kernels_apply({.fused_kernels = false, .fused_projections = true}, x));
  EXPECT_TRUE(kernels::fused_rms_norm_applies(kFused, x, at::randn({3})));
  EXPECT_TRUE(kernels::fused_swiglu_applies(kFused, x, x));
  EXPECT_FALSE(kernels::fused_swiglu_applies(kFused, x, x.to(at::kDouble)));
}

TEST(FusedKernels, RmsNormMatchesItsReference) {
  at::manual_seed(0);
  auto x = at::randn({3, 37, 96});
  auto weight = at::randn({96}) * 0.2 + 1.0;
  auto dy = at::randn_like(x);
  auto f = [&](const at::Tensor& input, const kernels::KernelPolicy& policy) {
    model::RMSNorm norm(model::RMSNormOptions(96, 1e-5));
    {
      c10::NoGradGuard no_grad;
      norm->weight.copy_(weight);
    }
    return std::pair(norm->forward(input, policy), norm->weight);
  };
  expect_same(run(kFused, x, dy, f), run(kReference, x, dy, f), "RmsNormFunction");
}

TEST(FusedKernels, RopeMatchesItsReference) {
  at::manual_seed(1);
  auto base = at::randn({2, 29, 4, 32});  // [B, T, H, d]: x is the transposed view, as q and k are
  auto positions = at::arange(29, at::kLong).unsqueeze(0).expand({2, 29}) + 3;
  auto [cos, sin] = model::rope_cos_sin(positions, 32, 10000.0, at::kFloat);
  auto dy = at::randn({2, 4, 29, 32});
  auto f = [&](const at::Tensor& input, const kernels::KernelPolicy& policy) {
    return std::pair(model::apply_rope(input.transpose(1, 2), cos, sin, policy), at::Tensor());
  };
  expect_same(run(kFused, base, dy, f), run(kReference, base, dy, f), "RopeFunction");
}

TEST(FusedKernels, SwigluMatchesItsReference) {
  at::manual_seed(2);
  auto gate = at::randn({3, 11, 40}) * 3.0;
  auto up = at::randn({3, 11, 40});
  auto dy = at::randn_like(gate);
  auto f = [&](const at::Tensor& input, const kernels::KernelPolicy& policy) {  // MLPImpl::forward's choice
    auto h = kernels::fused_swiglu_applies(policy, input, up) ? kernels::fused_swiglu(input, up)
                                                              : kernels::reference_swiglu(input, up);
    return std::pair(h, at::Tensor());
  };
  expect_same(run(kFused, gate, dy, f), run(kReference, gate, dy, f), "SwigluFunction");
}

TEST(FusedKernels, WholeModelIsTheSameUnderTheReferencePolicy) {
  model::ModelConfig c{.vocab_size = 64, .d_model = 48, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_hidden = 80,
                       .max_seq_len = 32, .qk_norm = true};
  at::manual_seed(3);
  model::Transformer net(c);
  auto tokens = at::randint(64, {2, 17}, at::kLong);
  auto inputs = tokens.narrow(1, 0, 16), targets = tokens.narrow(1, 1, 16);
  const std::vector<std::string> fused_nodes{"RmsNormFunction", "RopeFunction", "SwigluFunction",
                                             "CausalAttentionFunction"};
  auto pass = [&](const kernels::KernelPolicy& policy) {
    net->set_kernel_policy(policy);
    net->zero_grad();
    auto logits = net->forward(inputs);
    const auto nodes = fused_checks::graph_nodes(logits);
    for (const auto& node : fused_nodes) {  // the policy reached every layer
      EXPECT_EQ(fused_checks::has_node(nodes, node), policy.fused_kernels) << node;
    }
    model::cross_entropy_mean(logits, targets).backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
    return std::pair(logits.detach(), grads);
  };
  auto [fused_logits, fused_grads] = pass(kFused);
  auto [composite_logits, composite_grads] = pass(kReference);
  EXPECT_LT(relative_error(fused_logits, composite_logits), 1e-5);
  for (size_t i = 0; i < fused_grads.size(); ++i) {
    EXPECT_LT(relative_error(fused_grads[i], composite_grads[i]), 1e-4) << "parameter " << i;
  }
}
