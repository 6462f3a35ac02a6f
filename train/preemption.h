// Stopping a run cleanly on a signal. SIGTERM (what Slurm and most schedulers send before killing
// a job), SIGUSR1 (Slurm's --signal=USR1@T warning) and SIGINT (Ctrl-C) ask a run to stop at the
// next step boundary. The handler only records the signal (and, for Ctrl-C, says on stderr what
// will happen); the training loop polls it after each step, saves a checkpoint, and returns
// normally, so `checkpoint.resume=auto` continues on exactly the same loss curve.
//
//   first SIGINT          graceful stop; exit status 130 after the checkpoint (a shell's `&&`
//                         chain stops, as after any Ctrl-C)
//   SIGTERM / SIGUSR1     graceful stop; exit status 0 (the scheduler requeues the job)
//   a second SIGINT       stops at once, exit 130, no checkpoint (the message says so); the
//                         previous checkpoint stays intact and debris of the interrupted save is
//                         removed by the next one
//   SIGINT after SIGTERM  the graceful stop already under way continues (the first Ctrl-C is
//                         the first SIGINT whatever came before)
// A SIGINT that the parent process set to be ignored (a background job of a script) stays ignored.
#pragma once

#include <cstdint>
#include <functional>

namespace ember::train {

/// Installs the SIGTERM / SIGUSR1 / SIGINT handlers (idempotent).
void install_preemption_handlers();

/// The first stop signal received since installation, or 0.
int preemption_signal();

/// "SIGTERM", "SIGUSR1", "SIGINT" or "a signal".
const char* preemption_signal_name(int signal);

/// The end of every recipe's step `step`: saves a checkpoint when one is `due` or when `signal`
/// (a stop signal, 0 for none) arrived; returns true when the run must stop because of the
/// signal, after logging how to continue.
bool checkpoint_after_step(int64_t step, bool due, int signal, const std::function<void()>& save);

/// The process exit status once the command has returned: 130 when a run stopped on SIGINT
/// (checkpoint saved), else 0.
int exit_status_after_stop();

}  // namespace ember::train
