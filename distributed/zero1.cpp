// ZeRO-1 partitioning, gradient reduce-scatter, parameter all-gather and state conversion (see zero1.h).
#include "distributed/zero1.h"

#include <algorithm>

#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include "core/error.h"

namespace ember::distributed {
namespace {

double mib(int64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

}  // namespace

std::string Zero1Memory::describe() const {
  return fmt::format("ZeRO-1 memory per rank: parameters {:.1f} MiB, gradients {:.1f} MiB, optimizer {:.1f} MiB "
                     "(unsharded {:.1f} MiB), buffers {:.1f} MiB",
                     mib(parameter_bytes), mib(gradient_bytes), mib(optimizer_bytes), mib(optimizer_bytes_unsharded),
                     mib(buffer_bytes));
}

Zero1::Zero1(const NamedTensors& parameters, std::shared_ptr<Communicator> dp) : dp_(std::move(dp)) {
  for (const auto& item : parameters) {
    if (!item.second.requires_grad()) continue;
    const auto& p = item.second;
    if (!parameters_.empty()) {
      const auto& first = parameters_.front().second;
      if (p.scalar_type() != first.scalar_type() || p.device() != first.device()) {
        fail("ZeRO-1 needs every parameter in one dtype and device: '{}' is {} on {}, '{}' is {} on {}", item.first,
             c10::toString(p.scalar_type()), p.device().str(), parameters_.front().first,
             c10::toString(first.scalar_type()), first.device().str());
      }
    }
    if (!p.is_contiguous()) fail("ZeRO-1 needs contiguous parameters: '{}' is not", item.first);
    starts_.push_back(numel_);
    numel_ += p.numel();
    parameters_.push_back(item);
  }
  if (parameters_.empty()) fail("ZeRO-1 got no trainable parameters");
  const int64_t ranks = dp_->size();
  shard_ = (numel_ + ranks - 1) / ranks;
  const auto options = parameters_.front().second.options();
  flat_ = at::zeros({shard_ * ranks}, options);
  grad_shard_ = at::zeros({shard_}, options);

  const int64_t begin = dp_->rank() * shard_, end = begin + shard_;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& [name, p] = parameters_[i];
    const int64_t lo = std::max(begin, starts_[i]), hi = std::min(end, starts_[i] + p.numel());
    if (lo >= hi) continue;
    Piece piece;
    piece.name = name;
    piece.parameter = p;
    piece.offset = lo - starts_[i];
    piece.length = hi - lo;
    piece.flat_offset = lo;
    piece.tensor = p.detach().view({-1}).narrow(0, piece.offset, piece.length);
    piece.tensor.requires_grad_(true);
    piece.tensor.mutable_grad() = grad_shard_.narrow(0, lo - begin, piece.length);
    pieces_.push_back(std::move(piece));
  }
}

NamedTensors Zero1::piece_grads() const {
  NamedTensors grads;
  for (const auto& piece : pieces_) grads.emplace_back(piece.name, piece.tensor.grad());
  return grads;
}

void Zero1::reduce_scatter_grads() {
  c10::NoGradGuard no_grad;
  flat_.zero_();
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& p = parameters_[i].second;
    if (!p.grad().defined()) continue;
    flat_.narrow(0, starts_[i], p.numel()).copy_(p.grad().reshape({-1}));
    p.mutable_grad().zero_();
  }
  dp_->reduce_scatter(flat_, grad_shard_, ReduceOp::sum);
}

void Zero1::all_gather_params() {
  c10::NoGradGuard no_grad;
  const int64_t begin = dp_->rank() * shard_;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& p = parameters_[i].second;
    flat_.narrow(0, starts_[i], p.numel()).copy_(p.detach().reshape({-1}));
  }
  auto mine = flat_.narrow(0, begin, shard_).clone();
  dp_->all_gather(mine, flat_);
  for (size_t i = 0; i < parameters_.size(); ++i) {
    const auto& p = parameters_[i].second;
    p.detach().view({-1}).copy_(flat_.narrow(0, starts_[i], p.numel()));
  }
}

Zero1Memory Zero1::memory() const {
  const int64_t element = int64_t(parameters_.front().second.element_size());
  int64_t owned = 0;
  for (const auto& piece : pieces_) owned += piece.length;
  Zero1Memory memory;
  memory.parameter_bytes = numel_ * element;
  memory.gradient_bytes = numel_ * element;
  memory.optimizer_bytes = 2 * owned * int64_t(sizeof(float));
  memory.optimizer_bytes_unsharded = 2 * numel_ * int64_t(sizeof(float));
  memory.buffer_bytes = (flat_.numel() + grad_shard_.numel()) * element;
  return memory;
}

std::map<std::string, at::Tensor> Zero1::gather_state(const std::map<std::string, at::Tensor>& piece_state,
                                                      const std::vector<std::string>& suffixes) const {
  std::map<std::string, at::Tensor> full;
  const int64_t begin = dp_->rank() * shard_;
  for (const auto& suffix : suffixes) {
    auto mine = at::zeros({shard_}, piece_state.empty() ? flat_.options() : piece_state.begin()->second.options());
    for (const auto& piece : pieces_) {
      auto it = piece_state.find(piece.name + suffix);
      if (it == piece_state.end()) fail("ZeRO-1 gather_state: '{}{}' is missing", piece.name, suffix);
      mine.narrow(0, piece.flat_offset - begin, piece.length).copy_(it->second.reshape({-1}));
    }
    auto gathered = at::empty({shard_ * dp_->size()}, mine.options());
    dp_->all_gather(mine, gathered);
    for (size_t i = 0; i < parameters_.size(); ++i) {
      const auto& [name, p] = parameters_[i];
      full[name + suffix] = gathered.narrow(0, starts_[i], p.numel()).view(p.sizes()).clone();
    }
  }
  return full;
}

std::map<std::string, at::Tensor> Zero1::scatter_state(const std::map<std::string, at::Tensor>& full_state,
                                                       const std::vector<std::string>& suffixes) const {
  std::map<std::string, at::Tensor> pieces;
  for (const auto& suffix : suffixes) {
    for (const auto& piece : pieces_) {
      auto it = full_state.find(piece.name + suffix);
      if (it == full_state.end()) fail("ZeRO-1 scatter_state: '{}{}' is missing", piece.name, suffix);
      if (it->second.numel() != piece.parameter.numel()) {
        fail("ZeRO-1 scatter_state: '{}{}' has {} elements, the parameter {}", piece.name, suffix,
             it->second.numel(), piece.parameter.numel());
      }
      pieces[piece.name + suffix] = it->second.reshape({-1}).narrow(0, piece.offset, piece.length).clone();
    }
  }
  return pieces;
}

}  // namespace ember::distributed
