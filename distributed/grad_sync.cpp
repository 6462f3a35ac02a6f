// tp partial sums, bucketed dp all-reduce and the logical gradient norm (see grad_sync.h).
#include "distributed/grad_sync.h"

#include <algorithm>
#include <set>

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>

#include "core/error.h"

namespace ember::distributed {

void sum_partial_grads_over_tp(const NamedTensors& parameters, const ParallelLayout& layout) {
  if (layout.tp_partial_grads.empty() || layout.tp->size() == 1) return;
  const std::set<std::string> partial(layout.tp_partial_grads.begin(), layout.tp_partial_grads.end());
  c10::NoGradGuard no_grad;
  for (const auto& [name, parameter] : parameters) {
    if (!partial.count(name)) continue;
    if (!parameter.grad().defined()) parameter.mutable_grad() = at::zeros_like(parameter);
    layout.tp->all_reduce(parameter.grad(), ReduceOp::sum);
  }
}

DataParallelGrads::DataParallelGrads(const NamedTensors& parameters, std::shared_ptr<Communicator> dp,
                                     double bucket_mb)
    : dp_(std::move(dp)) {
  const int64_t cap = std::max<int64_t>(1, int64_t(bucket_mb * 1024.0 * 1024.0));
  int64_t bytes = 0;
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const at::Tensor& p = it->second;
    if (!p.requires_grad()) continue;
    const int64_t p_bytes = p.numel() * int64_t(p.element_size());
    const bool fits = !buckets_.empty() && bytes + p_bytes <= cap &&
                      buckets_.back().parameters.front().scalar_type() == p.scalar_type() &&
                      buckets_.back().parameters.front().device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().parameters.push_back(p);
    buckets_.back().numel += p.numel();
    bytes += p_bytes;
  }
}

void DataParallelGrads::all_reduce() {
  if (dp_->size() == 1) return;
  c10::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    const auto& first = bucket.parameters.front();
    if (!bucket.flat.defined()) bucket.flat = at::empty({bucket.numel}, first.options());
    int64_t offset = 0;
    for (const auto& p : bucket.parameters) {
      auto slice = bucket.flat.narrow(0, offset, p.numel());
      if (p.grad().defined()) {
        slice.copy_(p.grad().reshape({-1}));
      } else {
        slice.zero_();
      }
      offset += p.numel();
    }
    dp_->all_reduce(bucket.flat, ReduceOp::sum);
    offset = 0;
    for (const auto& p : bucket.parameters) {
      auto slice = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(slice);
      } else {
        p.mutable_grad() = slice.clone();
      }
      offset += p.numel();
    }
  }
}

at::Tensor global_grad_norm(const NamedTensors& grads, const Mesh& mesh, const ParallelLayout& layout,
                            bool dp_partitioned) {
  at::Tensor squares;
  for (const auto& [name, grad] : grads) {
    if (!grad.defined()) continue;
    auto it = layout.shards.find(name);
    if (it == layout.shards.end()) fail("global_grad_norm: '{}' is not a parameter of the parallel model", name);
    // A replicated parameter's gradient is the same on every tp rank: count it on tp rank 0 only.
    if (it->second.replicated() && mesh.tp_rank != 0) continue;
    auto sq = grad.detach().to(at::kFloat).square().sum();
    squares = squares.defined() ? squares + sq : sq;
  }
  if (!squares.defined()) {
    // Nothing to count on this rank; the collectives below still need its (zero) part.
    at::Device device(at::kCPU);
    for (const auto& item : grads) {
      if (item.second.defined()) device = item.second.device();
    }
    squares = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
  }
  squares = squares.reshape({1});
  mesh.tp_group->all_reduce(squares, ReduceOp::sum);
  if (dp_partitioned) mesh.dp_group->all_reduce(squares, ReduceOp::sum);
  return squares.sqrt().reshape({});
}

}  // namespace ember::distributed
