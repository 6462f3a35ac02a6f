// evaluate_loss: per-store token-mean cross-entropy over dp ranks (see loss_eval.h).
#include "train/loss_eval.h"

#include <cmath>
#include <filesystem>
#include <memory>

#include <ATen/ops/from_blob.h>
#include <c10/core/GradMode.h>

#include "train/parallel_setup.h"

namespace ember::train {
namespace {

at::Tensor to_device_long(const std::vector<int32_t>& values, int64_t rows, int64_t cols, const c10::Device& device) {
  auto host = at::from_blob(const_cast<int32_t*>(values.data()), {rows, cols}, at::TensorOptions().dtype(at::kInt));
  return host.to(device, at::kLong);
}

}  // namespace

LossEvaluation evaluate_loss(model::Transformer& model, data::EvaluationData& data, const LossEvalSettings& settings,
                             const Runtime& runtime, const distributed::ParallelLayout& layout,
                             distributed::Communicator& dp) {
  c10::NoGradGuard no_grad;
  AutocastScope autocast(runtime.bf16_autocast);
  const bool was_training = model->is_training();
  model->eval();
  const size_t stores = data.num_stores();
  std::vector<double> sums(2 * stores, 0.0);  // [loss sum, tokens] per store
  for (size_t s = 0; s < stores; ++s) {
    const int64_t rows = data.rank_rows(s);
    for (int64_t first = 0; first < rows; first += settings.micro_batch) {
      const int64_t count = std::min(settings.micro_batch, rows - first);
      data::Batch batch = data.batch(s, first, count);
      auto inputs = to_device_long(batch.inputs, batch.batch, batch.seq_len, runtime.device);
      auto targets = to_device_long(batch.targets, batch.batch, batch.seq_len, runtime.device);
      at::Tensor doc_ids;
      if (settings.mask_documents) doc_ids = to_device_long(batch.segment_ids, batch.batch, batch.seq_len, runtime.device);
      auto logits = model->forward(inputs, doc_ids);
      sums[2 * s] += layout.cross_entropy_sum(logits, targets).item<double>();
      sums[2 * s + 1] += double(targets.numel());
    }
  }
  if (was_training) model->train();
  sums = all_reduce_values(dp, std::move(sums), distributed::ReduceOp::sum, runtime.device);

  LossEvaluation result;
  double loss_sum = 0, token_sum = 0, weighted = 0, weight_sum = 0;
  for (size_t s = 0; s < stores; ++s) {
    StoreLoss store{data.path(s), sums[2 * s] / sums[2 * s + 1], int64_t(sums[2 * s + 1])};
    loss_sum += sums[2 * s];
    token_sum += sums[2 * s + 1];
    if (!settings.weights.empty()) {
      weighted += settings.weights[s] * store.loss;
      weight_sum += settings.weights[s];
    }
    result.stores.push_back(std::move(store));
  }
  result.tokens = int64_t(token_sum);
  result.loss = settings.weights.empty() ? loss_sum / token_sum : weighted / weight_sum;
  result.perplexity = std::exp(result.loss);
  return result;
}

std::unique_ptr<data::EvaluationData> validation_data(const DataConfig& data, int64_t seq_len, int rank, int world,
                                                      const std::string& tokenizer_sha256) {
  data::EvaluationOptions options;
  if (!data.val.empty()) {
    options.files = data.val;
    options.weights = data.val_weights;
  } else if (data.val_fraction > 0) {
    options.files = data.train;
    options.held_out_fraction = data.val_fraction;
  } else {
    return nullptr;
  }
  options.seq_len = seq_len;
  options.max_tokens = data.val_tokens;
  options.rank = rank;
  options.world = world;
  options.tokenizer_sha256 = tokenizer_sha256;
  return std::make_unique<data::EvaluationData>(std::move(options));
}

LossEvalSettings validation_settings(const DataConfig& data, int64_t micro_batch) {
  LossEvalSettings settings;
  settings.micro_batch = micro_batch;
  settings.mask_documents = data.mask_documents;
  if (!data.val.empty()) settings.weights = data.val_weights;
  return settings;
}

void add_validation_scalars(const LossEvaluation& evaluation, std::vector<std::pair<std::string, double>>& scalars) {
  scalars.emplace_back("val_loss", evaluation.loss);
  if (evaluation.stores.size() < 2) return;
  for (const auto& store : evaluation.stores) {
    scalars.emplace_back("val_loss/" + std::filesystem::path(store.path).stem().string(), store.loss);
  }
}

}  // namespace ember::train
