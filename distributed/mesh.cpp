// Mesh shape, backend choice and dp / tp groups (see mesh.h).
#include "distributed/mesh.h"

#include "core/error.h"
#include "distributed/mpi_communicator.h"
#include "distributed/nccl_communicator.h"

namespace ember::distributed {

MeshShape resolve_mesh_shape(int64_t world_size, int64_t dp, int64_t tp) {
  if (tp < 1) fail_usage("parallel.tp must be at least 1, got {}", tp);
  if (dp < 0) fail_usage("parallel.dp must be at least 1 (or 0 to derive it from the world size), got {}", dp);
  if (dp == 0) {
    if (world_size % tp != 0) {
      fail_usage("parallel.tp ({}) does not divide the world size ({} ranks): launch a multiple of {} ranks", tp,
                 world_size, tp);
    }
    dp = world_size / tp;
  }
  if (dp * tp != world_size) {
    fail_usage("parallel.dp ({}) x parallel.tp ({}) = {} ranks, but the job has {}: set parallel.dp=0 to derive it",
               dp, tp, dp * tp, world_size);
  }
  return {dp, tp};
}

Mesh Mesh::init(const LaunchEnv& env, const MeshOptions& options) {
  // Check the shape before starting anything, so a bad layout fails as a usage error at once.
  resolve_mesh_shape(env.world_size, options.dp, options.tp);
  if (!env.needs_mpi()) return over(make_solo_communicator("world"), options.dp, options.tp);
  auto watchdog = std::make_shared<Watchdog>(options.timeout_s);
  auto world = make_mpi_world(watchdog);
  if (options.cuda && nccl_built()) world = make_nccl_world(*world, env.local_rank, watchdog);
  auto mesh = over(std::move(world), options.dp, options.tp);
  mesh.watchdog = std::move(watchdog);
  return mesh;
}

Mesh Mesh::over(std::shared_ptr<Communicator> world, int64_t dp, int64_t tp) {
  auto shape = resolve_mesh_shape(world->size(), dp, tp);
  Mesh mesh;
  mesh.dp = shape.dp;
  mesh.tp = shape.tp;
  const int rank = world->rank();
  mesh.tp_rank = rank % shape.tp;
  mesh.dp_rank = rank / shape.tp;
  // Every rank takes the same branches (they depend on dp and tp only), so the splits match.
  if (shape.tp == 1) {
    mesh.tp_group = make_solo_communicator("tp");
  } else if (shape.dp == 1) {
    mesh.tp_group = world;
  } else {
    mesh.tp_group = world->split(int(mesh.dp_rank), rank, "tp");
  }
  if (shape.dp == 1) {
    mesh.dp_group = make_solo_communicator("dp");
  } else if (shape.tp == 1) {
    mesh.dp_group = world;
  } else {
    mesh.dp_group = world->split(int(mesh.tp_rank), rank, "dp");
  }
  mesh.world = std::move(world);
  return mesh;
}

CommVolume Mesh::volume() const {
  CommVolume total = world->volume();
  if (tp_group != world) total += tp_group->volume();
  if (dp_group != world) total += dp_group->volume();
  return total;
}

}  // namespace ember::distributed
