// tp partial sums, bucketed dp all-reduce (blocking or overlapped with backward through
// post-accumulate-grad hooks) and the logical gradient norm (see grad_sync.h).
#include "distributed/grad_sync.h"

#include <algorithm>
#include <set>

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

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

/// The post-accumulate-grad hook of one parameter (overlap window).
class DataParallelGrads::ReadyHook : public torch::autograd::PostAccumulateGradHook {
 public:
  ReadyHook(DataParallelGrads* owner, size_t slot) : owner_(owner), slot_(slot) {}
  void operator()(const torch::autograd::Variable&) override { owner_->on_grad_ready(slot_); }

 private:
  DataParallelGrads* owner_;
  size_t slot_;
};

DataParallelGrads::DataParallelGrads(const NamedTensors& parameters, std::shared_ptr<Communicator> dp,
                                     double bucket_mb, bool overlap, std::shared_ptr<const ParallelLayout> layout)
    : dp_(std::move(dp)), layout_(std::move(layout)), overlap_(overlap && dp_->size() > 1) {
  std::set<std::string> partial;
  if (layout_ && layout_->tp->size() > 1) {
    partial.insert(layout_->tp_partial_grads.begin(), layout_->tp_partial_grads.end());
  }
  for (const auto& [name, p] : parameters) {
    if (p.requires_grad()) slots_.push_back({name, p, 0, partial.count(name) > 0, false});
  }
  const int64_t cap = std::max<int64_t>(1, int64_t(bucket_mb * 1024.0 * 1024.0));
  int64_t bytes = 0;
  for (size_t i = slots_.size(); i-- > 0;) {
    const at::Tensor& p = slots_[i].parameter;
    const int64_t p_bytes = p.numel() * int64_t(p.element_size());
    const at::Tensor* first = buckets_.empty() ? nullptr : &slots_[buckets_.back().slots.front()].parameter;
    const bool fits = first && bytes + p_bytes <= cap && first->scalar_type() == p.scalar_type() &&
                      first->device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      bytes = 0;
    }
    slots_[i].bucket = buckets_.size() - 1;
    buckets_.back().slots.push_back(i);
    buckets_.back().numel += p.numel();
    bytes += p_bytes;
  }
}

DataParallelGrads::~DataParallelGrads() {
  if (armed_) remove_hooks();
}

void DataParallelGrads::copy_in(Bucket& bucket) {
  const auto& first = slots_[bucket.slots.front()].parameter;
  if (!bucket.flat.defined()) bucket.flat = at::empty({bucket.numel}, first.options());
  int64_t offset = 0;
  for (size_t i : bucket.slots) {
    const auto& p = slots_[i].parameter;
    auto slice = bucket.flat.narrow(0, offset, p.numel());
    if (p.grad().defined()) {
      slice.copy_(p.grad().reshape({-1}));
    } else {
      slice.zero_();
    }
    offset += p.numel();
  }
}

void DataParallelGrads::copy_out(Bucket& bucket) {
  int64_t offset = 0;
  for (size_t i : bucket.slots) {
    const auto& p = slots_[i].parameter;
    auto slice = bucket.flat.narrow(0, offset, p.numel()).view(p.sizes());
    if (p.grad().defined()) {
      p.mutable_grad().copy_(slice);
    } else {
      p.mutable_grad() = slice.clone();
    }
    offset += p.numel();
  }
}

void DataParallelGrads::all_reduce() {
  if (dp_->size() == 1) return;
  c10::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    copy_in(bucket);
    dp_->all_reduce(bucket.flat, ReduceOp::sum);
    copy_out(bucket);
  }
}

void DataParallelGrads::begin_last_micro_batch() {
  if (!overlap_) return;
  if (armed_) fail("DataParallelGrads: begin_last_micro_batch() again before finish()");
  for (size_t i = 0; i < slots_.size(); ++i) {
    auto& slot = slots_[i];
    if (torch::autograd::impl::post_acc_grad_hooks(slot.parameter)) {
      fail("DataParallelGrads: '{}' already has a post-accumulate-grad hook", slot.name);
    }
    slot.ready = false;
    torch::autograd::impl::set_post_acc_grad_hooks(slot.parameter, std::make_unique<ReadyHook>(this, i));
  }
  for (auto& bucket : buckets_) {
    bucket.waiting = int64_t(bucket.slots.size());
    bucket.pending.reset();
  }
  next_launch_ = 0;
  launched_in_backward_ = 0;
  armed_ = true;
}

void DataParallelGrads::on_grad_ready(size_t slot) {
  if (slots_[slot].ready) {
    fail("DataParallelGrads: '{}' received a second gradient in the last micro-batch after its bucket could launch "
         "(one backward per micro-batch)",
         slots_[slot].name);
  }
  make_ready(slot, /*in_backward=*/true);
}

void DataParallelGrads::make_ready(size_t slot, bool in_backward) {
  c10::NoGradGuard no_grad;
  auto& s = slots_[slot];
  if (s.tp_partial) sum_over_tp(s);
  s.ready = true;
  --buckets_[s.bucket].waiting;
  while (next_launch_ < buckets_.size() && buckets_[next_launch_].waiting == 0) {
    auto& bucket = buckets_[next_launch_++];
    copy_in(bucket);
    bucket.pending = dp_->all_reduce_async(bucket.flat, ReduceOp::sum);
    if (in_backward) ++launched_in_backward_;
  }
}

void DataParallelGrads::finish() {
  if (!armed_) {
    c10::NoGradGuard no_grad;
    for (auto& slot : slots_) {
      if (slot.tp_partial) sum_over_tp(slot);
    }
    all_reduce();
    return;
  }
  remove_hooks();
  // Parameters backward never reached (no gradient this step), in registration order.
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].ready) make_ready(i, /*in_backward=*/false);
  }
  c10::NoGradGuard no_grad;
  for (auto& bucket : buckets_) {
    bucket.pending->wait();
    bucket.pending.reset();
    copy_out(bucket);
  }
}

void DataParallelGrads::sum_over_tp(Slot& slot) {
  if (!slot.parameter.grad().defined()) slot.parameter.mutable_grad() = at::zeros_like(slot.parameter);
  layout_->tp->all_reduce(slot.parameter.grad(), ReduceOp::sum);
}

void DataParallelGrads::remove_hooks() {
  for (const auto& slot : slots_) torch::autograd::impl::set_post_acc_grad_hooks(slot.parameter, nullptr);
  armed_ = false;
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
