// Data-parallel gradient sums (buckets, missing gradients, blocking and overlapped with backward:
// equal to each other bit for bit and to one process over several accumulated steps, with buckets
// really launched from backward) and ZeRO-1 (partition, reduce-scatter, update of the owned pieces,
// all-gather, optimizer-state conversion, memory report) over the whole world as the dp group.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include <ATen/TensorOperators.h>
#include <ATen/ops/full.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

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
  for (bool overlap : {false, true}) {
    for (double bucket_mb : {1e-5, 25.0}) {
      auto parameters = make_parameters();
      DataParallelGrads grads(parameters, dp, bucket_mb, overlap);
      EXPECT_EQ(grads.bucket_count(), bucket_mb < 1 ? 3 : 1);
      // One backward produces grad_on(...) for every parameter but b.bias on rank 0 (a parameter
      // unused on that rank).
      grads.begin_last_micro_batch();
      at::Tensor loss;
      for (size_t i = 0; i < parameters.size(); ++i) {
        if (i == 1 && r == 0) continue;
        auto term = (parameters[i].second * grad_on(parameters[i].second, i, r)).sum();
        loss = loss.defined() ? loss + term : term;
      }
      loss.backward();
      grads.finish();
      for (size_t i = 0; i < parameters.size(); ++i) {
        EXPECT_FALSE(torch::autograd::impl::post_acc_grad_hooks(parameters[i].second));  // removed
        auto expected = grad_sum(parameters[i].second, i, p);
        if (i == 1 && p > 1) expected = expected - grad_on(parameters[i].second, i, 0);
        if (i == 1 && p == 1) continue;  // one rank without a gradient: nothing to sum, none appears
        EXPECT_TRUE(parameters[i].second.grad().allclose(expected, 1e-12))
            << parameters[i].first << " overlap " << overlap;
      }
    }
  }
}

// A small model of plain leaf tensors: y = w3 tanh(w2 tanh(x w1 + b1) + b2) (+ x extra on the second
// half of the global batch only, so some dp ranks never use it); `unused` never gets a gradient.
// Registered first, extra and unused land in the last buckets.
constexpr int64_t kRows = 16, kMicroBatches = 2, kSteps = 3;

NamedTensors mlp_parameters() {
  NamedTensors parameters;
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"unused", {3}}, {"extra", {6, 1}}, {"w1", {6, 16}}, {"b1", {16}},
      {"w2", {16, 16}}, {"b2", {16}}, {"w3", {16, 1}}};
  for (size_t i = 0; i < shapes.size(); ++i) {
    parameters.emplace_back(shapes[i].first, same_everywhere(shapes[i].second, 40 + i).mul_(0.5).requires_grad_(true));
  }
  return parameters;
}

struct Run {
  std::vector<double> losses;
  NamedTensors parameters;
  int64_t launched_in_backward = 0;
  int64_t buckets = 0;
};

/// kSteps SGD steps on the global batch of kRows rows: this rank takes its 1/size of the rows in
/// kMicroBatches micro-batches, each loss divided by the global row count, as the trainer does.
Run train(const std::shared_ptr<Communicator>& dp, bool overlap, double bucket_mb) {
  Run run{{}, mlp_parameters(), 0, 0};
  std::map<std::string, at::Tensor> w;
  for (const auto& [name, tensor] : run.parameters) w[name] = tensor;
  DataParallelGrads grads(run.parameters, dp, bucket_mb, overlap);
  run.buckets = grads.bucket_count();
  const int64_t rows = kRows / dp->size(), micro = rows / kMicroBatches;
  for (int64_t step = 0; step < kSteps; ++step) {
    auto x = same_everywhere({kRows, 6}, 900 + uint64_t(step)), y = same_everywhere({kRows, 1}, 800 + uint64_t(step));
    for (auto& item : run.parameters) item.second.mutable_grad() = at::Tensor();
    auto total = at::zeros({1}, at::TensorOptions().dtype(at::kDouble));
    for (int64_t m = 0; m < kMicroBatches; ++m) {
      const int64_t first = dp->rank() * rows + m * micro;
      auto xs = x.narrow(0, first, micro), ys = y.narrow(0, first, micro);
      auto out = at::tanh(at::tanh(xs.mm(w["w1"]) + w["b1"]).mm(w["w2"]) + w["b2"]).mm(w["w3"]);
      if (first >= kRows / 2) out = out + xs.mm(w["extra"]);
      if (m + 1 == kMicroBatches) grads.begin_last_micro_batch();
      auto loss = (out - ys).square().sum() / double(kRows);
      loss.backward();
      total += loss.detach();
    }
    grads.finish();
    run.launched_in_backward = std::max(run.launched_in_backward, grads.launched_in_backward());
    dp->all_reduce(total);
    run.losses.push_back(total.item<double>());
    c10::NoGradGuard no_grad;
    for (auto& item : run.parameters) {
      if (item.second.grad().defined()) item.second.sub_(item.second.grad() * 0.3);
    }
  }
  return run;
}

TEST(DataParallelGrads, OverlapEqualsBlockingAndOneProcessOverAccumulatedSteps) {
  auto dp = world();
  const auto one_process = train(make_solo_communicator("dp"), false, 25.0);
  for (double bucket_mb : {1e-5, 25.0}) {
    const auto blocking = train(dp, false, bucket_mb);
    const auto overlapped = train(dp, true, bucket_mb);
    for (int64_t step = 0; step < kSteps; ++step) {
      EXPECT_EQ(overlapped.losses[size_t(step)], blocking.losses[size_t(step)]) << "step " << step;
      const double reference = one_process.losses[size_t(step)];
      EXPECT_NEAR(overlapped.losses[size_t(step)], reference, 1e-5 * reference) << "step " << step;
    }
    for (size_t i = 0; i < one_process.parameters.size(); ++i) {
      const auto& name = one_process.parameters[i].first;
      EXPECT_TRUE(overlapped.parameters[i].second.equal(blocking.parameters[i].second)) << name;
      EXPECT_TRUE(overlapped.parameters[i].second.allclose(one_process.parameters[i].second, 1e-10, 1e-12)) << name;
    }
    // Tiny buckets (one per parameter): w3 ... w1 launch while backward still runs, and so does
    // extra on the ranks that use it; unused waits for finish().
    if (dp->size() > 1 && bucket_mb < 1) {
      EXPECT_EQ(overlapped.buckets, 7);
      EXPECT_GE(overlapped.launched_in_backward, 5);
      EXPECT_LT(overlapped.launched_in_backward, 7);
    } else {
      EXPECT_EQ(overlapped.launched_in_backward, 0);
    }
    EXPECT_EQ(blocking.launched_in_backward, 0);
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
