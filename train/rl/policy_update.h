// The update half of an RL step: `epochs` passes over the step's rollouts, each split into
// minibatches (one optimizer step each) and micro-batches (gradient accumulation).
//
//   for epoch e: shuffle the rollouts (seeded by step and epoch), split them into
//                `minibatches` near-equal parts
//     for minibatch b: N_tokens, N_seqs = counted tokens / sequences of b   (the global normaliser)
//                      trainer.step over b's micro-batches, each loss = its share (policy_loss.h)
//
// Before the first optimizer step of the RL step the policy still has the rollout weights, so the
// first minibatch measures the gap between the rollout's and the trainer's log-probs:
// logprob_gap = mean |log pi - log mu| over its tokens (it should be ~0: the same weights, the
// same temperature, float rounding only).
//
// Data parallel (options.dp): the shuffle and the split run over the GLOBAL batch (positions
// Rollout::index, the same on every rank), and each rank forwards the rollouts of each minibatch
// that it holds (possibly none: it still joins the optimizer step). The normalisers N_tokens and
// N_seqs of every minibatch are summed over dp before the updates (one all-reduce per RL step), so
// each rank's loss is its share of the global minibatch loss and the dp gradient sum equals the
// single-process gradient; the per-token metrics are summed over dp as well.
#pragma once

#include <cstdint>

#include "distributed/communicator.h"
#include "model/transformer.h"
#include "train/rl/policy_loss.h"
#include "train/rl/rollout.h"
#include "train/trainer.h"

namespace ember::train::rl {

struct UpdateOptions {
  int64_t epochs = 1;
  int64_t minibatches = 1;       ///< optimizer steps per epoch (at most one per rollout)
  int64_t micro_batch_size = 0;  ///< sequences per forward; 0 = the whole minibatch
  double temperature = 1.0;
  int64_t vocab_limit = 0;  ///< log-probs over ids below this (the tokenizer's vocabulary); 0 = all
  PolicyLossOptions loss;
  uint64_t seed = 0;
  bool bf16_autocast = false;  ///< forward under bf16 autocast (CUDA)
  distributed::Communicator* dp = nullptr;  ///< the rollouts are split over this group; null: one process
};

/// Means over the step's updates (per counted token where it says so).
struct UpdateStats {
  int64_t updates = 0;          ///< optimizer steps taken
  int64_t skipped = 0;          ///< non-finite steps the trainer skipped
  int64_t trained_tokens = 0;   ///< counted tokens forwarded, over all epochs
  double policy_loss = 0;       ///< mean of the updates' losses
  double pg_loss = 0;           ///< per token, without the KL term
  double grad_norm = 0;         ///< mean before clipping
  double lr = 0;                ///< of the last update
  double clip_frac_low = 0, clip_frac_high = 0, dual_clip_frac = 0;  ///< per token
  double kl = 0;                ///< per token (KL in the loss only)
  double entropy = 0;           ///< per token, first epoch
  double logprob_gap_mean = 0, logprob_gap_max = 0;
};

/// Runs the update over `batch` (see the header comment). `reference` is needed when
/// options.loss.kl_coef > 0.
UpdateStats update_policy(Trainer& trainer, model::Transformer& policy, model::Transformer* reference,
                          const RolloutBatch& batch, const UpdateOptions& options, int64_t step);

}  // namespace ember::train::rl
