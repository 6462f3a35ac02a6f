// cpu_causal_attention (model/kernels/cpu_attention.h) against its reference, reference_attention
// (LibTorch's scaled_dot_product_attention) in fp64: outputs and q / k / v gradients for one query
// block and several (T not a multiple of the block), grouped-query heads, token-major views and
// contiguous inputs, a single token, packed documents (key starts against the block-diagonal mask);
// results identical for one and two threads; the predicate refuses what the kernel does not
// implement and what the policy does not allow.
#include <algorithm>
#include <vector>

#include <gtest/gtest.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/randn.h>
#include <torch/csrc/autograd/autograd.h>

#include "model/kernels/cpu_attention.h"
#include "model/kernels/reference_ops.h"
#include "tests/model/kernels/fused_kernel_checks.h"

using namespace ember;
namespace kernels = model::kernels;
using fused_checks::kFused;

namespace {

struct Shape {
  int64_t batch, heads, kv_heads, tokens, dim;
  bool token_major;  ///< q, k, v as [B, T, H, D] memory viewed [B, H, T, D] (what the layer passes)
};

std::vector<at::Tensor> make_inputs(const Shape& s) {
  auto make = [&](int64_t heads) {
    return s.token_major ? at::randn({s.batch, s.tokens, heads, s.dim}).transpose(1, 2)
                         : at::randn({s.batch, heads, s.tokens, s.dim});
  };
  return {make(s.heads), make(s.kv_heads), make(s.kv_heads)};
}

/// Output followed by the q, k, v gradients for the output gradient dy. The reference attention is
/// causal or under `mask`; ours takes `key_start` instead of the mask.
std::vector<at::Tensor> output_and_gradients(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                             const at::Tensor& dy, bool reference, const at::Tensor& mask = {},
                                             const at::Tensor& key_start = {}) {
  auto qg = q.detach().requires_grad_(true), kg = k.detach().requires_grad_(true), vg = v.detach().requires_grad_(true);
  auto out = reference ? kernels::reference_attention(qg, kg, vg, mask)
                       : kernels::cpu_causal_attention(qg, kg, vg, key_start);
  auto grads = torch::autograd::grad({out}, {qg, kg, vg}, {dy});
  return {out, grads[0], grads[1], grads[2]};
}

/// |a - b|_max / max(|b|_max, 1): relative for the O(1) tensors here, absolute where the reference
/// is near zero (a single token's dq and dk are exactly 0 in exact arithmetic).
double max_error(const at::Tensor& a, const at::Tensor& b) {
  auto bd = b.to(at::kDouble);
  return (a.to(at::kDouble) - bd).abs().max().item<double>() / std::max(bd.abs().max().item<double>(), 1.0);
}

}  // namespace

TEST(CpuAttention, MatchesScaledDotProductAttentionInFp64) {
  const std::vector<Shape> shapes{
      {2, 3, 3, 40, 16, false},   // one query block
      {2, 3, 3, 150, 16, true},   // three blocks, the last one partial
      {1, 4, 2, 70, 32, true},    // grouped-query attention: two query heads per key/value head
      {3, 6, 1, 65, 8, false},    // multi-query attention, one row past a block
      {1, 2, 2, 1, 16, true},     // a single token
  };
  for (const auto& s : shapes) {
    SCOPED_TRACE(testing::Message() << "B " << s.batch << " H " << s.heads << " Hkv " << s.kv_heads << " T " << s.tokens
                                    << " D " << s.dim << (s.token_major ? " token-major" : " contiguous"));
    at::manual_seed(5);
    const auto in = make_inputs(s);
    ASSERT_TRUE(kernels::cpu_causal_attention_applies(kFused, in[0], in[1], in[2]));
    const auto dy = at::randn({s.batch, s.heads, s.tokens, s.dim});
    const auto ours = output_and_gradients(in[0], in[1], in[2], dy, false);
    const auto reference = output_and_gradients(in[0].to(at::kDouble), in[1].to(at::kDouble), in[2].to(at::kDouble),
                                                dy.to(at::kDouble), true);
    const char* names[] = {"output", "dq", "dk", "dv"};
    for (size_t i = 0; i < ours.size(); ++i) {
      EXPECT_EQ(ours[i].sizes(), reference[i].sizes()) << names[i];
      EXPECT_LT(max_error(ours[i], reference[i]), 2e-6) << names[i];
    }
    // The output is [B, T, H, D] memory: the output projection's view of it needs no copy.
    EXPECT_TRUE(ours[0].transpose(1, 2).is_contiguous());
  }
}

