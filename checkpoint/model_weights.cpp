// Parameters of a module from a checkpoint (see model_weights.h).
#include "checkpoint/model_weights.h"

#include <set>
#include <string>
#include <vector>

#include <c10/core/GradMode.h>
#include <fmt/ranges.h>

#include "checkpoint/run_files.h"
#include "core/error.h"

namespace ember::checkpoint {

void load_parameters(torch::nn::Module& module, const CheckpointReader& reader) {
  c10::NoGradGuard no_grad;
  const std::string source = "checkpoint '" + reader.dir().string() + "'";
  const auto parameters = module.named_parameters();
  std::set<std::string> wanted;
  for (const auto& item : parameters) wanted.insert(item.key());
  std::vector<std::string> unused;
  for (const auto& name : reader.names("model")) {
    if (!wanted.count(name)) unused.push_back(name);
  }
  if (!unused.empty()) {
    fail("{} holds parameters this model does not have: {} (was it saved from another architecture?)", source,
         fmt::format("{}", fmt::join(unused, ", ")));
  }
  for (const auto& item : parameters) {
    if (!reader.contains(item.key())) fail("parameter '{}' is missing from {}", item.key(), source);
    const auto& shape = reader.tensor(item.key()).shape;
    if (at::IntArrayRef(shape) != item.value().sizes()) {
      fail("parameter '{}' has shape [{}] in {} but the model needs [{}]", item.key(), fmt::join(shape, ", "), source,
           fmt::join(item.value().sizes(), ", "));
    }
    item.value().copy_(reader.read(item.key()));
  }
}

model::Transformer load_model(const std::filesystem::path& checkpoint_dir,
                              const model::kernels::KernelPolicy& kernels) {
  model::Transformer model(read_model_config(checkpoint_dir), kernels);
  load_parameters(*model, CheckpointReader(checkpoint_dir));
  return model;
}

}  // namespace ember::checkpoint
