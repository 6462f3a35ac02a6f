// MPI start, finish and abort (see mpi_runtime.h).
#include "distributed/mpi_runtime.h"

#include <cstdlib>

#if EMBER_HAVE_MPI
#include <mpi.h>
#endif

#include "core/error.h"

namespace ember::distributed {

#if EMBER_HAVE_MPI

bool mpi_built() { return true; }

bool mpi_running() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

bool mpi_thread_multiple() {
  if (!mpi_running()) return false;
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided == MPI_THREAD_MULTIPLE;
}

void mpi_start() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return;
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS) {
    fail("MPI_Init_thread failed: is this process started by mpirun / srun with a working MPI?");
  }
  // Errors come back as codes that the communicators turn into messages.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  std::atexit([] {
    if (mpi_running()) MPI_Finalize();
  });
}

void mpi_abort_world(int code) {
  if (mpi_running()) MPI_Abort(MPI_COMM_WORLD, code);
}

#else

bool mpi_built() { return false; }
bool mpi_running() { return false; }
bool mpi_thread_multiple() { return false; }
void mpi_start() { fail("this Ember was built without MPI (EMBER_WITH_MPI=OFF): it cannot run several ranks"); }
void mpi_abort_world(int) {}

#endif

}  // namespace ember::distributed
