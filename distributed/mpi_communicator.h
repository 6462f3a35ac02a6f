// The MPI backend of Communicator: CPU tensors directly; CUDA tensors staged through host memory
// (correct, slow: the NCCL backend is the GPU path). Every MPI call is checked and a failure names
// the collective, the group and the rank. Reductions of half / bfloat16 run in fp32 (MPI has no
// 16-bit float sums). Each blocking call is watched by the watchdog when one is given.
//
// Async all-reduces run as blocking MPI_Allreduce jobs on a communication thread of the
// communicator (comm_thread.h; started at the first async call, watched like any blocking call),
// so the data moves while the caller computes; every blocking call of the communicator first
// drains that thread. When MPI does not grant MPI_THREAD_MULTIPLE, async calls run at once
// (logged once).
#pragma once

#include <memory>

#include "distributed/communicator.h"
#include "distributed/watchdog.h"

namespace ember::distributed {

/// The world group (a duplicate of MPI_COMM_WORLD); starts MPI when needed. `watchdog` may be null.
std::shared_ptr<Communicator> make_mpi_world(std::shared_ptr<Watchdog> watchdog);

}  // namespace ember::distributed
