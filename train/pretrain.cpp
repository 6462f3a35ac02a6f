// The pretraining recipe (see pretrain.h) on the run loop (run_loop.h): tokenizer and token stores,
// a Transformer from the seed under the Megatron plan, one step = accumulated micro-batches of
// next-token cross-entropy, validation loss at evaluation points.
//
// Distributed: every rank builds the full model from the seed and keeps its tp shard; the loader
// gives dp rank d its part of the global batch (tp ranks of one dp group read the same data); the
// loss is divided by the global token count.
#include "train/pretrain.h"

#include <memory>

#include <ATen/ops/from_blob.h>
#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "data/loader.h"
#include "data/tokenizer/tokenizer.h"
#include "distributed/mesh.h"
#include "model/flops.h"
#include "model/loss.h"
#include "train/loss_eval.h"
#include "train/run_loop.h"
#include "train/runtime.h"

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

class PretrainRecipe final : public Recipe {
 public:
  PretrainRecipe(const PretrainConfig& config, std::string resolved_yaml)
      : config_(config), resolved_yaml_(std::move(resolved_yaml)) {}

  void prepare(const ParallelRun& run) override {
    run_ = &run;
    layout_ = batch_layout(config_.train, run.mesh->dp);
    if (config_.data.train.empty()) fail_usage("data.train is empty: list the HDF5 token stores to train on");
    if (config_.data.tokenizer.empty()) fail_usage("data.tokenizer is empty: name the tokenizer.json of the stores");
    const auto tokenizer = data::Tokenizer::load(config_.data.tokenizer);
    tokenizer_json_ = read_file(config_.data.tokenizer);
    if (tokenizer.vocab_size() > config_.model.vocab_size) {
      fail_usage("model.vocab_size ({}) is smaller than the vocabulary of '{}' ({})", config_.model.vocab_size,
                 config_.data.tokenizer, tokenizer.vocab_size());
    }
    data::LoaderOptions o;
    o.files = config_.data.train;
    o.weights = config_.data.weights;
    o.seq_len = config_.train.seq_len;
    o.micro_batch = layout_.micro_batch;
    o.seed = uint64_t(config_.train.seed);
    o.val_fraction = config_.data.val.empty() ? config_.data.val_fraction : 0.0;
    o.prefetch = int(config_.data.prefetch);
    o.tokenizer_sha256 = tokenizer.sha256();
    o.rank = int(run.mesh->dp_rank);
    o.world = int(run.mesh->dp);
    loader_ = std::make_unique<data::Loader>(o);
    if (loader_->vocab_size() > config_.model.vocab_size) {
      fail_usage("model.vocab_size ({}) is smaller than the token stores' vocabulary ({})", config_.model.vocab_size,
                 loader_->vocab_size());
    }
    validation_ = validation_data(config_.data, config_.train.seq_len, int(run.mesh->dp_rank), int(run.mesh->dp),
                                  tokenizer.sha256());
  }
  model::ModelConfig model_config() const override { return config_.model; }
  std::string saved_config() const override { return resolved_yaml_; }
  std::string tokenizer_json() const override { return tokenizer_json_; }

  BuiltModel build(bool) override {
    at::manual_seed(uint64_t(config_.train.seed));  // every rank initialises the logical model alike
    model_ = model::Transformer(config_.model, run_->runtime.kernels);
    model_->to(run_->runtime.device);
    flops_per_token_ = model::training_flops_per_token(config_.model, config_.train.seq_len);
    log::info("model: {:.3f}M parameters ({:.3f}M non-embedding), {:.3g} training FLOPs per token",
              double(model::count_parameters(config_.model)) / 1e6,
              double(model::count_non_embedding_parameters(config_.model)) / 1e6, flops_per_token_);
    log::info("batch: {} sequences x {} tokens = micro batch {} x accumulation {} x dp {}", config_.train.batch_size,
              config_.train.seq_len, layout_.micro_batch, layout_.accumulation, run_->mesh->dp);
    return {model_, distributed::ParallelPlan::megatron()};
  }
  void attach(Trainer& trainer, const distributed::ParallelLayout& layout) override {
    trainer_ = &trainer;
    parallel_layout_ = &layout;
    fused_lm_loss_ = config_.train.fused_lm_loss && layout.tp->size() == 1;  // needs the whole vocabulary
    model_->train();
  }

