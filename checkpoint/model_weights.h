// A model's parameters from a checkpoint, whole tensors one at a time (generate, eval, RL's
// initial policy and reference, a distillation teacher or student): the architecture from the
// checkpoint's config, the weights through the reader of any layout.
#pragma once

#include <filesystem>

#include <torch/nn/module.h>

#include "checkpoint/reader.h"
#include "model/kernels/kernel_policy.h"
#include "model/transformer.h"

namespace ember::checkpoint {

/// Copies every parameter of `module` from the checkpoint's "model" tensors, one at a time (peak
/// memory: one tensor). Throws ember::Error naming the checkpoint and the tensors when one is
/// missing, has another shape, or the checkpoint holds parameters the module does not have.
void load_parameters(torch::nn::Module& module, const CheckpointReader& reader);

/// The Transformer stored in a checkpoint (architecture from its config, weights verified and
/// loaded), computing with the kernels `kernels` allows.
model::Transformer load_model(const std::filesystem::path& checkpoint_dir, const model::kernels::KernelPolicy& kernels);

}  // namespace ember::checkpoint
