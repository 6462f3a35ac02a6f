// The pretraining recipe (see pretrain.h): launch environment and device mesh, run directory,
// tokenizer and data, model (parallelized over the mesh), trainer, resume, the step loop with
// logging, evaluation and checkpoints, and a final summary.
//
// Distributed: every rank builds the full model from the seed and keeps its tp shard; the loader
// gives dp rank d its part of the global batch (tp ranks of one dp group read the same data); the
// loss is divided by the global token count. Rank 0 alone writes metrics and TensorBoard; every
// rank writes its own slices of a checkpoint, and any layout resumes from any other.
#include "train/pretrain.h"

#include <filesystem>
#include <optional>

#include <ATen/ops/from_blob.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/loader.h"
#include "data/tokenizer/tokenizer.h"
#include "distributed/mesh.h"
#include "distributed/parallelize.h"
#include "model/flops.h"
#include "model/loss.h"
#include "model/transformer.h"
#include "checkpoint/resolve.h"
#include "train/checkpoint.h"
#include "train/loss_eval.h"
#include "train/metrics_log.h"
#include "train/parallel_setup.h"
#include "train/peak_flops.h"
#include "train/preemption.h"
#include "train/progress.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace ember::train {
namespace {

/// A loader batch as tensors on the training device.
struct BatchTensors {
  at::Tensor inputs, targets, doc_ids;  // [B, T] int64; doc_ids undefined without document masking
};

at::Tensor to_device_long(const std::vector<int32_t>& values, int64_t rows, int64_t cols, const c10::Device& device) {
  auto host = at::from_blob(const_cast<int32_t*>(values.data()), {rows, cols}, at::TensorOptions().dtype(at::kInt));
  return host.to(device, at::kLong);  // copies, so the batch may be released afterwards
}

BatchTensors to_tensors(const data::Batch& batch, const c10::Device& device, bool mask_documents) {
  BatchTensors t;
  t.inputs = to_device_long(batch.inputs, batch.batch, batch.seq_len, device);
  t.targets = to_device_long(batch.targets, batch.batch, batch.seq_len, device);
  if (mask_documents) t.doc_ids = to_device_long(batch.segment_ids, batch.batch, batch.seq_len, device);
  return t;
}

/// The data-parallel layout of the global batch: batch_size = micro_batch x accumulation x dp.
struct BatchLayout {
  int64_t micro_batch = 0;
  int64_t accumulation = 0;
};

BatchLayout batch_layout(const TrainConfig& train, int64_t dp) {
  BatchLayout layout;
  layout.micro_batch = train.micro_batch_size > 0 ? train.micro_batch_size : train.batch_size / dp;
  if (layout.micro_batch <= 0 || train.batch_size % (layout.micro_batch * dp) != 0) {
    fail_usage("train.batch_size ({}) must be a multiple of train.micro_batch_size ({}) x dp ({})", train.batch_size,
               layout.micro_batch, dp);
  }
  layout.accumulation = train.batch_size / (layout.micro_batch * dp);
  return layout;
}

at::Tensor cpu_rng_state() { return at::detail::getDefaultCPUGenerator().get_state(); }

void restore_cpu_rng_state(const at::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(state);
}

/// The bytes a step handed to each kind of collective, for metrics.jsonl (comm_<kind>_bytes).
void add_volume_scalars(const distributed::CommVolume& volume, std::vector<std::pair<std::string, double>>& scalars) {
  for (int k = 0; k < distributed::kCollectiveKinds; ++k) {
    const auto name = std::string(distributed::collective_name(distributed::Collective(k)));
    scalars.emplace_back("comm_" + name + "_bytes", double(volume.bytes[size_t(k)]));
    scalars.emplace_back("comm_" + name + "_calls", double(volume.calls[size_t(k)]));
  }
}

}  // namespace

