// The MPI backend of Communicator: CPU tensors directly; CUDA tensors staged through host memory
// (correct, slow: the NCCL backend is the GPU path). Every MPI call is checked and a failure names
// the collective, the group and the rank. Reductions of half / bfloat16 run in fp32 (MPI has no
// 16-bit float sums). Each blocking call is watched by the watchdog when one is given.
#pragma once

#include <memory>

#include "distributed/communicator.h"
#include "distributed/watchdog.h"

namespace ember::distributed {

/// The world group (a duplicate of MPI_COMM_WORLD); starts MPI when needed. `watchdog` may be null.
std::shared_ptr<Communicator> make_mpi_world(std::shared_ptr<Watchdog> watchdog);

}  // namespace ember::distributed
