// Shared fixtures of the distributed tests: the job's world (a no-op one in a single process, MPI
// under mpirun) with a watchdog so a mismatched test ends the job instead of hanging CI, and
// helpers to compare a rank's result with the single-process one.
#pragma once

#include <ATen/Tensor.h>

#include "distributed/mesh.h"

namespace ember::distributed::testing {

/// The world of this test process (started once; one intra-op thread per rank).
std::shared_ptr<Communicator> world();

/// Whether tp divides the world size (tests skip the layouts that do not fit).
bool tp_fits(int64_t tp);
/// A mesh over world() with the given tp, dp derived.
Mesh mesh_with_tp(int64_t tp);

/// A deterministic tensor identical on every rank (seeded generator).
at::Tensor same_everywhere(at::IntArrayRef sizes, uint64_t seed);

}  // namespace ember::distributed::testing
