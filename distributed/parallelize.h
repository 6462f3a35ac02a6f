// parallelize(model, mesh, plan): tensor parallelism as a transformation of a built Transformer.
// The model is built and initialised as on one process (every rank from the same seed, so every
// layout starts from the same logical weights); parallelize then replaces the named submodules
// the plan lists with column / row / vocab-parallel versions holding this rank's shard
// (tp_layers.h). Canonical parameter names do not change. Data parallelism is applied afterwards
// by the gradient sync (grad_sync.h) or ZeRO-1 (zero1.h) over the parameters this returns.
//
// The returned ParallelLayout says, for checkpoints, where each parameter's shard sits in the
// logical tensor (dim, offset), gathers full parameters, takes shards of logical tensors, and picks
// the loss that matches the logits the model now produces.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Tensor.h>

#include "distributed/mesh.h"
#include "distributed/tp_layers.h"
#include "model/transformer.h"

namespace ember::distributed {

enum class TpStyle { column, row, vocab_embedding, replicate };

struct ParallelPlan {
  /// Module-name patterns ('*' matches one name segment) and their style; the first match wins, a
  /// slot no rule matches stays replicated, and a rule may match nothing (lm_head of a tied model).
  std::vector<std::pair<std::string, TpStyle>> rules;
  /// Split activations between the tensor-parallel regions over tokens (Megatron sequence
  /// parallelism); the sequence length must divide by tp.
  bool sequence_parallel = false;
  /// The LM head leaves logits split over the vocabulary and the loss is vocab-parallel; false
  /// all-gathers full logits (more memory, any loss works).
  bool vocab_parallel_loss = true;

  /// Megatron's Llama plan: q, k, v, gate, up column-parallel; o, down row-parallel; embedding and
  /// LM head vocab-parallel.
  static ParallelPlan megatron();
};

struct ParallelLayout {
  std::shared_ptr<Communicator> tp;
  /// Every parameter by canonical name; replicated ones have dim < 0.
  std::map<std::string, ShardSpec> shards;
  /// Replicated parameters whose gradient is a partial sum over tp ranks (QK-norm weights inside
  /// the attention region; every norm with sequence parallelism): sum their grads over tp.
  std::vector<std::string> tp_partial_grads;
  bool vocab_parallel_logits = false;
  bool sequence_parallel = false;

  /// The summed next-token cross-entropy of the logits the parallel model returns (vocab-parallel
  /// when they are split); equal on every tp rank.
  at::Tensor cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets) const;
  /// The logical (unsharded) parameters, all-gathered over tp; every tp rank gets them all.
  std::map<std::string, at::Tensor> gather_full(const std::map<std::string, at::Tensor>& local) const;
  /// This rank's shard of a logical tensor (e.g. from a checkpoint saved at another layout).
  at::Tensor shard_of(const std::string& name, const at::Tensor& full) const;
};

/// Applies `plan` to `model` over mesh.tp_group (see the top of this file). Throws UsageError when
/// heads, kv heads, the FFN width or the vocabulary do not divide by tp, naming the model key.
ParallelLayout parallelize(model::TransformerImpl& model, const Mesh& mesh, const ParallelPlan& plan);

/// Whether a module name matches a plan pattern ('*' = one name segment).
bool plan_pattern_matches(const std::string& pattern, const std::string& name);

}  // namespace ember::distributed
