// The run's metrics sinks: RUN/metrics.jsonl (one JSON object per logged step) and, optionally,
// TensorBoard event files beside it. Torch-free; only rank 0 of a job should own one.
//
// metrics.jsonl lines look like {"step":100,"loss":2.31,"lr":0.0003,...}: "step" first, then the
// scalars in the order given. Non-finite values (NaN, +-inf) are written as JSON null, so every
// line is strict JSON (Python's json, jq, pandas read it). Each line is flushed as it is written
// (no fsync); a line torn by a crash is dropped at the next resume.
//
// Resume: truncate_from(step) removes every line whose step >= `step` (and lines that do not parse)
// and marks a restart in the TensorBoard events, so a resumed run never shows a step twice. The
// trainer calls it at start with the first step it will log; if it does not, the first log() call
// does it with that call's step.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "train/tensorboard_writer.h"

namespace ember::train {

class MetricsLog {
 public:
  /// Creates `run_dir` if needed and opens run_dir/metrics.jsonl for appending; with
  /// `tensorboard`, also starts a new event file in run_dir. Throws ember::Error on I/O failure.
  MetricsLog(const std::filesystem::path& run_dir, bool tensorboard);

  /// Drops metrics.jsonl lines with step >= `step` (rewritten atomically) and writes a TensorBoard
  /// restart marker at `step`. A no-op on the lines of a fresh run.
  void truncate_from(int64_t step);

  /// Appends {"step": step, name: value, ...} and the same scalars to TensorBoard, then flushes.
  /// Names must be unique and not "step" (ember::Error otherwise).
  void log(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);

  /// Flushes both sinks to the operating system.
  void flush();

  const std::filesystem::path& jsonl_path() const { return jsonl_path_; }

 private:
  void open_jsonl();

  std::filesystem::path jsonl_path_;
  std::ofstream jsonl_;
  std::optional<TensorBoardWriter> tensorboard_;
  bool truncated_ = false;
};

}  // namespace ember::train
