// What a checkpoint says about the run that wrote it, beyond tensors: the model architecture (the
// `model.*` keys of the resolved config in its manifest) and its tokenizer.json.
#pragma once

#include <filesystem>

#include "model/model_config.h"

namespace ember::checkpoint {

/// The model architecture a checkpoint was trained with. Throws ember::Error naming the manifest
/// when its config is missing or invalid.
model::ModelConfig read_model_config(const std::filesystem::path& checkpoint_dir);

/// The path of the checkpoint's tokenizer.json, verified against the manifest; throws ember::Error
/// when the manifest lists none or the file does not match.
std::filesystem::path checkpoint_tokenizer(const std::filesystem::path& checkpoint_dir);

}  // namespace ember::checkpoint
