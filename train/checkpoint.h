// Crash-safe checkpoints.
//
//   RUN/checkpoints/step_000100/manifest.json       step, config, trainer state, per-file SHA-256
//   RUN/checkpoints/step_000100/model.safetensors   parameters by canonical name (fp32)
//   RUN/checkpoints/step_000100/optimizer.safetensors  AdamW moments, RNG state
//   RUN/checkpoints/step_000100/tokenizer.json      the run's tokenizer (a checkpoint is self-contained)
//   RUN/checkpoints/latest                          name of the newest complete checkpoint
//
// A checkpoint is written into a hidden temporary directory, every file fsynced, the manifest
// written last, and the directory renamed into place: a directory named step_* with a manifest is
// complete, anything else is not a checkpoint. Loading verifies every file against the manifest's
// SHA-256 before use.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include "model/model_config.h"
#include "train/config.h"

namespace ember::train {

struct Checkpoint {
  int64_t step = 0;
  std::map<std::string, at::Tensor> model;      ///< parameters by canonical name
  std::map<std::string, at::Tensor> optimizer;  ///< optimizer state and RNG tensors by name
  nlohmann::json state;                         ///< trainer, data-loader and metric state
  std::string config_yaml;                      ///< resolved config of the run that wrote it
  std::string tokenizer_json;                   ///< contents of the run's tokenizer.json (may be empty)
};

/// Writes checkpoints of one run and keeps the newest `keep` of them.
class CheckpointWriter {
 public:
  CheckpointWriter(std::filesystem::path run_dir, int64_t keep);
  /// Saves atomically and prunes old ones; returns the checkpoint directory. Throws ember::Error
  /// (naming the path and the system error, e.g. disk full) leaving earlier checkpoints intact.
  std::filesystem::path save(const Checkpoint& checkpoint);

 private:
  std::filesystem::path directory_;
  int64_t keep_;
};

/// Whether step `step` of `total_steps` saves a checkpoint: every checkpoint.interval steps (when
/// set) and at the end.
bool checkpoint_due(const CheckpointConfig& checkpoint, int64_t step, int64_t total_steps);

/// Complete checkpoints of a run, newest first (no verification).
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& run_dir);

/// A checkpoint directory itself, or the newest complete checkpoint of a run directory. Throws
/// ember::Error naming the path when it is neither.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& path);

/// Checks every file against the manifest; throws ember::Error naming the corrupt or missing file.
void verify_checkpoint(const std::filesystem::path& checkpoint_dir);

/// Verifies and loads a checkpoint directory.
Checkpoint load_checkpoint(const std::filesystem::path& checkpoint_dir);

/// The model architecture a checkpoint was trained with (the `model.*` keys of its config).
model::ModelConfig read_model_config(const std::filesystem::path& checkpoint_dir);

/// The path of the checkpoint's tokenizer.json; throws ember::Error when it has none.
std::filesystem::path checkpoint_tokenizer(const std::filesystem::path& checkpoint_dir);

/// What to resume from for `checkpoint.resume`: "none" gives nothing; "auto" the newest complete
/// checkpoint in run_dir that verifies (a corrupt one is reported and, when `fall_back`, skipped;
/// otherwise it stops the run); any other value is a checkpoint or run directory.
std::optional<std::filesystem::path> find_resume_checkpoint(const std::filesystem::path& run_dir,
                                                            const std::string& resume, bool fall_back);

}  // namespace ember::train
