// The rules of a run directory that every recipe's run follows (docs/reliability.md, "Run
// directories"), checked before the run writes anything but its lock:
//
//   * One writer. The lead rank holds an exclusive flock(2) on RUN/.lock for the whole run; the
//     file names the holder (host, pid, start time). The kernel releases a flock when its process
//     exits, however it exits (crash, kill -9), so a lock file whose lock nobody holds is stale and
//     is taken over with a warning naming the previous holder. A second writer is refused.
//   * The same model. A resumed checkpoint's `model.*` config must equal the run's, key by key;
//     every differing key is named.
//   * The same schedule. lr(s) is fixed by (schedule kind, peak lr, min lr ratio, warmup steps,
//     total steps, decay fraction); total = (optim.schedule_steps or train.steps) x optimizer
//     updates per step. A resume that changes any term that lr(s) depends on is refused, with each
//     change and the lr of the next step before and after, unless checkpoint.allow_schedule_change.
//   * No silent rewind. A run that starts from step s (0 for a fresh run, the checkpoint's step
//     when resuming) overwrites checkpoints at steps > s and prunes the rest; when run.dir holds
//     such checkpoints (checkpoint.resume=none, or an explicit older checkpoint) the run is refused
//     unless checkpoint.rewind=true, which moves them (and a copy of metrics.jsonl) into
//     RUN/rewound/<UTC time>/ instead of deleting anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "train/config.h"
#include "train/schedule.h"

namespace ember::train {

/// The exclusive lock on RUN/.lock (see the top). Move-only; released on destruction.
class RunDirectoryLock {
 public:
  /// Creates run_dir when missing and takes the lock; ember::Error naming the holder when another
  /// process holds it.
  static RunDirectoryLock acquire(const std::filesystem::path& run_dir);
  RunDirectoryLock(RunDirectoryLock&& other) noexcept;
  RunDirectoryLock& operator=(RunDirectoryLock&&) = delete;
  RunDirectoryLock(const RunDirectoryLock&) = delete;
  ~RunDirectoryLock();

  /// The run has passed its checks and writes: the directory stays. Until then a directory that
  /// acquire() created is removed again on release, so a refused run leaves nothing behind.
  void keep_directory() { keep_ = true; }

 private:
  RunDirectoryLock(std::filesystem::path run_dir, int fd, bool created);
  std::filesystem::path run_dir_;
  int fd_ = -1;
  bool created_ = false, keep_ = false;
};

/// "model.n_layers: checkpoint 2, this run 3" for every model key whose value differs.
std::vector<std::string> model_config_differences(const model::ModelConfig& checkpoint, const model::ModelConfig& run);

/// UsageError naming every differing key when `checkpoint_dir`'s model config is not `run`.
void check_same_model(const std::filesystem::path& checkpoint_dir, const model::ModelConfig& run);

/// The schedule a run's optimizer follows: (optim.schedule_steps or train.steps) x updates per step.
ScheduleOptions run_schedule(const OptimConfig& optim, int64_t train_steps, int64_t updates_per_step);

nlohmann::json schedule_json(const ScheduleOptions& schedule);

/// The schedule a checkpoint was trained with: its state's "schedule", or for checkpoints that
/// predate it the `optim.*` / `train.steps` keys of its config with `updates_per_step`.
ScheduleOptions saved_schedule(const nlohmann::json& state, const std::string& config_yaml, int64_t updates_per_step);

/// What changes between two schedules, term by term (only terms lr(s) depends on).
std::vector<std::string> schedule_differences(const ScheduleOptions& saved, const ScheduleOptions& run);

/// Refuses (UsageError) a resume whose schedule differs unless `allowed`, naming each change and
/// the lr of optimizer step `next_update` under both; when allowed, warns with the same text.
void check_schedule(const std::filesystem::path& checkpoint_dir, const ScheduleOptions& saved,
                    const ScheduleOptions& run, int64_t next_update, bool allowed);

/// Complete checkpoints of run_dir at steps after `step`, newest first.
std::vector<std::filesystem::path> checkpoints_after(const std::filesystem::path& run_dir, int64_t step);

/// Refuses (UsageError) a run starting at `step` when run_dir holds checkpoints after it, unless
/// `rewind`; returns those checkpoints (for rewind_checkpoints once every check has passed).
std::vector<std::filesystem::path> check_rewind(const std::filesystem::path& run_dir, int64_t step, bool rewind);

/// Moves `newer` and a copy of metrics.jsonl into RUN/rewound/<UTC time>/, with a warning.
void rewind_checkpoints(const std::filesystem::path& run_dir, const std::vector<std::filesystem::path>& newer);

}  // namespace ember::train
