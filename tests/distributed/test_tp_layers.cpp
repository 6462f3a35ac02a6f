// Every tensor-parallel layer and the vocab-parallel loss against the single-process layer: same
// outputs, same input gradients, and each rank's weight gradient equal to its shard of the full one.
// fp64 so that comparisons are tight. The tp group is the whole world (one process: tp = 1).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/randint.h>

#include "distributed/tp_layers.h"
#include "distributed/tp_mappings.h"
#include "distributed/vocab_parallel_loss.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

using testing::same_everywhere;
using testing::world;

constexpr double kTolerance = 1e-10;

model::Projection full_linear(int64_t in, int64_t out, bool bias, uint64_t seed) {
  model::Projection layer(torch::nn::LinearOptions(in, out).bias(bias));
  layer->to(at::kDouble);
  c10::NoGradGuard no_grad;
  layer->weight.copy_(same_everywhere({out, in}, seed));
  if (bias) layer->bias.copy_(same_everywhere({out}, seed + 1));
  return layer;
}

at::Tensor part(const at::Tensor& t, int64_t dim, const Communicator& tp) { return split_for_rank(t, dim, tp); }

at::Tensor leaf(const at::Tensor& t) { return t.detach().clone().requires_grad_(true); }

TEST(TpLayers, ColumnParallelMatchesFullLinear) {
  auto tp = world();
  const int p = tp->size();
  auto full = full_linear(6, 4 * p, /*bias=*/true, 1);
  ColumnParallelLinear column(*full, TpLayerOptions{tp, false, /*gather_output=*/true});
  auto x = same_everywhere({2, 3, 6}, 3);
  auto w = same_everywhere({2, 3, 4 * p}, 4);

  auto x_full = leaf(x), x_tp = leaf(x);
  (full->forward(x_full) * w).sum().backward();
  auto y = column->forward(x_tp);
  EXPECT_TRUE(y.allclose(full->forward(x), kTolerance));
  (y * w).sum().backward();
  EXPECT_TRUE(x_tp.grad().allclose(x_full.grad(), kTolerance));
  EXPECT_TRUE(column->weight.grad().allclose(part(full->weight.grad(), 0, *tp), kTolerance));
  EXPECT_TRUE(column->bias.grad().allclose(part(full->bias.grad(), 0, *tp), kTolerance));
  EXPECT_EQ(column->weight_shard().offset, tp->rank() * 4);
}

TEST(TpLayers, ColumnThenRowMatchesTwoFullLinears) {
  for (bool sequence_parallel : {false, true}) {
    auto tp = world();
    const int p = tp->size();
    auto up = full_linear(5, 2 * p, false, 10);
    auto down = full_linear(2 * p, 5, /*bias=*/true, 20);
    ColumnParallelLinear column(*up, TpLayerOptions{tp, sequence_parallel, false});
    RowParallelLinear row(*down, TpLayerOptions{tp, sequence_parallel, false});
    // The slots communicate, so the fused projections must never merge them into one GEMM.
    EXPECT_TRUE(up->plain_gemm());
    EXPECT_FALSE(column->plain_gemm());
    EXPECT_FALSE(row->plain_gemm());
    auto x = same_everywhere({2, 2 * p, 5}, 30);
    auto w = same_everywhere({2, 2 * p, 5}, 31);

    auto x_full = leaf(x);
    auto y_full = down->forward(up->forward(x_full).tanh());
    (y_full * w).sum().backward();

    // With sequence parallelism the layers take and return this rank's tokens.
    auto x_tp = leaf(sequence_parallel ? part(x, kSequenceDim, *tp) : x);
    auto y = row->forward(column->forward(x_tp).tanh());
    auto y_expected = sequence_parallel ? part(y_full, kSequenceDim, *tp) : y_full;
    auto w_mine = sequence_parallel ? part(w, kSequenceDim, *tp) : w;
    EXPECT_TRUE(y.allclose(y_expected, kTolerance)) << "sequence parallel " << sequence_parallel;
    (y * w_mine).sum().backward();
    auto dx_expected = sequence_parallel ? part(x_full.grad(), kSequenceDim, *tp) : x_full.grad();
    EXPECT_TRUE(x_tp.grad().allclose(dx_expected, kTolerance)) << "sequence parallel " << sequence_parallel;
    EXPECT_TRUE(column->weight.grad().allclose(part(up->weight.grad(), 0, *tp), kTolerance));
    EXPECT_TRUE(row->weight.grad().allclose(part(down->weight.grad(), 1, *tp), kTolerance));
    // The row bias is replicated; with sequence parallelism each rank holds its tokens' part.
    auto bias_grad = row->bias.grad().clone();
    if (sequence_parallel) tp->all_reduce(bias_grad);
    EXPECT_TRUE(bias_grad.allclose(down->bias.grad(), kTolerance));
  }
}

TEST(TpLayers, VocabParallelEmbeddingAndTiedHead) {
  auto tp = world();
  const int p = tp->size();
  const int64_t vocab = 6 * p, dim = 4;
  model::TokenEmbedding full(vocab, dim);
  full->to(at::kDouble);
  {
    c10::NoGradGuard no_grad;
    full->weight.copy_(same_everywhere({vocab, dim}, 40));
  }
  VocabParallelEmbedding embedding(*full, TpLayerOptions{tp, false, /*gather_output=*/true});
  auto generator = at::make_generator<at::CPUGeneratorImpl>(41);
  auto ids = at::randint(vocab, {3, 5}, generator, at::TensorOptions().dtype(at::kLong));
  auto w = same_everywhere({3, 5, dim}, 42);

  auto rows = embedding->forward(ids);
  EXPECT_TRUE(rows.allclose(full->forward(ids), kTolerance));
  (rows * w).sum().backward();
  (full->forward(ids) * w).sum().backward();
  EXPECT_TRUE(embedding->weight.grad().allclose(part(full->weight.grad(), 0, *tp), kTolerance));

  auto hidden = same_everywhere({3, 5, dim}, 43);
  EXPECT_TRUE(embedding->attend(hidden).allclose(full->attend(hidden), kTolerance));
}

TEST(TpLayers, VocabParallelCrossEntropyMatchesFullLoss) {
  auto tp = world();
  const int p = tp->size();
  auto logits = same_everywhere({4, 3, 5 * p}, 50).mul(3.0);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(51);
  auto targets = at::randint(5 * p, {4, 3}, generator, at::TensorOptions().dtype(at::kLong));
  targets[0][1] = model::kIgnoreIndex;

  auto full = leaf(logits);
  auto expected = model::cross_entropy_sum(full, targets);
  expected.backward();
  auto local = leaf(part(logits, -1, *tp));
  auto loss = vocab_parallel_cross_entropy_sum(local, targets, *tp);
  EXPECT_NEAR(loss.item<double>(), expected.item<double>(), 1e-5);  // fp32 inside, as the model's loss
  loss.backward();
  EXPECT_TRUE(local.grad().allclose(part(full.grad(), -1, *tp), 1e-6));
}

}  // namespace
}  // namespace ember::distributed
