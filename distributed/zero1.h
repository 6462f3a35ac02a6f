// ZeRO stage 1: the optimizer state is sharded over the dp ranks.
//
// The parameters (one dtype and device) are laid end to end in a flat vector of N elements, padded
// to dp * S with S = ceil(N / dp); dp rank d owns flat[d S, (d+1) S). Per optimizer step:
//   reduce_scatter_grads()   flat grads -> this rank's S elements of sum_dp g   (one reduce-scatter;
//                            sum, for the global-token normalisation explained in grad_sync.h)
//   optimizer step           on pieces(): for each parameter overlapping the owned range, a 1-D view
//                            into the parameter's own storage with its gradient slice attached
//   all_gather_params()      every rank's updated slice -> every rank's parameters (one all-gather)
// So AdamW's m and v exist only for the owned S elements: 2 N / dp fp32 values per rank instead of 2 N.
// Communication per step equals a plain all-reduce (reduce-scatter + all-gather of N elements).
//
// The optimizer sees a piece under its parameter's name, so its state is by name too. Checkpoints
// write each rank's pieces as they are (train/checkpoint.h); gather_state and scatter_state turn
// piece states into logical per-parameter tensors and back, for tests and for the gathered-save
// baseline of bench/checkpoint_bench.cpp.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "distributed/communicator.h"
#include "distributed/grad_sync.h"

namespace ember::distributed {

struct Zero1Memory {
  int64_t parameter_bytes = 0;          ///< the full model's parameters (every rank holds them)
  int64_t gradient_bytes = 0;           ///< the full model's gradients (backward fills them)
  int64_t optimizer_bytes = 0;          ///< AdamW m and v for the owned slice (fp32)
  int64_t optimizer_bytes_unsharded = 0;  ///< what m and v would take without ZeRO
  int64_t buffer_bytes = 0;             ///< the flat communication buffer and the gradient shard
  std::string describe() const;         ///< one line in MiB for the log
};

class Zero1 {
 public:
  /// This rank's part of one parameter: `tensor` is a 1-D view of parameter.view(-1)[offset, offset +
  /// length) with its gradient slice attached; `parameter` is the whole one (for decay rules).
  struct Piece {
    std::string name;
    at::Tensor tensor;
    at::Tensor parameter;
    int64_t offset = 0;       ///< in the flattened parameter
    int64_t length = 0;
    int64_t flat_offset = 0;  ///< in the flat vector of all parameters
  };

  Zero1(const NamedTensors& parameters, std::shared_ptr<Communicator> dp);

  /// The pieces this rank owns, for the optimizer (in parameter order).
  const std::vector<Piece>& pieces() const { return pieces_; }
  /// Pieces' (name, gradient) for global_grad_norm(..., dp_partitioned = true) and clipping.
  NamedTensors piece_grads() const;

  /// Sums gradients over dp into the pieces' gradients, then zeroes the parameters' own gradients.
  void reduce_scatter_grads();
  /// Sends every rank's updated slice to all ranks' parameters.
  void all_gather_params();

  Zero1Memory memory() const;

  /// Piece states by "<name><suffix>" (e.g. AdamW::state() with suffixes .exp_avg, .exp_avg_sq) ->
  /// logical per-parameter states of the parameters' shapes (a collective over dp).
  std::map<std::string, at::Tensor> gather_state(const std::map<std::string, at::Tensor>& piece_state,
                                                 const std::vector<std::string>& suffixes) const;
  /// The inverse: logical per-parameter states -> this rank's piece states (no communication).
  std::map<std::string, at::Tensor> scatter_state(const std::map<std::string, at::Tensor>& full_state,
                                                  const std::vector<std::string>& suffixes) const;

 private:
  std::shared_ptr<Communicator> dp_;
  NamedTensors parameters_;
  std::vector<int64_t> starts_;  ///< each parameter's offset in the flat vector
  int64_t numel_ = 0;            ///< N
  int64_t shard_ = 0;            ///< S
  at::Tensor flat_;              ///< [dp * S]: gradients in, parameters out
  at::Tensor grad_shard_;        ///< [S]: this rank's summed gradients (pieces' grads view it)
  std::vector<Piece> pieces_;
};

}  // namespace ember::distributed
