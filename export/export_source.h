// What every exporter reads from an Ember checkpoint, validated before any output is written:
// the ModelConfig (the `model.*` keys of the run's resolved config in the manifest), the
// tokenizer (an explicit override, else the checkpoint's own tokenizer.json, else the config's
// `data.tokenizer`), the special tokens and chat template, and the memory-mapped fp32 weights,
// checked name by name and shape by shape against the config. Single-process checkpoints only (model.safetensors holds whole tensors).
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>

#include "core/safetensors.h"
#include "data/tokenizer/tokenizer.h"
#include "export/parameter_layout.h"
#include "export/special_tokens.h"
#include "model/model_config.h"

namespace ember::exporting {

struct ExportSource {
  std::filesystem::path checkpoint_dir;
  int64_t step = 0;
  model::ModelConfig model;
  std::filesystem::path tokenizer_path;
  data::Tokenizer tokenizer;
  SpecialTokens special;
  SafetensorsFile weights;              ///< model.safetensors, every tensor F32 with the layout's shape
  std::vector<ParameterSpec> layout;   ///< canonical order

  /// The float32 values of one parameter (a view into the mapped file).
  std::span<const float> values(const ParameterSpec& parameter) const;
};

/// Opens `checkpoint` (a checkpoint directory or a run directory: its newest checkpoint), verifies
/// its checksums and checks it against its config. Throws ember::Error naming the file at fault:
/// incomplete or corrupt checkpoint, missing / extra / misshaped / non-F32 tensor, a tokenizer
/// with more ids than the model has embedding rows.
ExportSource open_export_source(const std::filesystem::path& checkpoint,
                                const std::optional<std::filesystem::path>& tokenizer_override);

}  // namespace ember::exporting
