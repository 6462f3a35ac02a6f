// Gradient synchronisation for data (and tensor) parallel training, run once per optimizer step
// after the last micro-batch's backward (accumulation micro-steps communicate nothing):
//
//   1. tp partial sums   g <- sum_tp g   for layout.tp_partial_grads (QK-norms, or every replicated
//                        parameter under sequence parallelism): each tp rank saw part of the inputs.
//   2. dp all-reduce     g <- sum_dp g   in buckets of parallel.bucket_mb: the gradients are copied
//                        into one flat buffer per bucket (same dtype and device), all-reduced, and
//                        copied back; a missing gradient counts as zero on that rank.
// Sum, not mean: the trainer divides every micro-batch's summed loss by the GLOBAL token count
// N_global = tokens over all dp ranks and micro-batches, so  dL/dw = sum_dp sum_m dL_{d,m}/dw, and
// the summed gradient equals the single-process gradient of the same global batch.
//
// The gradient norm of the logical model (global_grad_norm) must then count each logical element
// once: tp-sharded parameters contribute from every tp rank, replicated ones from tp rank 0 only,
// and with ZeRO-1 the (dp-partitioned) shards of every dp rank add up.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Tensor.h>

#include "distributed/mesh.h"
#include "distributed/parallelize.h"

namespace ember::distributed {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// Step 1 above: sums the partial gradients of `layout.tp_partial_grads` over the tp group.
void sum_partial_grads_over_tp(const NamedTensors& parameters, const ParallelLayout& layout);

/// Step 2 above: the bucketed sum of gradients over the dp group.
class DataParallelGrads {
 public:
  /// `parameters` in registration order; buckets fill in reverse order (the order backward
  /// produces gradients). bucket_mb caps a bucket's size (one parameter may exceed it alone).
  DataParallelGrads(const NamedTensors& parameters, std::shared_ptr<Communicator> dp, double bucket_mb);

  /// Sums every gradient over dp (no-op with one dp rank).
  void all_reduce();

  int64_t bucket_count() const { return int64_t(buckets_.size()); }

 private:
  struct Bucket {
    std::vector<at::Tensor> parameters;
    int64_t numel = 0;
    at::Tensor flat;  ///< allocated on first use
  };
  std::shared_ptr<Communicator> dp_;
  std::vector<Bucket> buckets_;
};

/// ||g|| of the logical model (see the top of this file). `grads` are (parameter name, gradient)
/// with names found in layout.shards; `dp_partitioned` when each dp rank holds a disjoint part of
/// the gradient (ZeRO-1 shards). Returns a 0-dim fp32 tensor, identical on every rank.
at::Tensor global_grad_norm(const NamedTensors& grads, const Mesh& mesh, const ParallelLayout& layout,
                            bool dp_partitioned);

}  // namespace ember::distributed
