// Launch environment parsing, mesh shapes and their errors, dp / tp group layout, the watchdog.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include <ATen/ops/full.h>

#include "core/error.h"
#include "distributed/watchdog.h"
#include "distributed_test_util.h"

namespace ember::distributed {
namespace {

LaunchEnv env_of(const std::map<std::string, std::string>& vars) {
  return launch_env_from([&](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(LaunchEnv, SingleProcessWithoutLauncher) {
  auto env = env_of({});
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.launcher, "none");
  EXPECT_FALSE(env.needs_mpi());
}

TEST(LaunchEnv, OpenMpiPmiAndSlurm) {
  auto ompi = env_of({{"OMPI_COMM_WORLD_RANK", "5"}, {"OMPI_COMM_WORLD_SIZE", "8"},
                      {"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}});
  EXPECT_EQ(ompi.launcher, "open-mpi");
  EXPECT_EQ(ompi.rank, 5);
  EXPECT_EQ(ompi.local_rank, 1);
  EXPECT_EQ(ompi.local_world_size, 4);
  EXPECT_TRUE(ompi.needs_mpi());

  auto pmi = env_of({{"PMI_RANK", "0"}, {"PMI_SIZE", "1"}});
  EXPECT_EQ(pmi.launcher, "pmi");
  EXPECT_TRUE(pmi.needs_mpi());  // mpirun -np 1 still initialises MPI

  auto slurm = env_of({{"SLURM_PROCID", "6"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "2"},
                       {"SLURM_TASKS_PER_NODE", "4(x2)"}});
  EXPECT_EQ(slurm.launcher, "slurm");
  EXPECT_EQ(slurm.world_size, 8);
  EXPECT_EQ(slurm.local_rank, 2);
  EXPECT_EQ(slurm.local_world_size, 4);
  EXPECT_FALSE(env_of({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}}).needs_mpi());
}

TEST(LaunchEnv, BadValuesNameTheVariable) {
  try {
    env_of({{"OMPI_COMM_WORLD_RANK", "x"}, {"OMPI_COMM_WORLD_SIZE", "2"}});
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("OMPI_COMM_WORLD_RANK='x'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(env_of({{"PMI_RANK", "2"}, {"PMI_SIZE", "2"}}), UsageError);
}

TEST(LaunchEnv, ThreadsAndGpus) {
  EXPECT_EQ(threads_per_rank(16, 4), 4);
  EXPECT_EQ(threads_per_rank(2, 4), 1);
  EXPECT_EQ(threads_per_rank(8, 0), 8);
  LaunchEnv env;
  env.local_rank = 3;
  env.local_world_size = 4;
  EXPECT_EQ(gpu_for_local_rank(env, 8), 3);
  EXPECT_THROW(gpu_for_local_rank(env, 2), UsageError);
}

TEST(Mesh, ShapeDerivesDpAndRejectsMisfits) {
  EXPECT_EQ(resolve_mesh_shape(8, 0, 2).dp, 4);
  EXPECT_EQ(resolve_mesh_shape(8, 2, 4).tp, 4);
  EXPECT_EQ(resolve_mesh_shape(1, 0, 1).dp, 1);
  try {
    resolve_mesh_shape(4, 0, 3);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("parallel.tp (3) does not divide the world size (4 ranks)"), std::string::npos)
        << e.what();
  }
  try {
    resolve_mesh_shape(8, 2, 2);
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("parallel.dp (2) x parallel.tp (2) = 4 ranks, but the job has 8"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(resolve_mesh_shape(4, 0, 0), UsageError);
  EXPECT_THROW(resolve_mesh_shape(4, -1, 1), UsageError);
}

TEST(Mesh, TensorParallelRanksAreContiguous) {
  auto world = testing::world();
  for (int64_t tp : {1, 2, 4}) {
    if (!testing::tp_fits(tp)) continue;
    auto mesh = testing::mesh_with_tp(tp);
    EXPECT_EQ(mesh.dp * mesh.tp, world->size());
    EXPECT_EQ(mesh.tp_rank, world->rank() % tp);
    EXPECT_EQ(mesh.dp_rank, world->rank() / tp);
    EXPECT_EQ(mesh.tp_group->size(), tp);
    EXPECT_EQ(mesh.tp_group->rank(), mesh.tp_rank);
    // The tp group holds ranks dp_rank*tp .. dp_rank*tp + tp - 1; the dp group every tp-th rank.
    auto t = at::full({1}, double(world->rank()), at::TensorOptions().dtype(at::kDouble));
    mesh.tp_group->all_reduce(t);
    const double first = double(mesh.dp_rank * tp);
    EXPECT_DOUBLE_EQ(t.item<double>(), tp * first + tp * (tp - 1) / 2.0) << "tp " << tp;
    t.fill_(double(world->rank()));
    mesh.dp_group->all_reduce(t);
    double expected = 0;
    for (int64_t d = 0; d < mesh.dp; ++d) expected += double(d * tp + mesh.tp_rank);
    EXPECT_DOUBLE_EQ(t.item<double>(), expected) << "tp " << tp;
  }
}

TEST(Watchdog, EndsAnOverdueCollectiveWithItsName) {
  std::atomic<bool> fired{false};
  std::string message;
  std::mutex mutex;
  Watchdog watchdog(0.1, [&](const std::string& m) {
    std::lock_guard<std::mutex> lock(mutex);
    message = m;
    fired = true;
  });
  {
    auto quick = watchdog.watch("broadcast on group 'dp' (rank 0 of 2)");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_FALSE(fired);
  {
    auto slow = watchdog.watch("all_reduce on group 'tp' (rank 1 of 2)");
    for (int i = 0; i < 100 && !fired; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fired);
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_NE(message.find("watchdog: all_reduce on group 'tp' (rank 1 of 2) did not finish within 0.1 s"),
            std::string::npos)
      << message;
}

TEST(Watchdog, PollsReportAsyncFailures) {
  std::atomic<bool> fired{false};
  Watchdog watchdog(0.05, [&](const std::string& m) { fired = m.find("async boom") != std::string::npos; });
  auto handle = watchdog.add_poll([]() -> std::optional<std::string> { return "async boom"; });
  for (int i = 0; i < 100 && !fired; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  watchdog.remove_poll(handle);
  EXPECT_TRUE(fired);
}

}  // namespace
}  // namespace ember::distributed
