// The launch environment: who this process is in the job, read from the launcher's variables.
//
//   Open MPI (mpirun)   OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK / _LOCAL_SIZE
//   PMI (MPICH, Hydra)  PMI_RANK / PMI_SIZE, MPI_LOCALRANKID / MPI_LOCALNRANKS
//   Slurm (srun)        SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID, SLURM_TASKS_PER_NODE ("4(x2)")
// The first launcher found wins, in that order; none means a single process. The local rank picks
// the GPU; CPU threads per rank = cores / local ranks. Torch-free.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace ember::distributed {

struct LaunchEnv {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string launcher = "none";  ///< "open-mpi", "pmi", "slurm" or "none"

  /// Several ranks, or one started by an MPI launcher: the job needs MPI.
  bool needs_mpi() const { return world_size > 1 || launcher == "open-mpi" || launcher == "pmi"; }
};

/// Reads the variables through `lookup` (the process environment in detect_launch_env). Throws
/// UsageError naming the variable when a value is not a number or the values disagree.
LaunchEnv launch_env_from(const std::function<std::optional<std::string>(const std::string&)>& lookup);

/// The launch environment of this process.
LaunchEnv detect_launch_env();

/// CPU threads for one rank: max(1, cores / local ranks).
int threads_per_rank(int cores, int local_ranks);

/// The GPU of a local rank; throws UsageError when the node has fewer GPUs than local ranks.
int gpu_for_local_rank(const LaunchEnv& env, int gpus_on_node);

}  // namespace ember::distributed
