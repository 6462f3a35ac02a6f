// The NCCL backend of Communicator: CUDA tensors, collectives enqueued on the caller's current
// CUDA stream (so they are ordered with the compute that produced and consumes them and need no
// extra events or recordStream). Bootstrap: rank 0's ncclUniqueId is broadcast over the MPI world;
// sub-groups come from ncclCommSplit. Every NCCL / CUDA call is checked and a failure names the
// collective, the group and the rank.
//
// Watchdog: collectives are asynchronous, so a hang shows up later (at a host sync). Each call
// records a CUDA event after the collective; a watchdog poll checks ncclCommGetAsyncError and
// every pending event, and when an error appears or an event is older than parallel.timeout_s it
// aborts the NCCL communicator (ncclCommAbort) and ends the job with a message.
#pragma once

#include <memory>

#include "distributed/communicator.h"
#include "distributed/watchdog.h"

namespace ember::distributed {

/// True when Ember was built with NCCL (CUDA toolkit + NCCL headers found).
bool nccl_built();

/// The world group over NCCL on GPU `device_index`, bootstrapped over `bootstrap` (the MPI world,
/// same ranks). `watchdog` may be null. Throws ember::Error when NCCL is not built in.
std::shared_ptr<Communicator> make_nccl_world(Communicator& bootstrap, int device_index,
                                              std::shared_ptr<Watchdog> watchdog);

}  // namespace ember::distributed