void run_pretrain(const PretrainConfig& config, const std::string& resolved_yaml) {
  const auto parallel = setup_parallel_run(config.train, config.parallel);
  const auto& runtime = parallel.runtime;
  const auto& mesh = parallel.mesh;
  const bool lead = parallel.lead;  // writes the run directory, metrics and checkpoints
  const auto run_dir = fs::path(config.run.dir);
  const int64_t dp = mesh->dp;
  const auto layout = batch_layout(config.train, dp);
  const int64_t schedule_steps = config.optim.schedule_steps > 0 ? config.optim.schedule_steps : config.train.steps;
  if (config.data.train.empty()) fail_usage("data.train is empty: list the HDF5 token stores to train on");
  if (config.data.tokenizer.empty()) fail_usage("data.tokenizer is empty: name the tokenizer.json of the stores");

  auto tokenizer = data::Tokenizer::load(config.data.tokenizer);
  const std::string tokenizer_json = read_file(config.data.tokenizer);
  if (tokenizer.vocab_size() > config.model.vocab_size) {
    fail_usage("model.vocab_size ({}) is smaller than the vocabulary of '{}' ({})", config.model.vocab_size,
               config.data.tokenizer, tokenizer.vocab_size());
  }
  data::LoaderOptions loader_options;
  loader_options.files = config.data.train;
  loader_options.weights = config.data.weights;
  loader_options.seq_len = config.train.seq_len;
  loader_options.micro_batch = layout.micro_batch;
  loader_options.seed = uint64_t(config.train.seed);
  loader_options.val_fraction = config.data.val.empty() ? config.data.val_fraction : 0.0;
  loader_options.prefetch = int(config.data.prefetch);
  loader_options.tokenizer_sha256 = tokenizer.sha256();
  loader_options.rank = int(mesh->dp_rank);
  loader_options.world = int(mesh->dp);
  data::Loader loader(loader_options);
  if (loader.vocab_size() > config.model.vocab_size) {
    fail_usage("model.vocab_size ({}) is smaller than the token stores' vocabulary ({})", config.model.vocab_size,
               loader.vocab_size());
  }
  auto validation = validation_data(config.data, config.train.seq_len, int(mesh->dp_rank), int(mesh->dp), tokenizer.sha256());

  if (lead) {
    make_directories(run_dir);
    write_file_atomic(run_dir / "config.yaml", resolved_yaml);
  }

  // Every rank initialises the logical model from the seed, then keeps its tp shard.
  at::manual_seed(uint64_t(config.train.seed));
  model::Transformer model(config.model, runtime.kernels);
  model->to(runtime.device);
  const auto parallel_layout = std::make_shared<distributed::ParallelLayout>(
      distributed::parallelize(*model, *mesh, distributed::ParallelPlan::megatron()));
  Trainer trainer(model.ptr(), config.optim, config.train, schedule_steps,
                  TrainerParallel{mesh, parallel_layout, config.parallel.zero, config.parallel.bucket_mb,
                                  config.parallel.overlap_grad_reduce});

  const double flops_per_token = model::training_flops_per_token(config.model, config.train.seq_len);
  log::info("model: {:.3f}M parameters ({:.3f}M non-embedding), {:.3g} training FLOPs per token",
            double(model::count_parameters(config.model)) / 1e6,
            double(model::count_non_embedding_parameters(config.model)) / 1e6, flops_per_token);
  log::info("batch: {} sequences x {} tokens = micro batch {} x accumulation {} x dp {}", config.train.batch_size,
            config.train.seq_len, layout.micro_batch, layout.accumulation, dp);
  if (mesh->world_size() > 1) {
    log::info("mesh: {} ranks = dp {} x tp {}, ZeRO-{}, {} backend, collective timeout {} s", mesh->world_size(),
              mesh->dp, mesh->tp, config.parallel.zero, mesh->world->backend(), config.parallel.timeout_s);
  }

  int64_t tokens_seen = 0;
  double flops_total = 0;
  if (auto resume = checkpoint::find_resume_checkpoint(run_dir, config.checkpoint.resume, config.checkpoint.on_corrupt == "fallback")) {
    const checkpoint::CheckpointReader checkpoint(*resume);
    trainer.load(checkpoint, checkpoint.step());
    loader.restore(checkpoint.state().at("loader"));
    tokens_seen = checkpoint.state().value("tokens_seen", int64_t(0));
    flops_total = checkpoint.state().value("flops_total", 0.0);
    trainer.spike_guard().restore(checkpoint.state().value("loss_window", std::vector<double>{}));
    if (checkpoint.contains("rng.cpu")) restore_cpu_rng_state(checkpoint.read("rng.cpu"));
    if (checkpoint.state().contains("layout")) {
      const auto& saved = checkpoint.state()["layout"];
      log::info("resumed from {} at step {} (saved at dp {} x tp {}, ZeRO-{})", resume->string(), checkpoint.step(),
                saved.value("dp", 1), saved.value("tp", 1), saved.value("zero", 0));
    } else {
      log::info("resumed from {} at step {}", resume->string(), checkpoint.step());
    }
  }
  if (trainer.steps_done() >= config.train.steps) {
    log::info("nothing to do: the run is already at step {} of {}", trainer.steps_done(), config.train.steps);
    return;
  }

  auto peak = peak_flops(runtime.device, runtime.bf16_autocast, config.metrics.peak_flops);
  log::info("peak for MFU: {:.3g} FLOP/s ({})", peak.flops_per_s, peak.how);
  RunWriters writers = open_run_writers(lead, run_dir, config.metrics, config.checkpoint, trainer.steps_done() + 1);
  auto& metrics = writers.metrics;
  auto save_checkpoint = [&] {
    const int64_t step = trainer.steps_done();
    save_sharded_checkpoint(*mesh->world, runtime.device, trainer, writers.checkpoint_writer(), step, [&](checkpoint::Checkpoint& checkpoint) {
      checkpoint.optimizer["rng.cpu"] = cpu_rng_state();
      checkpoint.info.state = {{"loader", loader.state()},
                          {"tokens_seen", tokens_seen},
                          {"flops_total", flops_total},
                          {"bad_steps_total", trainer.bad_steps_total()},
                          {"loss_window", trainer.spike_guard().window()},
                          {"layout", layout_json(*mesh, *parallel_layout, config.parallel.zero)}};
      checkpoint.info.config_yaml = resolved_yaml;
      checkpoint.info.tokenizer_json = tokenizer_json;
    });
  };

  install_preemption_handlers();
  const int64_t tokens_per_step = config.train.batch_size * config.train.seq_len;
  const bool mask_documents = config.data.mask_documents;
  // The fused LM head + loss needs the whole vocabulary on this rank.
  const bool fused_lm_loss = config.train.fused_lm_loss && parallel_layout->tp->size() == 1;
  // MFU of the whole job: every rank contributes its peak.
  Progress progress(config.train.steps, flops_per_token, peak.flops_per_s * double(mesh->world_size()));
  progress.start(trainer.steps_done());
  double last_loss = 0, last_val_loss = -1;
  model->train();
  while (trainer.steps_done() < config.train.steps) {
    std::vector<BatchTensors> micro_batches;
    for (int64_t m = 0; m < layout.accumulation; ++m) {
      micro_batches.push_back(to_tensors(loader.next_train(), runtime.device, mask_documents));
    }
    const double global_tokens = double(tokens_per_step);
    const auto volume_before = mesh->volume();
    auto result = trainer.step(layout.accumulation, [&](int64_t m) {
      AutocastScope autocast(runtime.bf16_autocast);
      const auto& batch = micro_batches[size_t(m)];
      if (fused_lm_loss) {
        return model::next_token_loss_sum(*model, batch.inputs, batch.targets, batch.doc_ids, true) / global_tokens;
      }
      auto logits = model->forward(batch.inputs, batch.doc_ids);
      return parallel_layout->cross_entropy_sum(logits, batch.targets) / global_tokens;
    });
    const auto step_volume = mesh->volume() - volume_before;
    if (result.skipped) continue;
    const int64_t step = trainer.steps_done();
    tokens_seen += tokens_per_step;
    flops_total += flops_per_token * double(tokens_per_step);
    progress.add_tokens(tokens_per_step);
    last_loss = result.loss;

    std::vector<std::pair<std::string, double>> scalars;
    const bool eval_now = (config.train.eval_interval > 0 && step % config.train.eval_interval == 0) ||
                          step == config.train.steps;
    if (eval_now && validation) {
      auto val = evaluate_loss(model, *validation, validation_settings(config.data, layout.micro_batch), runtime,
                               *parallel_layout, *mesh->dp_group);
      last_val_loss = val.loss;
      add_validation_scalars(val, scalars);
      log::info("step {}: validation loss {:.4f} over {} tokens", step, val.loss, val.tokens);
    }
    if (step % config.train.log_interval == 0 || step == config.train.steps || step == 1 || !scalars.empty()) {
      auto rates = progress.mark(step);
      scalars.insert(scalars.begin(), {{"loss", result.loss},
                                       {"lr", result.lr},
                                       {"grad_norm", result.grad_norm},
                                       {"tokens_per_s", rates.tokens_per_s},
                                       {"mfu", rates.mfu},
                                       {"flops_total", flops_total},
                                       {"tokens", double(tokens_seen)}});
      if (mesh->world_size() > 1) add_volume_scalars(step_volume, scalars);
      if (metrics) metrics->log(step, scalars);
      log::info("{}", progress.line(step, result.loss, result.lr, rates));
    }
    if (checkpoint_after_step(step, checkpoint_due(config.checkpoint, step, config.train.steps),
                              agreed_preemption_signal(*mesh->world, runtime.device), save_checkpoint)) {
      if (metrics) metrics->flush();
      return;
    }
  }
  if (metrics) metrics->flush();
  log::info("done: {} steps, final loss {:.4f}{}, {:.3g} FLOPs, {} in this process", trainer.steps_done(), last_loss,
            last_val_loss >= 0 ? fmt::format(", validation loss {:.4f}", last_val_loss) : std::string(),
            flops_total, format_duration(progress.elapsed_s()));
}

}  // namespace ember::train
