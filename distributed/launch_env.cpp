// Launcher variables -> LaunchEnv (see launch_env.h).
#include "distributed/launch_env.h"

#include <cstdlib>
#include <vector>

#include "core/error.h"

namespace ember::distributed {
namespace {

struct LauncherVariables {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;
};

const std::vector<LauncherVariables>& launchers() {
  static const std::vector<LauncherVariables> table = {
      {"open-mpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
       "OMPI_COMM_WORLD_LOCAL_SIZE"},
      {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
      {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_TASKS_PER_NODE"},
  };
  return table;
}

/// The leading non-negative integer of `value` ("4(x2)" -> 4); throws UsageError otherwise.
int leading_int(const std::string& variable, const std::string& value) {
  size_t digits = 0;
  while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) fail_usage("launch environment: {}='{}' is not a count or rank", variable, value);
  return std::atoi(value.substr(0, digits).c_str());
}

}  // namespace

LaunchEnv launch_env_from(const std::function<std::optional<std::string>(const std::string&)>& lookup) {
  LaunchEnv env;
  for (const auto& vars : launchers()) {
    auto rank = lookup(vars.rank);
    auto size = lookup(vars.size);
    if (!rank || !size) continue;
    env.launcher = vars.launcher;
    env.rank = leading_int(vars.rank, *rank);
    env.world_size = leading_int(vars.size, *size);
    auto local_rank = lookup(vars.local_rank);
    auto local_size = lookup(vars.local_size);
    env.local_rank = local_rank ? leading_int(vars.local_rank, *local_rank) : 0;
    env.local_world_size = local_size ? leading_int(vars.local_size, *local_size) : 1;
    if (env.world_size < 1 || env.rank >= env.world_size) {
      fail_usage("launch environment: {}={} is not below {}={}", vars.rank, env.rank, vars.size, env.world_size);
    }
    if (env.local_world_size < 1 || env.local_rank >= env.local_world_size || env.local_world_size > env.world_size) {
      fail_usage("launch environment: local rank {} of {} ({} / {}) does not fit a world of {}", env.local_rank,
                 env.local_world_size, vars.local_rank, vars.local_size, env.world_size);
    }
    return env;
  }
  return env;
}

LaunchEnv detect_launch_env() {
  return launch_env_from([](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  });
}

int threads_per_rank(int cores, int local_ranks) {
  if (local_ranks < 1) local_ranks = 1;
  return cores / local_ranks > 1 ? cores / local_ranks : 1;
}

int gpu_for_local_rank(const LaunchEnv& env, int gpus_on_node) {
  if (env.local_rank >= gpus_on_node) {
    fail_usage("local rank {} has no GPU: this node runs {} ranks but sees {} GPUs (one rank per GPU)", env.local_rank,
               env.local_world_size, gpus_on_node);
  }
  return env.local_rank;
}

}  // namespace ember::distributed
