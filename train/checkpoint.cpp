// When to save, and the sharded save of every rank's slices (see checkpoint.h).
#include "train/checkpoint.h"

#include <exception>

#include <ATen/ops/full.h>

#include "core/error.h"
#include "core/log.h"
#include "train/parallel_setup.h"

namespace ember::train {
namespace {

/// Whether every rank of `world` succeeded (a max all-reduce of the failure flags).
bool all_succeeded(distributed::Communicator& world, const c10::Device& device, bool failed) {
  if (world.size() == 1) return !failed;
  auto flag = at::full({1}, failed ? 1.0f : 0.0f, at::TensorOptions().device(device));
  world.all_reduce(flag, distributed::ReduceOp::max);
  return flag.item<float>() == 0.0f;
}

template <typename Work>
std::exception_ptr attempt(Work&& work) {
  try {
    work();
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

}  // namespace

bool checkpoint_due(const CheckpointConfig& checkpoint, int64_t step, int64_t total_steps) {
  return (checkpoint.interval > 0 && step % checkpoint.interval == 0) || step == total_steps;
}

void save_sharded_checkpoint(distributed::Communicator& world, const c10::Device& device, const Trainer& trainer,
                             const checkpoint::CheckpointWriter& writer, int64_t step,
                             const std::function<void(checkpoint::Checkpoint&)>& describe) {
  const bool lead = world.rank() == 0;
  checkpoint::Checkpoint recipe;
  recipe.step = step;
  std::exception_ptr failure;
  if (lead) {
    failure = attempt([&] {
      describe(recipe);
      if (!recipe.model.empty()) fail("a recipe's checkpoint tensors belong to the optimizer group");
      recipe.info.layout = trainer.checkpoint_layout();
      writer.begin(step);
    });
  }
  if (!all_succeeded(world, device, failure != nullptr)) {
    if (failure) std::rethrow_exception(failure);
    fail("rank 0 could not start the checkpoint at step {}", step);
  }

  failure = attempt([&] {
    auto shards = trainer.checkpoint_shards();
    for (const auto& [name, tensor] : recipe.optimizer) {  // the lead's: recipe tensors are replicated
      const at::Tensor data = tensor.detach().contiguous();
      shards.push_back({name, "optimizer", data, data.sizes().vec(), checkpoint::ShardSlice::whole(data.sizes().vec())});
    }
    writer.write_rank(step, world.rank(), shards);
  });
  if (!all_succeeded(world, device, failure != nullptr)) {
    if (lead) writer.abandon(step);
    if (failure) std::rethrow_exception(failure);
    fail("another rank could not write its part of the checkpoint at step {}; nothing was saved", step);
  }

  run_on_lead(world, device, lead, fmt::format("save the checkpoint at step {}", step), [&] {
    try {
      log::info("checkpoint: {}", writer.commit(step, world.size(), recipe.info).string());
    } catch (...) {
      writer.abandon(step);
      throw;
    }
  });
}

}  // namespace ember::train
