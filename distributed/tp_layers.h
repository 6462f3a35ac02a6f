// Tensor-parallel layers (Megatron-LM), the subclasses parallelize() puts in the model's
// Projection / TokenEmbedding slots. p = tp size, r = tp rank; shards are contiguous and equal.
//
// ColumnParallelLinear  Y = X A^T + b with A [out, in] split by output rows: A = [A_1; ..; A_p],
//                       b = [b_1; ..; b_p]. Rank r holds A_r [out/p, in] and computes
//                       Y_r = copy_to_tp(X) A_r^T + b_r, this rank's out/p output features (q, k, v:
//                       its heads; gate, up: its slice of the FFN). gather_output all-gathers Y.
// RowParallelLinear     Y = X A^T + b with A split by input columns: A = [A_1 .. A_p], X = [X_1 .. X_p].
//                       Rank r holds A_r [out, in/p] and Y = reduce_from_tp(X_r A_r^T) + b (o, down:
//                       their input is the column-parallel output, already split the same way).
// VocabParallelEmbedding  E [V, C] split by vocabulary rows: rank r holds rows [r V/p, (r+1) V/p).
//                       lookup(t) = E_r[t - r V/p] when t is in the range, else 0; the output is
//                       reduce_from_tp of that (exactly one rank contributes each token's row).
//                       attend(h) (tied LM head) = copy_to_tp(h) E_r^T: logits of this rank's vocab
//                       slice, all-gathered when gather_logits.
// Sequence parallel (sequence_parallel = true): activations between the parallel regions are split
// over tokens; copy_to_tp becomes all_gather_sequence and reduce_from_tp becomes
// reduce_scatter_sequence (tp_mappings.h).
//
// Each layer stores its tp communicator (kept alive with the model) and can describe its shard.
#pragma once

#include <memory>

#include "distributed/communicator.h"
#include "model/layers.h"

namespace ember::distributed {

/// Where a rank's tensor sits in the logical (unsharded) tensor: the slice [offset, offset+length)
/// of dim `dim`; dim < 0 means the tensor is whole (replicated over tp).
struct ShardSpec {
  int64_t dim = -1;
  int64_t offset = 0;
  int64_t length = 0;
  std::vector<int64_t> full_shape;
  bool replicated() const { return dim < 0; }
};

struct TpLayerOptions {
  std::shared_ptr<Communicator> tp;
  bool sequence_parallel = false;
  bool gather_output = false;  ///< column-parallel / tied head: all-gather the output features
};

class ColumnParallelLinearImpl : public model::ProjectionImpl {
 public:
  /// Takes this rank's shard of `full` (the logical layer, initialised from the seed).
  ColumnParallelLinearImpl(const model::ProjectionImpl& full, TpLayerOptions options);
  torch::Tensor forward(const torch::Tensor& x) override;
  ShardSpec weight_shard() const { return weight_shard_; }
  ShardSpec bias_shard() const;

 private:
  TpLayerOptions tp_options_;
  ShardSpec weight_shard_;
};
TORCH_MODULE(ColumnParallelLinear);

class RowParallelLinearImpl : public model::ProjectionImpl {
 public:
  RowParallelLinearImpl(const model::ProjectionImpl& full, TpLayerOptions options);
  torch::Tensor forward(const torch::Tensor& x) override;
  ShardSpec weight_shard() const { return weight_shard_; }

 private:
  TpLayerOptions tp_options_;
  ShardSpec weight_shard_;
};
TORCH_MODULE(RowParallelLinear);

class VocabParallelEmbeddingImpl : public model::TokenEmbeddingImpl {
 public:
  VocabParallelEmbeddingImpl(const model::TokenEmbeddingImpl& full, TpLayerOptions options);
  torch::Tensor forward(const torch::Tensor& ids) override;
  torch::Tensor attend(const torch::Tensor& hidden) override;
  ShardSpec weight_shard() const { return weight_shard_; }

 private:
  TpLayerOptions tp_options_;
  ShardSpec weight_shard_;
};
TORCH_MODULE(VocabParallelEmbedding);

/// The shard of `full` along `dim` that tp rank `rank` of `parts` holds; throws ember::Error naming
/// `what` when `parts` does not divide the dim.
ShardSpec shard_along(const at::Tensor& full, int64_t dim, int rank, int parts, const std::string& what);

/// The slice of a logical tensor that `spec` describes (a view; the tensor itself when replicated).
at::Tensor slice_of(const at::Tensor& full, const ShardSpec& spec);

}  // namespace ember::distributed
