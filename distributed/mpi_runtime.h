// The process's MPI runtime: start once (MPI_Init_thread with MPI_THREAD_MULTIPLE, so the
// watchdog thread may call MPI_Abort and communication threads may run collectives), finish at
// exit, abort the whole job. Without MPI in the build these report "not available" and do nothing.
#pragma once

namespace ember::distributed {

/// True when Ember was built with MPI.
bool mpi_built();

/// Starts MPI unless it already runs; MPI_Finalize is registered to run at exit. Throws
/// ember::Error when MPI is not built in or cannot start.
void mpi_start();

/// True between mpi_start() and finalisation.
bool mpi_running();

/// True when the running MPI grants MPI_THREAD_MULTIPLE (collectives from several threads: the
/// communication thread of async collectives). False when MPI does not run.
bool mpi_thread_multiple();

/// MPI_Abort(MPI_COMM_WORLD, code) when MPI runs (does not return then); otherwise returns.
void mpi_abort_world(int code);

}  // namespace ember::distributed
