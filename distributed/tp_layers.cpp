// Column / row parallel linears and the vocab-parallel embedding (see tp_layers.h for the maths).
#include "distributed/tp_layers.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "distributed/tp_mappings.h"

namespace ember::distributed {
namespace {

torch::nn::LinearOptions local_options(const model::ProjectionImpl& full, int64_t in, int64_t out) {
  return torch::nn::LinearOptions(in, out).bias(full.options.bias());
}

void copy_shard(const at::Tensor& local, const at::Tensor& full, const ShardSpec& spec) {
  c10::NoGradGuard no_grad;
  local.set_data(slice_of(full, spec).detach().clone(at::MemoryFormat::Contiguous));
}

Communicator& tp_of(const TpLayerOptions& options) {
  if (!options.tp) fail("a tensor-parallel layer needs a tp communicator");
  return *options.tp;
}

at::Tensor enter_region(const at::Tensor& x, const TpLayerOptions& options) {
  return options.sequence_parallel ? all_gather_sequence(x, *options.tp) : copy_to_tp(x, *options.tp);
}

at::Tensor leave_region(const at::Tensor& partial, const TpLayerOptions& options) {
  return options.sequence_parallel ? reduce_scatter_sequence(partial, *options.tp) : reduce_from_tp(partial, *options.tp);
}

}  // namespace

ShardSpec shard_along(const at::Tensor& full, int64_t dim, int rank, int parts, const std::string& what) {
  if (full.size(dim) % parts != 0) {
    fail_usage("{}: dim {} of size {} does not split over parallel.tp = {}", what, dim, full.size(dim), parts);
  }
  ShardSpec spec;
  spec.dim = dim;
  spec.length = full.size(dim) / parts;
  spec.offset = rank * spec.length;
  spec.full_shape = full.sizes().vec();
  return spec;
}

at::Tensor slice_of(const at::Tensor& full, const ShardSpec& spec) {
  return spec.replicated() ? full : full.narrow(spec.dim, spec.offset, spec.length);
}

ColumnParallelLinearImpl::ColumnParallelLinearImpl(const model::ProjectionImpl& full, TpLayerOptions options)
    : model::ProjectionImpl(local_options(full, full.options.in_features(),
                                          full.options.out_features() / tp_of(options).size())),
      tp_options_(std::move(options)) {
  weight_shard_ = shard_along(full.weight, 0, tp_options_.tp->rank(), tp_options_.tp->size(), "column-parallel weight");
  copy_shard(weight, full.weight, weight_shard_);
  if (bias.defined()) copy_shard(bias, full.bias, bias_shard());
}

ShardSpec ColumnParallelLinearImpl::bias_shard() const {
  ShardSpec spec = weight_shard_;
  spec.full_shape = {weight_shard_.full_shape[0]};
  return spec;
}

torch::Tensor ColumnParallelLinearImpl::forward(const torch::Tensor& x) {
  auto y = at::linear(enter_region(x, tp_options_), weight, bias);
  return tp_options_.gather_output ? gather_from_tp(y, *tp_options_.tp) : y;
}

RowParallelLinearImpl::RowParallelLinearImpl(const model::ProjectionImpl& full, TpLayerOptions options)
    : model::ProjectionImpl(local_options(full, full.options.in_features() / tp_of(options).size(),
                                          full.options.out_features())),
      tp_options_(std::move(options)) {
  weight_shard_ = shard_along(full.weight, 1, tp_options_.tp->rank(), tp_options_.tp->size(), "row-parallel weight");
  copy_shard(weight, full.weight, weight_shard_);
  if (bias.defined()) copy_shard(bias, full.bias, ShardSpec{});
}

torch::Tensor RowParallelLinearImpl::forward(const torch::Tensor& x) {
  auto y = leave_region(at::linear(x, weight), tp_options_);
  return bias.defined() ? y + bias : y;
}

VocabParallelEmbeddingImpl::VocabParallelEmbeddingImpl(const model::TokenEmbeddingImpl& full, TpLayerOptions options)
    : model::TokenEmbeddingImpl(full.options.num_embeddings() / tp_of(options).size(), full.options.embedding_dim()),
      tp_options_(std::move(options)) {
  weight_shard_ = shard_along(full.weight, 0, tp_options_.tp->rank(), tp_options_.tp->size(), "vocab-parallel embedding");
  copy_shard(weight, full.weight, weight_shard_);
}

torch::Tensor VocabParallelEmbeddingImpl::forward(const torch::Tensor& ids) {
  const int64_t start = weight_shard_.offset, end = start + weight_shard_.length;
  auto outside = (ids < start).logical_or(ids >= end);
  auto local_ids = (ids - start).masked_fill(outside, 0);
  auto rows = at::embedding(weight, local_ids).masked_fill(outside.unsqueeze(-1), 0.0);
  return leave_region(rows, tp_options_);
}

torch::Tensor VocabParallelEmbeddingImpl::attend(const torch::Tensor& hidden) {
  auto logits = at::matmul(enter_region(hidden, tp_options_), weight.t());
  return tp_options_.gather_output ? gather_from_tp(logits, *tp_options_.tp) : logits;
}

}  // namespace ember::distributed