TEST(CpuAttention, DocumentStartsMatchTheBlockDiagonalMask) {
  // Row 0: documents at 0, 37, 100; row 1: at 0, 64, 65 (one token long) and 149 (the last token).
  const int64_t tokens = 150;
  std::vector<std::vector<int64_t>> boundaries{{0, 37, 100}, {0, 64, 65, 149}};
  auto key_start = at::zeros({2, tokens}, at::kLong);
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < tokens; ++i)
      for (int64_t start : boundaries[size_t(b)])
        if (start <= i) key_start[b][i] = start;
  auto index = at::arange(tokens, at::kLong);
  // mask[b, 0, i, j]: key_start[b, i] <= j <= i
  auto mask = (index.view({1, 1, tokens}) >= key_start.unsqueeze(2)) & (index.view({1, 1, tokens}) <= index.view({1, tokens, 1}));
  mask = mask.unsqueeze(1);
  const Shape s{2, 4, 2, tokens, 16, true};
  at::manual_seed(13);
  const auto in = make_inputs(s);
  const auto dy = at::randn({s.batch, s.heads, s.tokens, s.dim});
  const auto ours = output_and_gradients(in[0], in[1], in[2], dy, false, {}, key_start);
  const auto reference = output_and_gradients(in[0].to(at::kDouble), in[1].to(at::kDouble), in[2].to(at::kDouble),
                                              dy.to(at::kDouble), true, mask);
  const char* names[] = {"output", "dq", "dk", "dv"};
  for (size_t i = 0; i < ours.size(); ++i) EXPECT_LT(max_error(ours[i], reference[i]), 2e-6) << names[i];
  // Starts after the query itself are refused.
  auto bad = key_start.clone();
  bad[1][10] = 11;
  EXPECT_THROW(kernels::cpu_causal_attention(in[0], in[1], in[2], bad), c10::Error);
}

TEST(CpuAttention, SameResultsForOneAndTwoThreads) {
  const Shape s{2, 4, 2, 130, 16, true};
  at::manual_seed(9);
  const auto in = make_inputs(s);
  const auto dy = at::randn({s.batch, s.heads, s.tokens, s.dim});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = output_and_gradients(in[0], in[1], in[2], dy, false);
  at::set_num_threads(2);
  const auto two = output_and_gradients(in[0], in[1], in[2], dy, false);
  at::set_num_threads(threads);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(at::equal(one[i], two[i])) << "tensor " << i;
}

TEST(CpuAttention, RefusesWhatItDoesNotImplement) {
  auto q = at::randn({1, 4, 8, 16}), k = at::randn({1, 2, 8, 16}), v = at::randn({1, 2, 8, 16});
  EXPECT_TRUE(kernels::cpu_causal_attention_applies(kFused, q, k, v));
  EXPECT_FALSE(kernels::cpu_causal_attention_applies(kFused, q.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble)));
  EXPECT_FALSE(kernels::cpu_causal_attention_applies(kFused, q, at::randn({1, 3, 8, 16}), at::randn({1, 3, 8, 16})));
  EXPECT_FALSE(kernels::cpu_causal_attention_applies(kFused, q, at::randn({1, 2, 9, 16}), at::randn({1, 2, 9, 16})));
  EXPECT_FALSE(kernels::cpu_causal_attention_applies(kFused, q, k, at::randn({1, 2, 8, 8})));
  EXPECT_FALSE(kernels::cpu_causal_attention_applies(kFused, q.flatten(0, 1), k.flatten(0, 1), v.flatten(0, 1)));
  EXPECT_FALSE(kernels::cpu_causal_attention_applies(fused_checks::kReference, q, k, v));
  EXPECT_THROW(kernels::cpu_causal_attention(q.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble)), c10::Error);
}
