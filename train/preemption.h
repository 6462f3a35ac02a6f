// Preemption: SIGTERM (what Slurm and most schedulers send before killing a job) and SIGUSR1
// (Slurm's --signal=USR1@T warning) ask a run to stop at the next step boundary. The handler only
// records the signal; the training loop polls it after each step, saves a checkpoint, and returns
// normally, so `checkpoint.resume=auto` continues on exactly the same loss curve.
#pragma once

#include <cstdint>
#include <functional>

namespace ember::train {

/// Installs the SIGTERM / SIGUSR1 handlers (idempotent).
void install_preemption_handlers();

/// The signal received since installation, or 0.
int preemption_signal();

/// "SIGTERM", "SIGUSR1" or "a signal".
const char* preemption_signal_name(int signal);

/// The end of every recipe's step `step`: saves a checkpoint when one is `due` or when `signal`
/// (a preemption signal, 0 for none) arrived; returns true when the run must stop because of the
/// signal, after logging how to continue.
bool checkpoint_after_step(int64_t step, bool due, int signal, const std::function<void()>& save);

}  // namespace ember::train
