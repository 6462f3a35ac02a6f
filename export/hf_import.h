// `ember import --hf DIR --out DIR`: a Hugging Face Llama / Qwen2 / Qwen3 directory becomes an
// Ember run directory that every Ember command accepts as a checkpoint:
//   OUT/config.yaml                           the pretraining config with the imported model.*
//                                             and data.tokenizer = OUT/tokenizer.json (absolute),
//                                             rendered by the caller (the CLI knows the schemas)
//   OUT/tokenizer.json                        the source tokenizer (Ember's canonical text)
//   OUT/checkpoints/step_000000/              written by checkpoint::CheckpointWriter: the fp32
//                                             weights by canonical name (no optimizer state),
//                                             tokenizer.json, manifest.json whose
//                                             state.import records the source, its bos / eos /
//                                             pad ids and chat template (export writes them back)
// Weights come from model.safetensors or the shards named by model.safetensors.index.json, in
// F32, BF16 or F16 (widened to F32 exactly). Every tensor is checked against the config; a tied
// model's stored lm_head.weight and rotary_emb.inv_freq buffers are skipped.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "model/model_config.h"

namespace ember::exporting {

/// The run config.yaml of an imported model: its architecture, run directory and tokenizer path.
using RunConfigRenderer = std::function<std::string(const model::ModelConfig& model, const std::filesystem::path& run_dir,
                                                    const std::filesystem::path& tokenizer)>;

/// Imports `hf_dir` into the new run directory `out` (which must not exist or be empty) and
/// returns the checkpoint directory. Throws ember::UsageError for unsupported architectures or
/// fields, ember::Error for missing / malformed files; nothing is left at `out` on failure.
std::filesystem::path import_hf(const std::filesystem::path& hf_dir, const std::filesystem::path& out,
                                const RunConfigRenderer& render_config);

}  // namespace ember::exporting
