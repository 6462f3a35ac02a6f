// The fused CUDA RMSNorm, RoPE and SwiGLU (model/kernels/fused_kernels_cuda.cu) against their
// reference ops (model/kernels/reference_ops.h) on the same GPU tensors, forward and backward,
// through the layers under the fused and the reference kernel policy (train.fused_kernels): fp32 to
// 1e-5, bf16 and fp16 to 1e-2 (forward) and 2e-2 (gradients) of the largest magnitude, with the
// output dtype the reference's (fp32 for a bf16 input with an fp32 weight or fp32 RoPE tables, as
// under autocast). Shapes cover row counts that are not multiples of the block sizes, several
// dweight partial blocks, rows wider than 48 KiB of shared memory, transposed q / k views,
// broadcast RoPE tables and sizes the vector loads do not take. A whole model gives the same logits
// and gradients under both policies, in fp32 and under bf16 autocast (with and without QK-norm),
// where both are equally close to fp32; setup_runtime builds the policy from the config. Every test
// skips without a usable GPU.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <ATen/Context.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function.h>

#include "model/kernels/fused_kernels.h"
#include "model/kernels/reference_ops.h"
#include "model/layers.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "train/config.h"
#include "train/runtime.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/model/kernels/fused_kernel_checks.h"

using namespace ember;
using cuda_testing::gpu;
using cuda_testing::small_config;

namespace kernels = model::kernels;
using fused_checks::kFused;
using fused_checks::kReference;
using fused_checks::relative_error;
using fused_checks::run;
using fused_checks::Run;

