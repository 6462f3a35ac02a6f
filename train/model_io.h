// Moving parameters between a module and named tensors (checkpoints, imports), and building a
// Transformer from a checkpoint directory.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include "model/transformer.h"

namespace ember::train {

/// Copies every parameter of `module` from `tensors` (by canonical name). Throws ember::Error
/// naming `source` and the parameter when one is missing or has another shape.
void load_parameters(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                     const std::string& source);

/// The Transformer stored in a checkpoint (architecture from its config, weights verified and loaded),
/// running the kernels of `kernels` (a run's Runtime::kernels).
model::Transformer load_model(const std::filesystem::path& checkpoint_dir,
                              const model::kernels::KernelPolicy& kernels);

}  // namespace ember::train
