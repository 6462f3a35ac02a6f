// Removing an interrupted command's temporaries (see stop_cleanup.h).
#include "core/stop_cleanup.h"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "core/error.h"

namespace fs = std::filesystem;

namespace ember {
namespace {

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The signals to wait for: SIGINT and SIGTERM, less any the parent set to be ignored.
sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGINT, SIGTERM}) {
    struct sigaction current {};
    sigaction(signal, nullptr, &current);
    if (current.sa_handler != SIG_IGN) sigaddset(&set, signal);
  }
  return set;
}

}  // namespace

int remove_own_temporaries(const fs::path& directory) {
  const std::string pid = std::to_string(::getpid());
  int removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(directory, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool atomic_write = name.rfind(".tmp.", 0) == 0 && ends_with(name, "." + pid);
    const bool staged_export = name.size() > 1 && name[0] == '.' && ends_with(name, ".tmp-" + pid);
    if (!atomic_write && !staged_export) continue;
    std::error_code remove_error;
    if (fs::remove_all(it->path(), remove_error) > 0) ++removed;
  }
  return removed;
}

void remove_temporaries_on_stop(const std::vector<fs::path>& outputs) {
  const sigset_t signals = stop_signals();
  if (sigisemptyset(&signals)) return;
  if (pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) fail("cannot block SIGINT / SIGTERM");
  std::vector<fs::path> watched;
  for (fs::path output : outputs) {
    if (output.filename().empty()) output = output.parent_path();  // "out/" -> "out"
    watched.push_back(output.has_parent_path() ? output.parent_path() : fs::path("."));
  }
  std::thread([signals, watched] {
    int signal = 0;
    if (sigwait(&signals, &signal) != 0) return;
    int removed = 0;
    for (const fs::path& directory : watched) removed += remove_own_temporaries(directory);
    std::fprintf(stderr, "\nember: stopped on %s; removed %d temporary file(s), no partial output is left\n",
                 signal == SIGINT ? "SIGINT" : "SIGTERM", removed);
    std::fflush(stderr);
    ::_exit(128 + signal);
  }).detach();
}

}  // namespace ember