namespace {

/// The fused run took `function`, the reference did not; same dtypes and shapes; close values.
void expect_close(const Run& fused, const Run& composite, const char* function, at::ScalarType dtype) {
  const bool exact = dtype == at::kFloat;
  const double forward_tolerance = exact ? 1e-5 : 1e-2, backward_tolerance = exact ? 1e-5 : 2e-2;
  EXPECT_NE(fused.grad_fn.find(function), std::string::npos) << fused.grad_fn;
  EXPECT_EQ(composite.grad_fn.find(function), std::string::npos) << composite.grad_fn;
  EXPECT_EQ(fused.y.scalar_type(), composite.y.scalar_type());
  EXPECT_EQ(fused.y.sizes(), composite.y.sizes());
  EXPECT_EQ(fused.dx.scalar_type(), composite.dx.scalar_type());
  EXPECT_LT(relative_error(fused.y, composite.y), forward_tolerance);
  EXPECT_LT(relative_error(fused.dx, composite.dx), backward_tolerance);
  if (composite.dparam.defined()) {
    EXPECT_EQ(fused.dparam.scalar_type(), composite.dparam.scalar_type());
    EXPECT_LT(relative_error(fused.dparam, composite.dparam), backward_tolerance);
  }
}

/// RMSNorm over the last dim of x (transposed (1, 2) first when `transposed`), weight in weight_dtype.
void check_rms_norm(std::vector<int64_t> shape, at::ScalarType dtype, at::ScalarType weight_dtype, bool transposed) {
  SCOPED_TRACE(::testing::Message() << "x " << at::IntArrayRef(shape) << " " << dtype << ", weight " << weight_dtype
                                    << (transposed ? ", transposed" : ""));
  const int64_t dim = shape.back();
  auto x = at::randn(shape, gpu(dtype)) * 2.0;
  auto weight = (at::randn({dim}, gpu(at::kFloat)) * 0.2 + 1.0).to(weight_dtype);
  auto y_shape = transposed ? x.transpose(1, 2).sizes().vec() : shape;
  auto dy = at::randn(y_shape, gpu(c10::promoteTypes(dtype, weight_dtype)));
  auto f = [&](const at::Tensor& input, const kernels::KernelPolicy& policy) {
    model::RMSNorm norm(model::RMSNormOptions(dim, 1e-5));
    norm->to(at::kCUDA, weight_dtype);
    {
      c10::NoGradGuard no_grad;
      norm->weight.copy_(weight);
    }
    return std::pair(norm->forward(transposed ? input.transpose(1, 2) : input, policy), norm->weight);
  };
  expect_close(run(kFused, x, dy, f), run(kReference, x, dy, f), "RmsNormFunction", dtype);
}

/// RoPE on the transposed view of x [B, T, H, d], tables in table_dtype for positions [table_batch, T].
void check_rope(int64_t batch, int64_t tokens, int64_t heads, int64_t d, at::ScalarType dtype,
                at::ScalarType table_dtype, int64_t table_batch) {
  SCOPED_TRACE(::testing::Message() << "x [" << batch << ", " << heads << ", " << tokens << ", " << d << "] " << dtype
                                    << ", tables " << table_dtype << " batch " << table_batch);
  auto x = at::randn({batch, tokens, heads, d}, gpu(dtype));
  auto positions = (at::arange(tokens, gpu(at::kLong)) + 5).unsqueeze(0).expand({table_batch, tokens});
  auto [cos, sin] = model::rope_cos_sin(positions, d, 10000.0, table_dtype);
  auto dy = at::randn({batch, heads, tokens, d}, gpu(c10::promoteTypes(dtype, table_dtype)));
  auto f = [&](const at::Tensor& input, const kernels::KernelPolicy& policy) {
    return std::pair(model::apply_rope(input.transpose(1, 2), cos, sin, policy), at::Tensor());
  };
  expect_close(run(kFused, x, dy, f), run(kReference, x, dy, f), "RopeFunction", dtype);
}

/// silu(gate) * up as MLPImpl::forward chooses it.
void check_swiglu(std::vector<int64_t> shape, at::ScalarType dtype) {
  SCOPED_TRACE(::testing::Message() << "gate " << at::IntArrayRef(shape) << " " << dtype);
  auto gate = at::randn(shape, gpu(dtype)) * 3.0;
  auto up = at::randn(shape, gpu(dtype));
  auto dy = at::randn(shape, gpu(dtype));
  auto f = [&](const at::Tensor& input, const kernels::KernelPolicy& policy) {
    auto h = kernels::fused_swiglu_applies(policy, input, up) ? kernels::fused_swiglu(input, up)
                                                              : kernels::reference_swiglu(input, up);
    return std::pair(h, at::Tensor());
  };
  expect_close(run(kFused, gate, dy, f), run(kReference, gate, dy, f), "SwigluFunction", dtype);
}

struct ModelPass {
  at::Tensor logits;
  std::vector<at::Tensor> grads;
};

ModelPass model_pass(model::Transformer& net, const at::Tensor& inputs, const at::Tensor& targets, bool fused,
                     bool autocast) {
  net->set_kernel_policy(fused ? kFused : kReference);
  net->zero_grad();
  at::Tensor logits, loss;
  {
    train::AutocastScope bf16(autocast);  // forward under autocast, backward outside (as the trainer)
    logits = net->forward(inputs);
    loss = model::cross_entropy_mean(logits, targets);
  }
  loss.backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
  return {logits.detach(), grads};
}

/// Relative error of the logits and the worst over the gradients.
std::pair<double, double> pass_error(const ModelPass& a, const ModelPass& b) {
  double worst = 0;
  for (size_t i = 0; i < a.grads.size(); ++i) worst = std::max(worst, relative_error(a.grads[i], b.grads[i]));
  return {relative_error(a.logits, b.logits), worst};
}

/// Logits and every gradient under the fused policy against the reference one. Under autocast also
/// against the fp32 reference: the fused path must be about as accurate as the composite one (no
/// systematic bias).
void check_model(bool qk_norm, bool autocast, double logits_tolerance, double grad_tolerance) {
  SCOPED_TRACE(::testing::Message() << (qk_norm ? "qk_norm" : "no qk_norm") << (autocast ? ", bf16 autocast" : ", fp32"));
  at::globalContext().setAllowTF32CuBLAS(false);
  at::manual_seed(7);
  model::Transformer net(small_config(qk_norm));
  net->to(at::kCUDA);
  auto tokens = at::randint(256, {3, 66}, gpu(at::kLong));
  auto inputs = tokens.narrow(1, 0, 65), targets = tokens.narrow(1, 1, 65);
  auto fused = model_pass(net, inputs, targets, true, autocast);
  auto composite = model_pass(net, inputs, targets, false, autocast);
  EXPECT_EQ(fused.logits.scalar_type(), composite.logits.scalar_type());
  const auto [logits_error, grad_error] = pass_error(fused, composite);
  EXPECT_LT(logits_error, logits_tolerance);
  auto names = net->named_parameters().keys();
  for (size_t i = 0; i < fused.grads.size(); ++i) {
    EXPECT_LT(relative_error(fused.grads[i], composite.grads[i]), grad_tolerance) << names[i];
  }
  std::cout << "fused vs composite" << (qk_norm ? " (qk_norm)" : "") << (autocast ? " bf16 autocast" : " fp32")
            << ": logits " << logits_error << ", worst gradient " << grad_error << "\n";
  if (!autocast) return;
  auto reference = model_pass(net, inputs, targets, false, false);
  const auto [fused_logits, fused_grads] = pass_error(fused, reference);
  const auto [composite_logits, composite_grads] = pass_error(composite, reference);
  std::cout << "  vs fp32: fused logits " << fused_logits << ", gradient " << fused_grads << "; composite logits "
            << composite_logits << ", gradient " << composite_grads << "\n";
  EXPECT_LT(fused_logits, 1.5 * composite_logits + 1e-3);
  EXPECT_LT(fused_grads, 1.5 * composite_grads + 1e-3);
}

}  // namespace

