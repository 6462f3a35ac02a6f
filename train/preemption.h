// Preemption: SIGTERM (what Slurm and most schedulers send before killing a job) and SIGUSR1
// (Slurm's --signal=USR1@T warning) ask a run to stop at the next step boundary. The handler only
// records the signal; the training loop polls it after each step, saves a checkpoint, and returns
// normally, so `checkpoint.resume=auto` continues on exactly the same loss curve.
#pragma once

namespace ember::train {

/// Installs the SIGTERM / SIGUSR1 handlers (idempotent).
void install_preemption_handlers();

/// The signal received since installation, or 0.
int preemption_signal();

/// "SIGTERM", "SIGUSR1" or "signal N".
const char* preemption_signal_name(int signal);

}  // namespace ember::train