  nlohmann::json state() const override { return {{"loader", loader_->state()}}; }
  void restore(const nlohmann::json& state) override { loader_->restore(state.at("loader")); }

  StepReport step(int64_t) override {
    const auto& device = run_->runtime.device;
    std::vector<BatchTensors> micro_batches;
    for (int64_t m = 0; m < layout_.accumulation; ++m) {
      micro_batches.push_back(to_tensors(loader_->next_train(), device, config_.data.mask_documents));
    }
    const int64_t tokens = config_.train.batch_size * config_.train.seq_len;
    const double global_tokens = double(tokens);
    auto result = trainer_->step(layout_.accumulation, [&](int64_t m) {
      AutocastScope autocast(run_->runtime.bf16_autocast);
      const auto& batch = micro_batches[size_t(m)];
      if (fused_lm_loss_) {
        return model::next_token_loss_sum(*model_, batch.inputs, batch.targets, batch.doc_ids, true) / global_tokens;
      }
      auto logits = model_->forward(batch.inputs, batch.doc_ids);
      return parallel_layout_->cross_entropy_sum(logits, batch.targets) / global_tokens;
    });
    StepReport report;
    report.trained = !result.skipped;
    report.tokens = tokens;
    report.flops = {{"flops_train", flops_per_token_ * global_tokens}};
    report.scalars.add("loss", result.loss).add("lr", result.lr, Reduce::last).add("grad_norm", result.grad_norm);
    if (report.trained) last_loss_ = result.loss;
    return report;
  }

  bool evaluation_due(int64_t step) const override {
    if (step == 0 || !validation_) return false;
    return (config_.train.eval_interval > 0 && step % config_.train.eval_interval == 0) || step == config_.train.steps;
  }
  void evaluate(int64_t step, Scalars& scalars) override {
    const auto val = evaluate_loss(model_, *validation_, validation_settings(config_.data, layout_.micro_batch),
                                   run_->runtime, *parallel_layout_, *run_->mesh->dp_group);
    last_val_loss_ = val.loss;
    std::vector<std::pair<std::string, double>> named;
    add_validation_scalars(val, named);
    for (const auto& [name, value] : named) scalars.add(name, value, Reduce::last);
    log::info("step {}: validation loss {:.4f} over {} tokens", step, val.loss, val.tokens);
  }
  std::vector<ConsoleField> console_fields() const override { return {{"loss", "loss"}, {"lr", "lr", "{:.2e}"}}; }
  std::string summary() const override {
    return fmt::format(", final loss {:.4f}{}", last_loss_,
                       last_val_loss_ >= 0 ? fmt::format(", validation loss {:.4f}", last_val_loss_) : std::string());
  }

 private:
  const PretrainConfig& config_;
  std::string resolved_yaml_, tokenizer_json_;
  const ParallelRun* run_ = nullptr;
  BatchLayout layout_;
  std::unique_ptr<data::Loader> loader_;
  std::unique_ptr<data::EvaluationData> validation_;  ///< data.val stores, else the loader's held-out split
  model::Transformer model_{nullptr};
  Trainer* trainer_ = nullptr;
  const distributed::ParallelLayout* parallel_layout_ = nullptr;
  bool fused_lm_loss_ = true;
  double flops_per_token_ = 0, last_loss_ = 0, last_val_loss_ = -1;
};

}  // namespace

void run_pretrain(const PretrainConfig& config, const std::string& resolved_yaml) {
  PretrainRecipe recipe(config, resolved_yaml);
  run_recipe(config, recipe);
}

}  // namespace ember::train
