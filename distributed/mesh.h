// The device mesh: world = dp x tp. Tensor-parallel ranks are contiguous (on one node, where the
// links are fast): rank = dp_rank * tp + tp_rank.
//
//   world ranks 0..7, dp = 4, tp = 2:   tp groups {0,1} {2,3} {4,5} {6,7}
//                                       dp groups {0,2,4,6} {1,3,5,7}
// Mesh::init starts everything a job needs from its launch environment: MPI when there are several
// ranks (or an MPI launcher), the watchdog, the world communicator (NCCL for CUDA when built, MPI
// otherwise, a no-op one for a single process) and the dp / tp groups. A group of one rank is a
// no-op communicator, so dp = tp = 1 runs the single-process code path.
#pragma once

#include <cstdint>
#include <memory>

#include "distributed/communicator.h"
#include "distributed/launch_env.h"
#include "distributed/watchdog.h"

namespace ember::distributed {

struct MeshShape {
  int64_t dp = 1;
  int64_t tp = 1;
};

/// dp x tp for a world: dp = 0 derives it. Throws UsageError (naming parallel.dp / parallel.tp)
/// when they are not positive or do not multiply to the world size.
MeshShape resolve_mesh_shape(int64_t world_size, int64_t dp, int64_t tp);

struct MeshOptions {
  int64_t dp = 0;            ///< parallel.dp (0 = world / tp)
  int64_t tp = 1;            ///< parallel.tp
  double timeout_s = 300;    ///< parallel.timeout_s: watchdog limit per collective
  bool cuda = false;         ///< tensors live on the GPU of the local rank: NCCL when built
};

class Mesh {
 public:
  /// The job's mesh from its launch environment (see the top of this file).
  static Mesh init(const LaunchEnv& env, const MeshOptions& options);
  /// A mesh over an existing world communicator (tests, or a world made elsewhere).
  static Mesh over(std::shared_ptr<Communicator> world, int64_t dp, int64_t tp);

  int64_t dp = 1, tp = 1;
  int64_t dp_rank = 0, tp_rank = 0;
  std::shared_ptr<Communicator> world, dp_group, tp_group;
  std::shared_ptr<Watchdog> watchdog;  ///< null without one

  int rank() const { return world->rank(); }
  int world_size() const { return world->size(); }
  /// Bytes moved by every group of the mesh so far (per step: difference of two snapshots).
  CommVolume volume() const;
};

}  // namespace ember::distributed
