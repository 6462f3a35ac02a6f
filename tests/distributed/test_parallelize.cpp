// The whole model under every layout the world allows (tp in {1, 2, 4} dividing the world, dp the
// rest; with and without sequence parallelism; tied and untied heads; GQA, QK-norm and q/k/v bias):
// the loss of the global batch, the logical gradients and their norm match one process computing the
// same batch, with the dp sum after backward or overlapped with it (bit-identical to each other).
// Plus the plan's errors and the shard layout for checkpoints.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/randint.h>

#include "core/error.h"
#include "distributed/grad_sync.h"
#include "distributed/parallelize.h"
#include "model/loss.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

constexpr int64_t kBatch = 4, kTokens = 8;

model::ModelConfig tiny_config(bool tied) {
  // init_std 0.2: large enough that every gradient is far from zero
  model::ModelConfig c{.vocab_size = 32, .d_model = 16, .n_layers = 2, .n_heads = 4, .n_kv_heads = 4, .ffn_hidden = 32,
                       .max_seq_len = kTokens, .qk_norm = true, .attn_bias = true, .tie_embeddings = tied,
                       .init_std = 0.2};
  return c;
}

model::Transformer build(const model::ModelConfig& config) {
  at::manual_seed(1234);
  return model::Transformer(config);
}

at::Tensor batch_tokens(uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randint(32, {kBatch, kTokens + 1}, generator, at::TensorOptions().dtype(at::kLong));
}

NamedTensors named_parameters(torch::nn::Module& model) {
  NamedTensors named;
  for (const auto& item : model.named_parameters()) named.emplace_back(item.key(), item.value());
  return named;
}

struct Reference {
  double loss;
  std::map<std::string, at::Tensor> grads;
  double grad_norm;
};

Reference single_process(const model::ModelConfig& config, const at::Tensor& tokens) {
  auto model = build(config);
  auto inputs = tokens.narrow(1, 0, kTokens), targets = tokens.narrow(1, 1, kTokens);
  auto loss = model::cross_entropy_sum(model->forward(inputs), targets) / double(targets.numel());
  loss.backward();
  Reference ref{loss.item<double>(), {}, 0};
  double squares = 0;
  for (const auto& item : model->named_parameters()) {
    ref.grads[item.key()] = item.value().grad();
    squares += item.value().grad().square().sum().item<double>();
  }
  ref.grad_norm = std::sqrt(squares);
  return ref;
}

void expect_layout_matches(const model::ModelConfig& config, int64_t tp, bool sequence_parallel) {
  auto world = testing::world();
  auto mesh = testing::mesh_with_tp(tp);
  auto tokens = batch_tokens(99);
  auto ref = single_process(config, tokens);

  std::map<std::string, at::Tensor> blocking_grads;  // the dp sum after backward
  for (bool overlap : {false, true}) {
    auto model = build(config);
    ParallelPlan plan = ParallelPlan::megatron();
    plan.sequence_parallel = sequence_parallel;
    auto layout = std::make_shared<ParallelLayout>(parallelize(*model, mesh, plan));
    const std::string where = "tp " + std::to_string(tp) + (sequence_parallel ? " sp" : "") +
                              (config.tie_embeddings ? " tied" : " untied") + (overlap ? " overlap" : "");

    // This dp rank's rows of the global batch; the loss is divided by the global token count. With
    // overlap the buckets (and the tp partial sums) launch from backward's gradient hooks.
    auto parameters = named_parameters(*model);
    DataParallelGrads grads(parameters, mesh.dp_group, /*bucket_mb=*/0.001, overlap, layout);
    const int64_t rows = kBatch / mesh.dp;
    auto mine = tokens.narrow(0, mesh.dp_rank * rows, rows);
    auto inputs = mine.narrow(1, 0, kTokens), targets = mine.narrow(1, 1, kTokens);
    grads.begin_last_micro_batch();
    auto loss = layout->cross_entropy_sum(model->forward(inputs), targets) / double(kBatch * kTokens);
    loss.backward();
    grads.finish();
    if (overlap && mesh.dp > 1) {
      EXPECT_GT(grads.launched_in_backward(), 0) << where;
    }

    auto total = loss.detach().reshape({1}).clone();
    mesh.dp_group->all_reduce(total);
    EXPECT_NEAR(total.item<double>(), ref.loss, 1e-5 * ref.loss) << where;

    NamedTensors named_grads;
    std::map<std::string, at::Tensor> local_grads;
    for (const auto& [name, p] : parameters) {
      named_grads.emplace_back(name, p.grad());
      local_grads[name] = p.grad();
      if (overlap) {
        EXPECT_TRUE(p.grad().equal(blocking_grads.at(name))) << where << " " << name;
      }
    }
    if (!overlap) blocking_grads = local_grads;
    auto full = layout->gather_full(local_grads);
    for (const auto& [name, g] : ref.grads) {
      ASSERT_TRUE(full.count(name)) << name;
      EXPECT_TRUE(full[name].allclose(g, 1e-4, 1e-6)) << where << " " << name << " max diff "
                                                      << (full[name] - g).abs().max().item<double>();
    }
    EXPECT_NEAR(global_grad_norm(named_grads, mesh, *layout, false).item<double>(), ref.grad_norm,
                1e-4 * ref.grad_norm)
        << where;
  }
}

