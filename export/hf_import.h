// `ember import --hf DIR --out DIR`: a Hugging Face Llama / Qwen2 / Qwen3 directory becomes an
// Ember run directory that every Ember command accepts as a checkpoint:
//   OUT/config.yaml                           the pretraining config with the imported model.*
//                                             and data.tokenizer = OUT/tokenizer.json (absolute)
//   OUT/tokenizer.json                        the source tokenizer (Ember's canonical text)
//   OUT/checkpoints/step_000000/              model.safetensors (fp32, canonical names), an empty
//                                             optimizer.safetensors, tokenizer.json, manifest.json whose
//                                             state.import records the source, its bos / eos /
//                                             pad ids and chat template (export writes them back)
// Weights come from model.safetensors or the shards named by model.safetensors.index.json, in
// F32, BF16 or F16 (widened to F32 exactly). Every tensor is checked against the config; a tied
// model's stored lm_head.weight and rotary_emb.inv_freq buffers are skipped.
#pragma once

#include <filesystem>

namespace ember::exporting {

/// Imports `hf_dir` into the new run directory `out` (which must not exist or be empty) and
/// returns the checkpoint directory. Throws ember::UsageError for unsupported architectures or
/// fields, ember::Error for missing / malformed files; nothing is left at `out` on failure.
std::filesystem::path import_hf(const std::filesystem::path& hf_dir, const std::filesystem::path& out);

}  // namespace ember::exporting
