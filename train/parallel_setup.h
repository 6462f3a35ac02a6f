// What every recipe does to run on one process or on a dp x tp mesh of ranks (pretrain, rl,
// distill): read the launch environment, pick the device and threads of this rank, start the mesh;
// record the layout in checkpoint manifests; agree across ranks
// (preemption, whether rank 0 saved a checkpoint); reduce host-side counters; split a list of
// items over dp ranks.
//
// Conventions the recipes share:
//   * rank 0 of the world (the lead) alone writes the run directory, metrics and checkpoint
//     manifests; every rank writes its own slices of a checkpoint (train/checkpoint.h);
//   * counters that normalise a loss (tokens, sequences) are summed over dp BEFORE the step, so
//     every rank divides by the same global count: L = sum_ranks sum_items l / N_global, and the
//     dp gradient sum is the gradient of the one global batch, whatever the layout;
//   * dp rank d of D takes the contiguous items [floor(d n / D), floor((d + 1) n / D)) of a list of
//     n (prompts of an RL step, samples of on-policy distillation): concatenating the ranks' parts
//     in rank order gives the single-process order back.
#pragma once

#include <cstdint>
#include <functional>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "distributed/launch_env.h"
#include "distributed/mesh.h"
#include "distributed/parallelize.h"
#include "checkpoint/writer.h"
#include "train/config.h"
#include "train/metrics_log.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace ember::train {

struct ParallelRun {
  distributed::LaunchEnv env;
  Runtime runtime;  ///< the local rank's GPU, cores / local ranks threads
  std::shared_ptr<distributed::Mesh> mesh;
  bool lead = true;  ///< world rank 0: writes the run directory, metrics and checkpoints
};

/// Launch environment, runtime and mesh (parallel.dp x parallel.tp; one process: no-op groups).
ParallelRun setup_parallel_run(const TrainConfig& train, const ParallelConfig& parallel);

/// What the ranks write into the run directory: the metrics log (JSONL + TensorBoard), on the lead
/// only, and the checkpoints, every rank its own slices (save_sharded_checkpoint).
struct RunWriters {
  std::optional<MetricsLog> metrics;
  std::optional<checkpoint::CheckpointWriter> checkpoints;
  const checkpoint::CheckpointWriter& checkpoint_writer() const { return *checkpoints; }
};

/// Opens the writers in `run_dir` (the metrics log on the lead only). The metrics log drops its
/// lines of steps >= first_step: a resumed run logs those steps again.
RunWriters open_run_writers(bool lead, const std::filesystem::path& run_dir, const MetricsConfig& metrics,
                            const CheckpointConfig& checkpoint, int64_t first_step);

/// The Megatron plan with the LM head's logits all-gathered over tp (gather_from_tp: forward
/// all-gather along the vocabulary, backward this rank's slice): recipes that sample tokens or
/// compare whole distributions (RL, distillation) see full-vocabulary logits on every tp rank.
distributed::ParallelPlan full_logits_plan();

/// The mesh and shard layout for the manifest: a checkpoint records the layout that wrote it;
/// tp rank r of a sharded parameter held [r length, (r + 1) length) of dim `dim`.
nlohmann::json layout_json(const distributed::Mesh& mesh, const distributed::ParallelLayout& layout, int64_t zero);

/// The preemption signal any rank received (every rank gets the same answer, so all stop at the
/// same step); a max all-reduce over the world when there is more than one rank.
int agreed_preemption_signal(distributed::Communicator& world, const c10::Device& device);

/// Runs `action` on the lead rank, then tells every rank whether it succeeded (a broadcast), so a
/// failure there (a refused run directory, a failed save) stops the whole job together; rethrows
/// the lead's error there, and elsewhere fails with "rank 0 could not <what>".
void run_on_lead(distributed::Communicator& world, const c10::Device& device, bool lead, const std::string& what,
                 const std::function<void()>& action);

/// `values` reduced over `group` (sum or max), through a tensor on `device` (NCCL needs CUDA);
/// the values themselves for a group of one rank.
std::vector<double> all_reduce_values(distributed::Communicator& group, std::vector<double> values,
                                      distributed::ReduceOp op, const c10::Device& device);

/// [begin, end) of the `count` items that rank `rank` of `ranks` takes (see the top).
std::pair<int64_t, int64_t> shard_range(int64_t count, int64_t rank, int64_t ranks);

}  // namespace ember::train
