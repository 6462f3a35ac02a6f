// The fused LM head + cross-entropy (model/kernels/fused_linear_cross_entropy.h) on a GPU against the
// unfused path (logits, then at::cross_entropy_loss in fp32): fp32 with TF32 off to 1e-4; under
// bf16 autocast (bf16 GEMMs on both paths, fp32 master weights) to a loose tolerance, and no
// further from an fp32 reference than the unfused path is; and a whole model's loss and gradients
// through next_token_loss_sum with the switch on and off under bf16 autocast. Skipped without a GPU.
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <ATen/Context.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>

#include "model/kernels/fused_linear_cross_entropy.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "train/runtime.h"
#include "tests/model/kernels/fused_kernel_checks.h"
#include "tests/cuda/cuda_test_util.h"

using namespace ember;
using fused_checks::relative_error;

namespace {

struct Pass {
  at::Tensor loss, dhidden, dweight;
};

/// Loss and gradients of hidden [n, d] and weight [v, d] (fp32 leaves on the GPU), fused or not,
/// with or without bf16 autocast; the backward starts from 1 / n as a pretraining step's does.
Pass loss_pass(const at::Tensor& hidden0, const at::Tensor& weight0, const at::Tensor& targets, bool fused,
               bool autocast) {
  auto hidden = hidden0.clone().requires_grad_(true);
  auto weight = weight0.clone().requires_grad_(true);
  at::Tensor loss;
  {
    train::AutocastScope scope(autocast);
    loss = fused ? model::kernels::fused_linear_cross_entropy(hidden, weight, targets, model::kIgnoreIndex, 128)
                 : model::cross_entropy_sum(at::matmul(hidden, weight.t()), targets);
  }
  (loss / double(targets.size(0))).backward();
  return {loss.detach(), hidden.grad(), weight.grad()};
}

std::vector<double> errors(const Pass& a, const Pass& b) {
  return {relative_error(a.loss, b.loss), relative_error(a.dhidden, b.dhidden), relative_error(a.dweight, b.dweight)};
}

}  // namespace

TEST(CudaFusedLinearCrossEntropy, MatchesUnfusedInFp32AndUnderBf16Autocast) {
  SKIP_WITHOUT_GPU();
  at::globalContext().setAllowTF32CuBLAS(false);
  at::manual_seed(11);
  const auto options = at::TensorOptions().device(at::kCUDA);
  const int64_t n = 300, d = 64, v = 1001;  // 300 rows: chunks of 128, 128 and 44
  auto hidden = at::randn({n, d}, options);
  auto weight = at::randn({v, d}, options) * 0.2;
  auto targets = at::randint(v, {n}, options.dtype(at::kLong));
  targets.narrow(0, 0, 20).fill_(model::kIgnoreIndex);

  const auto reference = loss_pass(hidden, weight, targets, false, false);
  const auto fused32 = loss_pass(hidden, weight, targets, true, false);
  for (double e : errors(fused32, reference)) EXPECT_LT(e, 1e-4) << "fp32";

  const auto fused16 = loss_pass(hidden, weight, targets, true, true);
  const auto unfused16 = loss_pass(hidden, weight, targets, false, true);
  EXPECT_EQ(fused16.loss.scalar_type(), at::kFloat);
  EXPECT_EQ(fused16.dhidden.scalar_type(), at::kFloat);
  EXPECT_EQ(fused16.dweight.scalar_type(), at::kFloat);
  const auto vs_unfused = errors(fused16, unfused16);
  EXPECT_LT(vs_unfused[0], 1e-2);
  EXPECT_LT(vs_unfused[1], 3e-2);
  EXPECT_LT(vs_unfused[2], 3e-2);
  const auto fused_vs_fp32 = errors(fused16, reference), unfused_vs_fp32 = errors(unfused16, reference);
  for (size_t i = 0; i < 3; ++i) EXPECT_LT(fused_vs_fp32[i], 1.5 * unfused_vs_fp32[i] + 1e-3) << "term " << i;
  std::cout << "fused vs unfused, bf16 autocast: loss " << vs_unfused[0] << ", dhidden " << vs_unfused[1]
            << ", dweight " << vs_unfused[2] << "; vs fp32: fused dweight " << fused_vs_fp32[2] << ", unfused "
            << unfused_vs_fp32[2] << "\n";
}

TEST(CudaFusedLinearCrossEntropy, WholeModelSameWithSwitchOnAndOffUnderBf16Autocast) {
  SKIP_WITHOUT_GPU();
  for (bool tie : {true, false}) {
    model::ModelConfig c{.vocab_size = 512, .d_model = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                         .ffn_hidden = 128, .max_seq_len = 64, .tie_embeddings = tie};
    at::manual_seed(12);
    model::Transformer net(c);
    net->to(at::kCUDA);
    auto tokens = at::randint(512, {4, 49}, at::TensorOptions().device(at::kCUDA).dtype(at::kLong));
    auto inputs = tokens.narrow(1, 0, 48), targets = tokens.narrow(1, 1, 48);
    auto step = [&](bool fused) {
      net->zero_grad();
      at::Tensor loss;
      {
        train::AutocastScope scope(true);
        loss = model::next_token_loss_sum(*net, inputs, targets, {}, fused) / double(targets.numel());
      }
      loss.backward();
      std::vector<at::Tensor> grads;
      for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
      return std::pair(loss.detach(), grads);
    };
    auto [fused_loss, fused_grads] = step(true);
    auto [reference_loss, reference_grads] = step(false);
    EXPECT_LT(relative_error(fused_loss, reference_loss), 1e-2) << "tied " << tie;
    auto names = net->named_parameters().keys();
    for (size_t i = 0; i < fused_grads.size(); ++i) {
      EXPECT_LT(relative_error(fused_grads[i], reference_grads[i]), 5e-2) << "tied " << tie << ", " << names[i];
    }
  }
}
