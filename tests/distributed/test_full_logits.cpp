// Full-vocabulary logits under tensor parallelism (the plan of the RL and distillation recipes:
// vocab_parallel_loss = false, the LM head ends in gather_from_tp): every tp rank gets the
// single-process logits [B, T, V], a loss on them back-propagates to the logical gradients, and
// KV-cache generation on the sharded model (the cache holds n_kv_heads / tp heads) samples the
// single-process tokens, the same on every rank, with the same log-probs.
#include <algorithm>

#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/tensor.h>

#include "distributed/parallelize.h"
#include "model/generate.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

model::ModelConfig tiny_config(bool tied) {
  model::ModelConfig c{.vocab_size = 32, .d_model = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_hidden = 32,
                       .max_seq_len = 16, .qk_norm = true, .tie_embeddings = tied, .init_std = 0.2};
  return c;
}

model::Transformer build(const model::ModelConfig& config) {
  at::manual_seed(77);
  return model::Transformer(config);
}

ParallelPlan full_logits() {
  auto plan = ParallelPlan::megatron();
  plan.vocab_parallel_loss = false;
  return plan;
}

const std::vector<std::vector<int64_t>> kPrompts = {{1, 2, 3}, {4, 5}, {6, 7, 8, 9}, {10}};

TEST(FullLogits, ForwardAndBackwardMatchOneProcess) {
  for (int64_t tp : {1, 2}) {
    if (!testing::tp_fits(tp)) continue;
    auto mesh = testing::mesh_with_tp(tp);
    for (bool tied : {false, true}) {
      auto config = tiny_config(tied);
      auto reference = build(config);
      auto model = build(config);
      auto layout = parallelize(*model, mesh, full_logits());
      EXPECT_FALSE(layout.vocab_parallel_logits);
      auto ids = at::tensor(std::vector<int64_t>{1, 5, 9, 13, 17, 21, 25, 29}, at::kLong).view({2, 4});
      auto expected = reference->forward(ids);
      auto logits = model->forward(ids);
      ASSERT_EQ(logits.sizes(), expected.sizes());
      EXPECT_TRUE(logits.allclose(expected, 1e-5, 1e-6)) << "tp " << tp;
      // A loss on whole rows (what the divergences and token log-probs are).
      at::log_softmax(expected, -1).select(-1, 3).sum().backward();
      at::log_softmax(logits, -1).select(-1, 3).sum().backward();
      std::map<std::string, at::Tensor> local, want;
      for (const auto& item : model->named_parameters()) local[item.key()] = item.value().grad();
      for (const auto& item : reference->named_parameters()) want[item.key()] = item.value().grad();
      for (const auto& name : layout.tp_partial_grads) {
        auto g = local.at(name).clone();
        mesh.tp_group->all_reduce(g);
        local[name] = g;
      }
      auto full = layout.gather_full(local);
      for (const auto& [name, g] : want) {
        // Absolute tolerance on the gradient's scale: sharded heads change BLAS leading
        // dimensions, hence the rounding, of sums with entries up to about 10 here.
        const double scale = std::max(1.0, g.abs().max().item<double>());
        EXPECT_TRUE(full.at(name).allclose(g, 1e-4, 1e-6 * scale))
            << "tp " << tp << " " << name << ": max difference " << (full.at(name) - g).abs().max().item<double>()
            << ", gradient scale " << scale;
      }
    }
  }
}

TEST(FullLogits, ShardedGenerationSamplesTheSameTokens) {
  for (int64_t tp : {1, 2}) {
    if (!testing::tp_fits(tp)) continue;
    auto mesh = testing::mesh_with_tp(tp);
    auto config = tiny_config(false);
    auto reference = build(config);
    auto model = build(config);
    parallelize(*model, mesh, full_logits());
    model::GenerationOptions options;
    options.max_new_tokens = 6;
    options.seeds = {11, 12, 13, 14};
    options.sampling.temperature = 1.0;
    auto expected = model::generate(reference, kPrompts, options);
    auto got = model::generate(model, kPrompts, options);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].token_ids, expected[i].token_ids) << "tp " << tp << " prompt " << i;
      ASSERT_EQ(got[i].logprobs.size(), expected[i].logprobs.size());
      for (size_t t = 0; t < got[i].logprobs.size(); ++t) {
        EXPECT_NEAR(got[i].logprobs[t], expected[i].logprobs[t], 1e-5);
      }
    }
  }
}

}  // namespace
}  // namespace ember::distributed
