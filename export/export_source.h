// What every exporter reads from an Ember checkpoint, validated before any output is written:
// the ModelConfig (the `model.*` keys of the run's resolved config in the manifest), the
// tokenizer (an explicit override, else the checkpoint's own tokenizer.json, else the config's
// `data.tokenizer`), the special tokens and chat template, and the fp32 weights of any layout
// (sharded format 2 or format 1), checked name by name and shape by shape against the config from
// the manifest before any is read. Weights are then read one whole tensor at a time, so exporting
// takes about one tensor of memory, not the model.
//
// A tokenizer other than the one the checkpoint records (--tokenizer with different contents) is
// refused unless allowed (--allow-other-tokenizer): the ids the model learned would then mean
// other strings. Allowed, it is exported with a warning.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "checkpoint/reader.h"
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
  checkpoint::CheckpointReader weights;  ///< every "model" tensor F32 with the layout's shape
  std::vector<ParameterSpec> layout;    ///< canonical order

  /// The float32 values of one whole parameter, assembled from its shards.
  std::vector<float> values(const ParameterSpec& parameter) const;
};

/// Opens `checkpoint` (a checkpoint directory or a run directory: its newest checkpoint), verifies
/// its checksums and checks it against its config. Throws ember::Error naming the file at fault:
/// incomplete or corrupt checkpoint, missing / extra / misshaped / non-F32 tensor, a tokenizer
/// with more ids than the model has embedding rows; ember::UsageError for a tokenizer override
/// that differs from the checkpoint's own unless `allow_other_tokenizer`.
ExportSource open_export_source(const std::filesystem::path& checkpoint,
                                const std::optional<std::filesystem::path>& tokenizer_override,
                                bool allow_other_tokenizer = false);

}  // namespace ember::exporting
