// The reasoning-RL recipe behind `ember rl`: GRPO-family policy optimisation of a checkpoint on a
// generated task with verifiable rewards, sampling from the very weights it trains (no weight
// sync). Each step: rollouts (rollout.h) -> policy update (policy_update.h) -> metrics, periodic
// held-out evaluation (sampling/task_eval.h) and checkpoints that resume exactly.
// Runs on one process or on a parallel.dp x parallel.tp mesh under mpirun / srun: prompts split
// over dp ranks (each group on one rank), generation and updates on the tp-sharded policy with
// full-vocabulary logits, loss normalisers and metrics global; every layout reproduces the
// single-process run (docs/distributed.md, "RL and distillation").
#pragma once

#include <string>

#include "train/rl/rl_config.h"

namespace ember::train::rl {

/// Runs `ember rl` to completion. `resolved_yaml` is the resolved config; the run directory's
/// config.yaml and every checkpoint store it followed by the init checkpoint's `model:` section,
/// so RL checkpoints load like any other. Throws ember::Error on failures after keeping complete
/// checkpoints.
void run_rl(const RlConfig& config, const std::string& resolved_yaml);

}  // namespace ember::train::rl
