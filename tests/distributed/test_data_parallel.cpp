// Data-parallel gradient sums (buckets, missing gradients) and ZeRO-1 (partition, reduce-scatter,
// update of the owned pieces, all-gather, optimizer-state conversion, memory report) over the whole
// world as the dp group.
#include <gtest/gtest.h>

#include <ATen/TensorOperators.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>

#include "distributed/grad_sync.h"
#include "distributed/zero1.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

using testing::same_everywhere;
using testing::world;

/// Three parameters of odd sizes (so ZeRO shards cut through them), fp64.
NamedTensors make_parameters() {
  NamedTensors parameters;
  parameters.emplace_back("a.weight", same_everywhere({3, 5}, 1).requires_grad_(true));
  parameters.emplace_back("b.bias", same_everywhere({7}, 2).requires_grad_(true));
  parameters.emplace_back("c.weight", same_everywhere({2, 2, 3}, 3).requires_grad_(true));
  return parameters;
}

/// Gradient of parameter i on rank r, and its sum over ranks.
at::Tensor grad_on(const at::Tensor& p, size_t i, int r) { return same_everywhere(p.sizes(), 100 * (i + 1) + uint64_t(r)); }
at::Tensor grad_sum(const at::Tensor& p, size_t i, int ranks) {
  auto total = grad_on(p, i, 0);
  for (int r = 1; r < ranks; ++r) total = total + grad_on(p, i, r);
  return total;
}

TEST(DataParallelGrads, SumsInBucketsAndTreatsMissingGradientsAsZero) {
  auto dp = world();
  const int p = dp->size(), r = dp->rank();
  for (double bucket_mb : {1e-5, 25.0}) {
    auto parameters = make_parameters();
    for (size_t i = 0; i < parameters.size(); ++i) {
      // Rank 0 never produced a gradient for b.bias (an unused parameter on that rank).
      if (i == 1 && r == 0) continue;
      parameters[i].second.mutable_grad() = grad_on(parameters[i].second, i, r);
    }
    DataParallelGrads grads(parameters, dp, bucket_mb);
    EXPECT_EQ(grads.bucket_count(), bucket_mb < 1 ? 3 : 1);
    grads.all_reduce();
    for (size_t i = 0; i < parameters.size(); ++i) {
      auto expected = grad_sum(parameters[i].second, i, p);
      if (i == 1 && p > 1) expected = expected - grad_on(parameters[i].second, i, 0);
      if (i == 1 && p == 1) continue;  // one rank without a gradient: nothing to sum, none appears
      EXPECT_TRUE(parameters[i].second.grad().allclose(expected, 1e-12)) << parameters[i].first;
    }
  }
}

TEST(Zero1, StepOnPiecesEqualsStepOnSummedGradients) {
  auto dp = world();
  const int p = dp->size(), r = dp->rank();
  auto parameters = make_parameters();
  std::vector<at::Tensor> before;
  for (size_t i = 0; i < parameters.size(); ++i) {
    before.push_back(parameters[i].second.detach().clone());
    parameters[i].second.mutable_grad() = grad_on(parameters[i].second, i, r);
  }
  Zero1 zero(parameters, dp);
  int64_t owned = 0;
  for (const auto& piece : zero.pieces()) owned += piece.length;
  auto owned_total = at::full({1}, double(owned), at::TensorOptions().dtype(at::kDouble));
  dp->all_reduce(owned_total);
  EXPECT_EQ(owned_total.item<double>(), 15 + 7 + 12);  // the pieces partition every element once

  zero.reduce_scatter_grads();
  for (const auto& item : parameters) EXPECT_EQ(item.second.grad().abs().sum().item<double>(), 0.0);
  const double lr = 0.5;
  {
    c10::NoGradGuard no_grad;
    for (const auto& piece : zero.pieces()) piece.tensor.sub_(piece.tensor.grad() * lr);  // SGD on the pieces
  }
  zero.all_gather_params();
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto expected = before[i] - lr * grad_sum(parameters[i].second, i, p);
    EXPECT_TRUE(parameters[i].second.allclose(expected, 1e-12)) << parameters[i].first;
  }

  // Gradient norm over the partition equals the norm of the summed gradients.
  ParallelLayout layout;
  layout.tp = make_solo_communicator("tp");
  for (const auto& item : parameters) layout.shards[item.first].full_shape = item.second.sizes().vec();
  auto mesh = Mesh::over(dp, 0, 1);
  double squares = 0;
  for (size_t i = 0; i < parameters.size(); ++i) squares += grad_sum(parameters[i].second, i, p).square().sum().item<double>();
  EXPECT_NEAR(global_grad_norm(zero.piece_grads(), mesh, layout, true).item<double>(), std::sqrt(squares), 1e-5);
}

TEST(Zero1, OptimizerStateRoundTripsThroughLogicalTensors) {
  auto dp = world();
  auto parameters = make_parameters();
  Zero1 zero(parameters, dp);
  std::map<std::string, at::Tensor> logical;
  for (size_t i = 0; i < parameters.size(); ++i) {
    logical[parameters[i].first + ".exp_avg"] = same_everywhere(parameters[i].second.sizes(), 500 + i);
  }
  auto pieces = zero.scatter_state(logical, {".exp_avg"});
  EXPECT_EQ(pieces.size(), zero.pieces().size());
  auto back = zero.gather_state(pieces, {".exp_avg"});
  for (const auto& [name, tensor] : logical) EXPECT_TRUE(back.at(name).equal(tensor)) << name;

  auto memory = zero.memory();
  EXPECT_EQ(memory.optimizer_bytes_unsharded, 2 * 34 * 4);
  EXPECT_LE(memory.optimizer_bytes * dp->size(), memory.optimizer_bytes_unsharded + 2 * 4 * dp->size());
  EXPECT_NE(memory.describe().find("optimizer"), std::string::npos);
}

}  // namespace
}  // namespace ember::distributed
