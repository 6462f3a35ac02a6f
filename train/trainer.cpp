// The shared trainer step (see trainer.h for the maths) and the logical view of its state.
#include "train/trainer.h"

#include <cmath>

#include <fmt/ranges.h>

#include <ATen/ops/_foreach_mul.h>
#include <ATen/ops/_foreach_norm.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/zeros.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "core/error.h"
#include "core/log.h"
#include "distributed/grad_sync.h"
#include "distributed/mesh.h"
#include "distributed/parallelize.h"
#include "distributed/zero1.h"

namespace ember::train {
namespace {

using distributed::NamedTensors;

const std::vector<std::string> kStateSuffixes = {".exp_avg", ".exp_avg_sq"};

std::shared_ptr<const distributed::Mesh> single_process_mesh() {
  return std::make_shared<distributed::Mesh>(distributed::Mesh::over(distributed::make_solo_communicator("world"), 1, 1));
}

/// Every parameter whole, as parallelize() describes an unsharded model.
std::shared_ptr<const distributed::ParallelLayout> replicated_layout(torch::nn::Module& model) {
  auto layout = std::make_shared<distributed::ParallelLayout>();
  layout->tp = distributed::make_solo_communicator("tp");
  for (const auto& item : model.named_parameters()) {
    distributed::ShardSpec whole;
    whole.full_shape = item.value().sizes().vec();
    layout->shards[item.key()] = whole;
  }
  return layout;
}

NamedTensors trainable_parameters(torch::nn::Module& model) {
  NamedTensors parameters;
  for (const auto& item : model.named_parameters()) {
    if (item.value().requires_grad()) parameters.emplace_back(item.key(), item.value());
  }
  return parameters;
}

/// The tensors AdamW updates: the parameters, or this rank's ZeRO-1 slices of them. Weight decay
/// is decided on the whole parameter either way.
std::vector<NamedParameter> optimizer_parameters(const NamedTensors& parameters, const distributed::Zero1* zero,
                                                 bool decay_embeddings) {
  std::vector<NamedParameter> result;
  if (zero) {
    for (const auto& piece : zero->pieces()) {
      result.push_back({piece.name, piece.tensor, default_weight_decay(piece.name, piece.parameter, decay_embeddings)});
    }
    return result;
  }
  for (const auto& [name, tensor] : parameters) {
    result.push_back({name, tensor, default_weight_decay(name, tensor, decay_embeddings)});
  }
  return result;
}

bool split_state_key(const std::string& key, std::string& parameter, std::string& suffix) {
  for (const auto& s : kStateSuffixes) {
    if (key.size() > s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0) {
      parameter = key.substr(0, key.size() - s.size());
      suffix = s;
      return true;
    }
  }
  return false;
}

}  // namespace

Trainer::Trainer(std::shared_ptr<torch::nn::Module> model, const OptimConfig& optim, const TrainConfig& train,
                 int64_t schedule_steps, TrainerParallel parallel)
    : model_(std::move(model)),
      mesh_(parallel.mesh ? std::move(parallel.mesh) : single_process_mesh()),
      layout_(parallel.layout ? std::move(parallel.layout) : replicated_layout(*model_)),
      named_parameters_(trainable_parameters(*model_)),
      zero_(parallel.zero == 1 ? std::make_unique<distributed::Zero1>(named_parameters_, mesh_->dp_group) : nullptr),
      dp_grads_(zero_ ? nullptr
                      : std::make_unique<distributed::DataParallelGrads>(named_parameters_, mesh_->dp_group,
                                                                          parallel.bucket_mb,
                                                                          parallel.overlap_grad_reduce, layout_)),
      optimizer_(optimizer_parameters(named_parameters_, zero_.get(), optim.decay_embeddings),
                 AdamWOptions{optim.beta1, optim.beta2, optim.eps, optim.weight_decay, optim.fused}),
      schedule_{optim.schedule, optim.lr, optim.min_lr_ratio, optim.warmup_steps, schedule_steps, optim.decay_fraction},
      grad_clip_(train.grad_clip),
      max_bad_steps_(train.max_bad_steps),
      spike_guard_(train.spike_zscore, train.spike_window) {
  if (zero_) log::info("{}", zero_->memory().describe());
}

Trainer::~Trainer() = default;

StepResult Trainer::step(int64_t micro_batches, const MicroBatchLoss& loss_of) {
  StepResult result;
  result.lr = learning_rate(schedule_, steps_done_);
  optimizer_.zero_grad();
  if (zero_) {
    // The optimizer holds slices; the parameters' own gradients accumulate the micro-batches.
    for (const auto& item : named_parameters_) {
      if (item.second.grad().defined()) item.second.mutable_grad().zero_();
    }
  }
  // A rank with no micro-batches this step (its share of an RL step or of a filtered sample can be
  // empty) contributes zero gradients and loss but joins every collective below.
  at::Tensor total_loss;
  if (micro_batches == 0 && !named_parameters_.empty()) {
    total_loss = at::zeros({}, named_parameters_.front().second.options().dtype(at::kFloat));
  }
  for (int64_t m = 0; m < micro_batches; ++m) {
    // Only the last backward may launch gradient buckets: the earlier ones are not final.
    if (dp_grads_ && m + 1 == micro_batches) dp_grads_->begin_last_micro_batch();
    at::Tensor loss = loss_of(m);
    loss.backward();
    total_loss = total_loss.defined() ? total_loss + loss.detach() : loss.detach();
  }

  const auto grads = synchronise_gradients();
  at::Tensor grad_norm = gradient_norm(grads, total_loss.options());
  // Each dp rank summed its own tokens' share of the global mean.
  at::Tensor loss = total_loss.to(at::kFloat).reshape({1}).clone();
  mesh_->dp_group->all_reduce(loss, distributed::ReduceOp::sum);
  // One host sync per step: the loss and the norm decide whether the update is safe.
  auto host = at::stack({loss.reshape({}), grad_norm.to(at::kFloat)}).to(at::kCPU);
  result.loss = host[0].item<float>();
  result.grad_norm = host[1].item<float>();

  const bool finite = std::isfinite(result.loss) && std::isfinite(result.grad_norm);
  const double spike_z = finite ? spike_guard_.spike_zscore(result.loss) : -1;
  if (!finite || spike_z > 0) {
    const std::string what = finite ? fmt::format("loss spike (loss {}, {:.1f} std above the recent mean)", result.loss, spike_z)
                                    : fmt::format("non-finite loss {} / grad norm {}", result.loss, result.grad_norm);
    result.skipped = true;
    ++bad_steps_total_;
    optimizer_.zero_grad();
    if (++bad_steps_in_a_row_ >= max_bad_steps_) {
      fail("stopping: {} consecutive bad steps (the last: {}); the last checkpoint is intact. Lower optim.lr or "
           "check the data",
           bad_steps_in_a_row_, what);
    }
    log::warn("step {}: {}; update skipped ({} in a row)", steps_done_ + 1, what, bad_steps_in_a_row_);
    return result;
  }
  spike_guard_.accept(result.loss);
  bad_steps_in_a_row_ = 0;
  if (grad_clip_ > 0 && result.grad_norm > grad_clip_) {
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> tensors;
    for (const auto& item : grads) tensors.push_back(item.second);
    at::_foreach_mul_(tensors, grad_clip_ / (result.grad_norm + 1e-6));
  }
  optimizer_.step(result.lr);
  if (zero_) zero_->all_gather_params();
  ++steps_done_;
  return result;
}

NamedTensors Trainer::synchronise_gradients() {
  if (zero_) {
    distributed::sum_partial_grads_over_tp(named_parameters_, *layout_);
    zero_->reduce_scatter_grads();
    return zero_->piece_grads();
  }
  dp_grads_->finish();  // tp partial sums, then dp (overlapped buckets: what is left, and the waits)
  NamedTensors grads;
  for (const auto& [name, parameter] : named_parameters_) {
    if (parameter.grad().defined()) grads.emplace_back(name, parameter.grad());
  }
  return grads;
}

at::Tensor Trainer::gradient_norm(const NamedTensors& grads, const at::TensorOptions& options) const {
  // Sharded gradients (tp shards, ZeRO-1 slices) add their squares over the mesh; whole ones on
  // every rank are the full gradient already.
  if (zero_ || mesh_->tp > 1) return distributed::global_grad_norm(grads, *mesh_, *layout_, zero_ != nullptr);
  if (grads.empty()) return at::zeros({}, options);
  std::vector<at::Tensor> tensors;
  for (const auto& item : grads) tensors.push_back(item.second);
  return at::stack(at::_foreach_norm(tensors, 2.0)).norm(2.0);
}

std::map<std::string, at::Tensor> Trainer::parameters() const {
  std::map<std::string, at::Tensor> parameters;
  for (const auto& item : model_->named_parameters()) parameters[item.key()] = item.value().detach();
  return parameters;
}

namespace {

/// The tp slice of a parameter's layout entry (whole when replicated), flat range unset.
checkpoint::ShardSlice tp_slice_of(const distributed::ShardSpec& spec) {
  checkpoint::ShardSlice slice;
  if (!spec.replicated()) {
    slice.tp_dim = spec.dim;
    slice.tp_start = spec.offset;
    slice.tp_length = spec.length;
  }
  return slice;
}

}  // namespace

std::vector<checkpoint::ShardSource> Trainer::checkpoint_shards() const {
  std::vector<checkpoint::ShardSource> shards;
  const bool tp_lead = mesh_->tp_rank == 0, dp_lead = mesh_->dp_rank == 0;
  auto add = [&](const std::string& name, const std::string& group, const std::string& parameter,
                 const at::Tensor& data, int64_t flat_offset) {
    const auto& spec = layout_->shards.at(parameter);
    if (spec.replicated() && !tp_lead) return;  // every tp rank holds the same values
    auto slice = tp_slice_of(spec);
    slice.flat_offset = flat_offset;
    slice.flat_length = data.numel();
    shards.push_back({name, group, data.detach(), spec.full_shape, slice});
  };
  if (dp_lead) {
    for (const auto& item : model_->named_parameters()) add(item.key(), "model", item.key(), item.value(), 0);
  }
  const auto state = optimizer_.state();
  if (zero_) {
    for (const auto& piece : zero_->pieces()) {
      for (const auto& suffix : kStateSuffixes) {
        add(piece.name + suffix, "optimizer", piece.name, state.at(piece.name + suffix), piece.offset);
      }
    }
  } else if (dp_lead) {
    for (const auto& item : named_parameters_) {
      for (const auto& suffix : kStateSuffixes) add(item.first + suffix, "optimizer", item.first, state.at(item.first + suffix), 0);
    }
  }
  return shards;
}

nlohmann::json Trainer::checkpoint_layout() const {
  return {{"dp", mesh_->dp}, {"tp", mesh_->tp}, {"zero", zero_ ? 1 : 0}};
}

void Trainer::load(const checkpoint::CheckpointReader& reader, int64_t steps_done) {
  c10::NoGradGuard no_grad;
  const std::string source = "checkpoint '" + reader.dir().string() + "'";
  // The checkpoint must hold exactly the model's parameters and their moments (recipes' own
  // tensors, such as "rng.cpu", are in the optimizer group under other names).
  std::vector<std::string> unused;
  for (const auto& name : reader.names("model")) {
    if (!layout_->shards.count(name)) unused.push_back(name);
  }
  for (const auto& name : reader.names("optimizer")) {
    std::string parameter, suffix;
    if (split_state_key(name, parameter, suffix) && !layout_->shards.count(parameter)) unused.push_back(name);
  }
  if (!unused.empty()) {
    fail("{} holds tensors this model does not have: {} (was it saved from another architecture?)", source,
         fmt::format("{}", fmt::join(unused, ", ")));
  }
  auto checked = [&](const std::string& name, const distributed::ShardSpec& spec) -> const checkpoint::TensorRecord& {
    if (!reader.contains(name)) fail("{} has no tensor '{}', which the model needs", source, name);
    const auto& record = reader.tensor(name);
    if (record.shape != spec.full_shape) {
      fail("'{}' has shape [{}] in {} but the model needs [{}]", name, fmt::join(record.shape, ", "), source,
           fmt::join(spec.full_shape, ", "));
    }
    return record;
  };
  for (const auto& item : model_->named_parameters()) {
    const auto& spec = layout_->shards.at(item.key());
    checked(item.key(), spec);
    const auto slice = tp_slice_of(spec);
    item.value().copy_(reader.read_tp_slice(item.key(), slice.tp_dim, slice.tp_start, slice.tp_length));
  }
  std::map<std::string, const distributed::Zero1::Piece*> pieces;
  if (zero_) {
    for (const auto& piece : zero_->pieces()) pieces[piece.name] = &piece;
  }
  optimizer_.load_state(
      [&](const std::string& key) {
        std::string parameter, suffix;
        split_state_key(key, parameter, suffix);
        const auto& spec = layout_->shards.at(parameter);
        checked(key, spec);
        auto slice = tp_slice_of(spec);
        if (!zero_) return reader.read_tp_slice(key, slice.tp_dim, slice.tp_start, slice.tp_length);
        const auto* piece = pieces.at(parameter);
        slice.flat_offset = piece->offset;
        slice.flat_length = piece->length;
        return reader.read_region(key, slice);
      },
      steps_done);
  steps_done_ = steps_done;
}

}  // namespace ember::train
