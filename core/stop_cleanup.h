// Ctrl-C and SIGTERM for the commands that write files but have no step boundary to stop at
// (data generate / prepare, tokenizer train, distill dump-teacher, export, import). Their outputs
// are written under temporary names in the output's directory and renamed into place at the end
// (core/files.h, the token-store and teacher-logits writers, export/staged_output.h), so a stopped
// command never leaves a half-written output at the path it was given. This removes the
// temporaries as well, so nothing of an interrupted command is left:
//   - `.tmp.NAME.PID` files (atomic writes) and `.NAME.tmp-PID` staging files or directories
//     (exports) of THIS process in the watched directories are removed;
//   - outputs already renamed into place stay (they are complete: e.g. earlier shards of a
//     sharded token store);
//   - the command says so on stderr and exits with 128 + the signal (130 for Ctrl-C).
// A signal that the parent process set to be ignored stays ignored.
#pragma once

#include <filesystem>
#include <vector>

namespace ember {

/// Blocks SIGINT and SIGTERM in the calling thread and starts a thread that waits for them and
/// then cleans the directories that hold `outputs` as described above. Call it at the start of a
/// command, before it starts worker threads (they inherit the blocked mask). Once per process.
void remove_temporaries_on_stop(const std::vector<std::filesystem::path>& outputs);

/// Removes this process's temporaries (the two patterns above) from `directory`; returns how many
/// entries were removed.
int remove_own_temporaries(const std::filesystem::path& directory);

}  // namespace ember
