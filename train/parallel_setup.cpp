// The recipes' shared multi-rank setup and agreements (see parallel_setup.h).
#include "train/parallel_setup.h"

#include <exception>

#include <ATen/Context.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/full.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "train/preemption.h"

namespace ember::train {

ParallelRun setup_parallel_run(const TrainConfig& train, const ParallelConfig& parallel) {
  ParallelRun run;
  run.env = distributed::detect_launch_env();
  log::set_rank(run.env.rank, run.env.world_size);
  run.runtime = setup_runtime(train, run.env.local_world_size);
  if (run.runtime.device.is_cuda()) {
    run.runtime.device =
        c10::Device(c10::kCUDA, c10::DeviceIndex(distributed::gpu_for_local_rank(run.env, int(at::getNumGPUs()))));
  }
  run.mesh = std::make_shared<distributed::Mesh>(distributed::Mesh::init(
      run.env, {parallel.dp, parallel.tp, parallel.timeout_s, run.runtime.device.is_cuda()}));
  run.lead = run.mesh->rank() == 0;
  return run;
}

RunWriters open_run_writers(bool lead, const std::filesystem::path& run_dir, const MetricsConfig& metrics,
                            const CheckpointConfig& checkpoint, int64_t first_step) {
  RunWriters writers;
  writers.checkpoints.emplace(run_dir, checkpoint.keep);
  if (!lead) return writers;
  writers.metrics.emplace(run_dir, metrics.tensorboard);
  writers.metrics->truncate_from(first_step);
  return writers;
}

distributed::ParallelPlan full_logits_plan() {
  auto plan = distributed::ParallelPlan::megatron();
  plan.vocab_parallel_loss = false;
  return plan;
}

nlohmann::json layout_json(const distributed::Mesh& mesh, const distributed::ParallelLayout& layout, int64_t zero) {
  nlohmann::json shards = nlohmann::json::object();
  for (const auto& [name, spec] : layout.shards) {
    if (spec.replicated()) continue;
    shards[name] = {{"dim", spec.dim}, {"length", spec.length}, {"full_shape", spec.full_shape}};
  }
  return {{"dp", mesh.dp}, {"tp", mesh.tp}, {"zero", zero}, {"sharded", shards}};
}

int agreed_preemption_signal(distributed::Communicator& world, const c10::Device& device) {
  if (world.size() == 1) return preemption_signal();
  auto flag = at::full({1}, float(preemption_signal()), at::TensorOptions().device(device));
  world.all_reduce(flag, distributed::ReduceOp::max);
  return int(flag.item<float>());
}

void run_on_lead(distributed::Communicator& world, const c10::Device& device, bool lead, const std::string& what,
                 const std::function<void()>& action) {
  std::exception_ptr failure;
  if (lead) {
    try {
      action();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (world.size() == 1) {
    if (failure) std::rethrow_exception(failure);
    return;
  }
  auto saved = at::full({1}, failure ? 0.0f : 1.0f, at::TensorOptions().device(device));
  world.broadcast(saved, 0);
  if (failure) std::rethrow_exception(failure);
  if (saved.item<float>() == 0.0f) fail("rank 0 could not {}", what);
}

std::vector<double> all_reduce_values(distributed::Communicator& group, std::vector<double> values,
                                      distributed::ReduceOp op, const c10::Device& device) {
  if (group.size() == 1 || values.empty()) return values;
  auto tensor = at::from_blob(values.data(), {int64_t(values.size())}, at::TensorOptions().dtype(at::kDouble))
                    .to(device, at::kDouble, false, true);
  group.all_reduce(tensor, op);
  auto host = tensor.to(at::kCPU).contiguous();
  const double* data = host.data_ptr<double>();
  return std::vector<double>(data, data + values.size());
}

std::pair<int64_t, int64_t> shard_range(int64_t count, int64_t rank, int64_t ranks) {
  if (ranks < 1 || rank < 0 || rank >= ranks) fail("shard_range: rank {} of {}", rank, ranks);
  return {rank * count / ranks, (rank + 1) * count / ranks};
}

}  // namespace ember::train
