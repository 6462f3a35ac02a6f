// `ember export --format hf`: a Hugging Face directory that transformers, vLLM, SGLang and
// TensorRT-LLM load as it is:
//   config.json, generation_config.json, tokenizer.json, tokenizer_config.json, chat_template.jinja
//   model.safetensors                       (everything fits in one shard), or
//   model-0000i-of-0000n.safetensors + model.safetensors.index.json
// Tensors keep their canonical names and are written in the requested dtype with
// __metadata__ {"format": "pt"}; tied embeddings have no lm_head.weight. Nothing else is written
// (TensorRT-LLM loads every *.safetensors it finds). The directory appears complete or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "export/export_source.h"

namespace ember::exporting {

enum class HfDtype { kF32, kBF16, kF16 };

/// "f32" / "bf16" / "f16"; throws ember::UsageError for anything else.
HfDtype parse_hf_dtype(const std::string& text);

struct HfExportOptions {
  HfDtype dtype = HfDtype::kF32;
  int64_t max_shard_bytes = 5'000'000'000;  ///< a shard closes before a tensor would overflow it
};

/// Writes the directory `out` (replacing a previous export there). Throws ember::Error.
void export_hf(const ExportSource& source, const std::filesystem::path& out, const HfExportOptions& options);

/// True when `path` looks like a directory this exporter wrote (it has config.json and
/// model.safetensors or its index) or is empty, so a new export may replace it.
bool is_previous_hf_export(const std::filesystem::path& path);

}  // namespace ember::exporting