TEST(CudaFusedKernels, RmsNormMatchesComposite) {
  SKIP_WITHOUT_GPU();
  at::manual_seed(0);
  check_rms_norm({5, 263, 256}, at::kFloat, at::kFloat, false);       // 1315 rows: 11 dweight blocks
  check_rms_norm({2, 75, 2048}, at::kFloat, at::kFloat, false);       // 150 rows of 2048 (the 1B's norms)
  check_rms_norm({37, 16384}, at::kFloat, at::kFloat, false);         // 64 KiB of dweight partials
  check_rms_norm({2, 67, 4, 64}, at::kFloat, at::kFloat, true);       // QK-norm on the q view
  check_rms_norm({2, 67, 4, 64}, at::kBFloat16, at::kFloat, true);    // QK-norm under autocast: fp32 out
  check_rms_norm({3, 41, 2048}, at::kBFloat16, at::kFloat, false);
  check_rms_norm({3, 41, 2048}, at::kBFloat16, at::kBFloat16, false);  // a bf16 model
  check_rms_norm({7, 29, 100}, at::kHalf, at::kFloat, false);         // dim not a multiple of 32
  check_rms_norm({7, 29, 100}, at::kHalf, at::kHalf, false);
}

TEST(CudaFusedKernels, RopeMatchesComposite) {
  SKIP_WITHOUT_GPU();
  at::manual_seed(1);
  check_rope(2, 37, 4, 64, at::kFloat, at::kFloat, 2);
  check_rope(2, 37, 4, 64, at::kFloat, at::kFloat, 1);       // tables broadcast over the batch
  check_rope(2, 37, 4, 36, at::kFloat, at::kFloat, 2);       // d / 2 = 18: no 4-wide loads
  check_rope(3, 130, 8, 64, at::kBFloat16, at::kFloat, 3);   // the 1B under autocast: fp32 out
  check_rope(3, 130, 8, 64, at::kBFloat16, at::kBFloat16, 3);
  check_rope(2, 37, 4, 36, at::kBFloat16, at::kFloat, 2);
  check_rope(2, 37, 4, 128, at::kHalf, at::kHalf, 2);
}

TEST(CudaFusedKernels, SwigluMatchesComposite) {
  SKIP_WITHOUT_GPU();
  at::manual_seed(2);
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    check_swiglu({3, 37, 320}, dtype);  // vectorised
    check_swiglu({3, 37, 321}, dtype);  // odd size: scalar loads
  }
}

TEST(CudaFusedKernels, WholeModelSameUnderBothPolicies) {
  SKIP_WITHOUT_GPU();
  check_model(/*qk_norm=*/true, /*autocast=*/false, 1e-5, 1e-4);
  check_model(/*qk_norm=*/false, /*autocast=*/false, 1e-5, 1e-4);
  check_model(/*qk_norm=*/true, /*autocast=*/true, 3e-2, 5e-2);
  check_model(/*qk_norm=*/false, /*autocast=*/true, 3e-2, 5e-2);
}

TEST(CudaFusedKernels, SetupRuntimeBuildsThePolicy) {
  SKIP_WITHOUT_GPU();
  train::TrainConfig config;
  config.device = "cuda";
  config.fused_kernels = false;
  EXPECT_FALSE(train::setup_runtime(config).kernels.fused_kernels);
  config.fused_kernels = true;
  config.fused_projections = false;
  const auto runtime = train::setup_runtime(config);
  EXPECT_TRUE(runtime.kernels.fused_kernels);
  EXPECT_FALSE(runtime.kernels.fused_projections);
}
