// CUDA correctness: the model's forward and backward on the GPU against the CPU in fp32, a bf16
// autocast training run that learns, cached greedy generation equal on both devices, and a size-1
// NCCL communicator. Every test skips on machines without a usable GPU.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <ATen/ops/randint.h>
#include <c10/core/GradMode.h>

#include "distributed/communicator.h"
#include "distributed/nccl_communicator.h"
#include "model/generate.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "train/config.h"
#include "train/runtime.h"
#include "train/trainer.h"
#include "tests/cuda/cuda_test_util.h"

using namespace ember;
using cuda_testing::small_config;

namespace {

/// Relative max error |a - b|_max / |b|_max.
double relative_error(const at::Tensor& a, const at::Tensor& b) {
  auto bf = b.to(at::kCPU, at::kDouble);
  return (a.to(at::kCPU, at::kDouble) - bf).abs().max().item<double>() / (bf.abs().max().item<double>() + 1e-30);
}

/// Gives `gpu_model` the CPU model's weights and moves it to the GPU.
void copy_to_gpu(model::Transformer& cpu_model, model::Transformer& gpu_model) {
  {
    c10::NoGradGuard no_grad;
    auto source = cpu_model->named_parameters();
    for (auto& item : gpu_model->named_parameters()) item.value().copy_(source[item.key()]);
  }
  gpu_model->to(at::kCUDA);
}

}  // namespace

TEST(Cuda, ForwardAndBackwardMatchCpuInFp32) {
  SKIP_WITHOUT_GPU();
  at::globalContext().setAllowTF32CuBLAS(false);
  at::manual_seed(0);
  model::Transformer cpu_model(small_config(/*qk_norm=*/true));
  model::Transformer gpu_model(small_config(/*qk_norm=*/true));
  copy_to_gpu(cpu_model, gpu_model);
  auto tokens = at::randint(256, {2, 65}, at::kLong);
  auto inputs = tokens.narrow(1, 0, 64), targets = tokens.narrow(1, 1, 64);
  auto doc_ids = (at::arange(64, at::kLong) >= 40).to(at::kLong).unsqueeze(0).expand({2, 64}).contiguous();

  auto cpu_logits = cpu_model->forward(inputs, doc_ids);
  auto gpu_logits = gpu_model->forward(inputs.cuda(), doc_ids.cuda());
  EXPECT_LT(relative_error(gpu_logits, cpu_logits), 1e-4);
  model::cross_entropy_mean(cpu_logits, targets).backward();
  model::cross_entropy_mean(gpu_logits, targets.cuda()).backward();
  auto cpu_params = cpu_model->named_parameters();
  for (const auto& item : gpu_model->named_parameters()) {
    EXPECT_LT(relative_error(item.value().grad(), cpu_params[item.key()].grad()), 1e-3) << item.key();
  }
}

TEST(Cuda, Bf16AutocastTrainingLearns) {
  SKIP_WITHOUT_GPU();
  at::manual_seed(1);
  model::Transformer net(small_config(/*qk_norm=*/true));
  net->to(at::kCUDA);
  train::OptimConfig optim;
  optim.lr = 3e-3;
  optim.schedule = "constant";
  train::TrainConfig train_config;
  train::Trainer trainer(net.ptr(), optim, train_config, 30);
  auto tokens = at::randint(256, {4, 33}, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
  auto inputs = tokens.narrow(1, 0, 32), targets = tokens.narrow(1, 1, 32);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    auto result = trainer.step(1, [&](int64_t) {
      train::AutocastScope autocast(true);
      auto logits = net->forward(inputs);
      EXPECT_EQ(logits.scalar_type(), at::kBFloat16);
      return model::cross_entropy_mean(logits, targets);
    });
    ASSERT_FALSE(result.skipped);
    if (step == 0) first = result.loss;
    last = result.loss;
  }
  EXPECT_LT(last, first * 0.5) << "bf16 training did not memorise a fixed batch";
}

TEST(Cuda, GreedyGenerationMatchesCpu) {
  SKIP_WITHOUT_GPU();
  at::globalContext().setAllowTF32CuBLAS(false);
  at::manual_seed(2);
  model::Transformer cpu_model(small_config(/*qk_norm=*/true));
  model::Transformer gpu_model(small_config(/*qk_norm=*/true));
  copy_to_gpu(cpu_model, gpu_model);
  std::vector<std::vector<int64_t>> prompts = {{5, 6, 7}, {9, 10, 11, 12, 13}};
  model::GenerationOptions options;
  options.max_new_tokens = 16;
  auto cpu_out = model::generate(cpu_model, prompts, options);
  auto gpu_out = model::generate(gpu_model, prompts, options);
  ASSERT_EQ(cpu_out.size(), gpu_out.size());
  for (size_t i = 0; i < cpu_out.size(); ++i) EXPECT_EQ(cpu_out[i].token_ids, gpu_out[i].token_ids) << "prompt " << i;
}

TEST(Cuda, NcclSizeOneCommunicator) {
  SKIP_WITHOUT_GPU();
  if (!distributed::nccl_built()) GTEST_SKIP() << "built without NCCL";
  auto solo = distributed::make_solo_communicator("bootstrap");
  auto nccl = distributed::make_nccl_world(*solo, 0, nullptr);
  EXPECT_STREQ(nccl->backend(), "nccl");
  EXPECT_EQ(nccl->size(), 1);
  auto t = at::ones({1024}, at::TensorOptions().device(at::kCUDA));
  nccl->all_reduce(t);
  nccl->barrier();
  EXPECT_EQ(t.sum().item<float>(), 1024.0f);
  auto child = nccl->split(0, 0, "tp");
  EXPECT_EQ(child->size(), 1);
  EXPECT_STREQ(child->backend(), "nccl");
}
