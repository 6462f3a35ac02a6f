// SIGTERM / SIGUSR1 recorded for a checkpoint at the next step boundary (see preemption.h).
#include "train/preemption.h"

#include <csignal>

#include "core/log.h"

namespace ember::train {
namespace {

volatile std::sig_atomic_t received_signal = 0;

extern "C" void record_preemption(int signal) { received_signal = signal; }

}  // namespace

void install_preemption_handlers() {
  struct sigaction action {};
  action.sa_handler = record_preemption;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and waits carry on; the loop checks after the step
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

int preemption_signal() { return received_signal; }

const char* preemption_signal_name(int signal) {
  if (signal == SIGTERM) return "SIGTERM";
  if (signal == SIGUSR1) return "SIGUSR1";
  return "a signal";
}

bool checkpoint_after_step(int64_t step, bool due, int signal, const std::function<void()>& save) {
  if (due || signal != 0) save();
  if (signal == 0) return false;
  log::warn("stopping at step {} on {}: checkpoint saved; run the same command again to continue "
            "(checkpoint.resume=auto)", step, preemption_signal_name(signal));
  return true;
}

}  // namespace ember::train
