// The trainer's side of checkpoints (the format and its reader and writer are checkpoint/): when a
// recipe saves, and the sharded save of a job's state from every rank at once.
//
//   lead      begin: an empty staging directory; the recipe describes its state   \ agreed: a
//   all ranks write their own slices (Trainer::checkpoint_shards) into            / max all-reduce
//             rank_NNNNN.safetensors + rank_NNNNN.json; the lead adds the recipe's    of failures
//             tensors (e.g. "rng.cpu", replicated)
//   lead      commit: merge the per-rank index files into the manifest, write it last, rename
//             (run_on_lead: every rank learns whether it succeeded)
// No rank gathers another rank's tensors: each rank's memory during a save grows by at most the
// streaming buffer (checkpoint/shard_file.h). A failure anywhere removes the staging directory and
// stops every rank with the error, leaving earlier checkpoints intact.
#pragma once

#include <cstdint>
#include <functional>

#include <c10/core/Device.h>

#include "checkpoint/writer.h"
#include "distributed/communicator.h"
#include "train/config.h"
#include "train/trainer.h"

namespace ember::train {

/// Whether step `step` of `total_steps` saves a checkpoint: every checkpoint.interval steps (when
/// set) and at the end.
bool checkpoint_due(const CheckpointConfig& checkpoint, int64_t step, int64_t total_steps);

/// A recipe's checkpoint at `step` (a collective over `world`; see the top). `describe` runs on
/// the lead only and fills in the recipe's part: `info` (state, config, tokenizer) and whole
/// tensors in `optimizer` (its `model` map must stay empty: parameters come from the trainer).
void save_sharded_checkpoint(distributed::Communicator& world, const c10::Device& device, const Trainer& trainer,
                             const checkpoint::CheckpointWriter& writer, int64_t step,
                             const std::function<void(checkpoint::Checkpoint&)>& describe);

}  // namespace ember::train
