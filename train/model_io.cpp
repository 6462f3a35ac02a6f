// Parameters in and out of modules (see model_io.h).
#include "train/model_io.h"

#include <c10/core/GradMode.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "train/checkpoint.h"

namespace ember::train {

void load_parameters(torch::nn::Module& module, const std::map<std::string, at::Tensor>& tensors,
                     const std::string& source) {
  c10::NoGradGuard no_grad;
  for (auto& item : module.named_parameters()) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) fail("parameter '{}' is missing from {}", item.key(), source);
    if (it->second.sizes() != item.value().sizes()) {
      fail("parameter '{}' has shape [{}] in {} but the model needs [{}]", item.key(),
           fmt::join(it->second.sizes(), ", "), source, fmt::join(item.value().sizes(), ", "));
    }
    item.value().copy_(it->second);
  }
}

model::Transformer load_model(const std::filesystem::path& checkpoint_dir,
                              const model::kernels::KernelPolicy& kernels) {
  auto checkpoint = load_checkpoint(checkpoint_dir);
  model::Transformer model(read_model_config(checkpoint_dir), kernels);
  load_parameters(*model, checkpoint.model, "checkpoint '" + checkpoint_dir.string() + "'");
  return model;
}

}  // namespace ember::train