TEST(Parallelize, EveryLayoutMatchesOneProcess) {
  for (bool tied : {false, true}) {
    for (int64_t tp : {1, 2, 4}) {
      if (!testing::tp_fits(tp)) continue;
      for (bool sequence_parallel : {false, true}) expect_layout_matches(tiny_config(tied), tp, sequence_parallel);
    }
  }
}

TEST(Parallelize, GroupedQueryAttentionSplitsKvHeads) {
  auto config = tiny_config(false);
  config.n_kv_heads = 2;
  for (int64_t tp : {1, 2}) {
    if (testing::tp_fits(tp)) expect_layout_matches(config, tp, false);
  }
}

TEST(Parallelize, ShardLayoutDescribesEveryParameter) {
  const int64_t tp = testing::world()->size();
  auto mesh = testing::mesh_with_tp(tp);
  auto config = tiny_config(false);
  auto reference = build(config);
  auto model = build(config);
  auto layout = parallelize(*model, mesh, ParallelPlan::megatron());
  EXPECT_EQ(layout.shards.size(), reference->named_parameters().size());
  const auto& q = layout.shards.at("model.layers.1.self_attn.q_proj.weight");
  const auto& o = layout.shards.at("model.layers.1.self_attn.o_proj.weight");
  if (tp > 1) {
    EXPECT_EQ(q.dim, 0);
    EXPECT_EQ(q.offset, mesh.tp_rank * 16 / tp);
    EXPECT_EQ(o.dim, 1);
    EXPECT_TRUE(layout.shards.at("model.norm.weight").replicated());
    EXPECT_EQ(layout.tp_partial_grads.size(), 4u);  // q_norm and k_norm of two layers
  } else {
    EXPECT_TRUE(q.replicated());
    EXPECT_TRUE(layout.tp_partial_grads.empty());
  }
  // Every layout starts from the logical weights of the seed; shard_of takes them apart again.
  std::map<std::string, at::Tensor> local;
  for (const auto& item : model->named_parameters()) local[item.key()] = item.value();
  auto full = layout.gather_full(local);
  for (const auto& item : reference->named_parameters()) {
    EXPECT_TRUE(full.at(item.key()).equal(item.value())) << item.key();
    EXPECT_TRUE(layout.shard_of(item.key(), item.value()).equal(local.at(item.key()))) << item.key();
  }
  EXPECT_THROW(layout.shard_of("model.norm.weight", at::zeros({3})), Error);
}

TEST(Parallelize, IndivisibleHeadsNameTheModelKey) {
  auto config = tiny_config(false);
  config.n_kv_heads = 2;
  auto model = build(config);
  Mesh mesh;  // the check runs before any collective, so a tp of 4 over one rank shows it
  mesh.tp = 4;
  mesh.tp_group = make_solo_communicator("tp");
  try {
    parallelize(*model, mesh, ParallelPlan::megatron());
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("model.n_kv_heads (2) must divide by parallel.tp (4)"), std::string::npos)
        << e.what();
  }
}

TEST(Parallelize, PlanPatternsMatchWholeSegments) {
  EXPECT_TRUE(plan_pattern_matches("model.layers.*.mlp.up_proj", "model.layers.12.mlp.up_proj"));
  EXPECT_FALSE(plan_pattern_matches("model.layers.*.mlp.up_proj", "model.layers.1.2.mlp.up_proj"));
  EXPECT_FALSE(plan_pattern_matches("model.layers.*", "model.layers.1.mlp"));
  EXPECT_TRUE(plan_pattern_matches("lm_head", "lm_head"));
  EXPECT_FALSE(plan_pattern_matches("lm_head", "lm_head2"));
}

}  // namespace
}  // namespace ember::distributed
