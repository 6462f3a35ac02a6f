// Finding checkpoints: the complete ones of a run, the one a path names, the one to resume from
// (the newest that verifies, falling back past a corrupt newest one when allowed).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ember::checkpoint {

/// Complete checkpoints (step_* directories with a manifest) of a run, newest first (unverified).
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& run_dir);

/// A checkpoint directory itself, or the newest complete checkpoint of a run directory. Throws
/// ember::Error naming the path when it is neither.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& path);

/// What to resume from for `checkpoint.resume`: "none" gives nothing; "auto" the newest complete
/// checkpoint in run_dir that verifies (a corrupt one is reported and, when `fall_back`, skipped;
/// otherwise it stops the run); any other value is a checkpoint or run directory, verified.
std::optional<std::filesystem::path> find_resume_checkpoint(const std::filesystem::path& run_dir,
                                                            const std::string& resume, bool fall_back);

}  // namespace ember::checkpoint
