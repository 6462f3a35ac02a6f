// Preemption: SIGTERM (what Slurm and most schedulers send before killing a job) and SIGUSR1
// (Slurm's --signal=USR1@T warning) ask a run to stop at the next step boundary. The handler only
// records the signal; the training loop polls it after each step, saves a checkpoint, and returns
// normally, so `checkpoint.resume=auto` continues on exactly the same loss curve.
#pragma once

#include <cstdint>

namespace ember::train {

/// Installs the SIGTERM / SIGUSR1 handlers (idempotent).
void install_preemption_handlers();

/// The signal received since installation, or 0.
int preemption_signal();

/// "SIGTERM", "SIGUSR1" or "a signal".
const char* preemption_signal_name(int signal);

/// The warning every recipe logs when it stops for `signal` after saving the checkpoint of `step`.
void log_preemption_stop(int64_t step, int signal);

}  // namespace ember::train
