// The pretraining recipe: next-token cross-entropy on packed HDF5 token stores, on the run loop
// (train/run_loop.h: run directory, resume, metrics, evaluation, checkpoints) and the trainer core
// (optimizer, schedule, clipping, accumulation).
#pragma once

#include <string>

#include "train/config.h"

namespace ember::train {

/// Runs `ember pretrain` to completion. `resolved_yaml` is the resolved config, saved in the run
/// directory. Throws ember::Error on failures (the CLI exits 1) after keeping complete checkpoints.
void run_pretrain(const PretrainConfig& config, const std::string& resolved_yaml);

}  // namespace ember::train
