// Stop signals recorded for a checkpoint at the next step boundary (see preemption.h).
#include "train/preemption.h"

#include <unistd.h>

#include <csignal>
#include <cstring>

#include "core/log.h"

namespace ember::train {
namespace {

volatile std::sig_atomic_t received_signal = 0;
volatile std::sig_atomic_t interrupts = 0;
int stopped_on = 0;

/// write(2) of a literal: the only output that is safe inside a signal handler.
void say(const char* text) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)ignored;
}

extern "C" void record_stop_signal(int signal) {
  if (received_signal == 0) received_signal = signal;
}

extern "C" void record_interrupt(int signal) {
  interrupts = interrupts + 1;
  if (interrupts >= 2) {
    say("\nember: second interrupt: stopping at once, without a checkpoint (the previous one is intact)\n");
    ::_exit(128 + SIGINT);
  }
  if (received_signal == 0) {
    received_signal = signal;
    say("\nember: interrupt: finishing the current step and saving a checkpoint; press Ctrl-C again to stop "
        "at once\n");
  } else {
    say("\nember: interrupt: already stopping after the current step; press Ctrl-C again to stop at once\n");
  }
}

}  // namespace

void install_preemption_handlers() {
  struct sigaction action {};
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // blocking reads and waits carry on; the loop checks after the step
  action.sa_handler = record_stop_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
  struct sigaction previous {};
  sigaction(SIGINT, nullptr, &previous);
  if (previous.sa_handler == SIG_IGN) return;  // a background job of a script: keep ignoring Ctrl-C
  action.sa_handler = record_interrupt;
  sigaction(SIGINT, &action, nullptr);
}

int preemption_signal() { return received_signal; }

const char* preemption_signal_name(int signal) {
  if (signal == SIGTERM) return "SIGTERM";
  if (signal == SIGUSR1) return "SIGUSR1";
  if (signal == SIGINT) return "SIGINT";
  return "a signal";
}

bool checkpoint_after_step(int64_t step, bool due, int signal, const std::function<void()>& save) {
  if (due || signal != 0) save();
  if (signal == 0) return false;
  stopped_on = signal;
  log::warn("stopping at step {} on {}: checkpoint saved; run the same command again to continue "
            "(checkpoint.resume=auto)", step, preemption_signal_name(signal));
  return true;
}

int exit_status_after_stop() { return stopped_on == SIGINT ? 128 + SIGINT : 0; }

}  // namespace ember::train
