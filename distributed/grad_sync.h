// Gradient synchronisation for data (and tensor) parallel training, once per optimizer step, on
// the last micro-batch (accumulation micro-steps communicate nothing):
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
// Overlap (parallel.overlap_grad_reduce): step 2 runs during the last micro-batch's backward, not
// after it. Buckets are filled in reverse registration order because that is the order backward
// finishes gradients. begin_last_micro_batch() sets a post-accumulate-grad hook on every parameter;
// after the autograd engine accumulated a parameter's last gradient, its hook applies step 1 to it
// (tp-partial ones) and marks it ready. A bucket launches (copy into its buffer, async all-reduce:
// MPI's communication thread or NCCL's side stream) once all its parameters are ready and every
// earlier bucket has launched, so every rank launches the buckets in index order, whatever the
// order of its own hooks. finish() treats the parameters backward never reached like step 1 and 2
// do (zeros), launches the buckets left, waits for every bucket and copies back, then removes the
// hooks. The buckets, the buffers and the reductions are the ones of the blocking path, so the
// result is bit-identical; only the time differs: bucket k's all-reduce hides behind the backward
// of the layers below it.
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

/// Steps 1 and 2 above: the bucketed sum of gradients over the dp group, overlapped with backward
/// or after it.
class DataParallelGrads {
 public:
  /// `parameters` in registration order; buckets fill in reverse order (the order backward
  /// produces gradients). bucket_mb caps a bucket's size (one parameter may exceed it alone).
  /// `overlap` launches buckets from backward (with more than one dp rank); `layout` names the
  /// tp-partial gradients that finish() sums over tp first (null: none).
  DataParallelGrads(const NamedTensors& parameters, std::shared_ptr<Communicator> dp, double bucket_mb,
                    bool overlap = false, std::shared_ptr<const ParallelLayout> layout = nullptr);
  ~DataParallelGrads();
  DataParallelGrads(const DataParallelGrads&) = delete;
  DataParallelGrads& operator=(const DataParallelGrads&) = delete;

  /// Call before the last micro-batch's backward: with overlap, sets the hooks that launch buckets.
  void begin_last_micro_batch();
  /// Call after it: tp partial sums, then every gradient summed over dp (with overlap: launches
  /// what backward did not, waits for every bucket, copies back and removes the hooks).
  void finish();

  /// Step 2 alone, blocking, after backward (no-op with one dp rank).
  void all_reduce();

  int64_t bucket_count() const { return int64_t(buckets_.size()); }
  /// Buckets launched by the hooks while the last window's backward ran (0 without overlap).
  int64_t launched_in_backward() const { return launched_in_backward_; }

 private:
  class ReadyHook;
  struct Slot {
    std::string name;
    at::Tensor parameter;
    size_t bucket = 0;
    bool tp_partial = false;
    bool ready = false;  ///< its gradient is final for this step (overlap window)
  };
  struct Bucket {
    std::vector<size_t> slots;
    int64_t numel = 0;
    at::Tensor flat;  ///< allocated on first use
    int64_t waiting = 0;  ///< parameters not ready yet (overlap window)
    std::unique_ptr<PendingCollective> pending;
  };

  void copy_in(Bucket& bucket);
  void copy_out(Bucket& bucket);
  void on_grad_ready(size_t slot);
  /// Marks a slot ready (step 1 for tp-partial gradients) and launches the buckets now due.
  void make_ready(size_t slot, bool in_backward);
  /// Step 1 for one tp-partial gradient (a missing one counts as zeros).
  void sum_over_tp(Slot& slot);
  void remove_hooks();

  std::shared_ptr<Communicator> dp_;
  std::shared_ptr<const ParallelLayout> layout_;
  bool overlap_;
  std::vector<Slot> slots_;  ///< registration order
  std::vector<Bucket> buckets_;
  bool armed_ = false;       ///< between begin_last_micro_batch() and finish() with overlap
  size_t next_launch_ = 0;   ///< buckets launch in index order
  int64_t launched_in_backward_ = 0;
};

/// ||g|| of the logical model (see the top of this file). `grads` are (parameter name, gradient)
/// with names found in layout.shards; `dp_partitioned` when each dp rank holds a disjoint part of
/// the gradient (ZeRO-1 shards). Returns a 0-dim fp32 tensor, identical on every rank.
at::Tensor global_grad_norm(const NamedTensors& grads, const Mesh& mesh, const ParallelLayout& layout,
                            bool dp_partitioned);

}  // namespace ember::distributed
