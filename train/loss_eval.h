// Loss evaluation: the mean next-token cross-entropy of a model over evaluation data
// (data/evaluation_data.h: the training packing, document masking when asked), over every
// data-parallel rank. Used by pretraining's periodic validation and by `ember eval --data`.
//
//   store s:   L_s = (sum over its evaluated target tokens t of -log p(t | prefix)) / N_s
//   combined:  L = sum_s w_s L_s / sum_s w_s   (weights given: each store's mean counts w_s)
//              L = sum_s N_s L_s / sum_s N_s   (no weights: the mean over all tokens)
//   perplexity = exp(L)
// Every dp rank computes its rows' sums (sum of losses, N) per store; one all-reduce of those
// 2 x stores numbers over dp gives every rank the same totals. tp ranks of a dp group run the
// same rows, the vocab-parallel loss making their sums equal.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "data/evaluation_data.h"
#include "distributed/communicator.h"
#include "distributed/parallelize.h"
#include "model/transformer.h"
#include "train/config.h"
#include "train/runtime.h"

namespace ember::train {

struct StoreLoss {
  std::string path;
  double loss = 0;
  int64_t tokens = 0;
};

struct LossEvaluation {
  double loss = 0;
  double perplexity = 0;
  int64_t tokens = 0;  ///< target tokens over all stores and ranks
  std::vector<StoreLoss> stores;
};

struct LossEvalSettings {
  int64_t micro_batch = 1;     ///< rows per forward on this rank
  bool mask_documents = true;  ///< block-diagonal attention over packed documents, as in training
  std::vector<double> weights; ///< one per store, or empty (see the top)
};

/// Evaluates `model` (in eval mode for the call, restored afterwards) on this rank's rows of
/// `data`; a collective over `dp` (every rank of the group must call it).
LossEvaluation evaluate_loss(model::Transformer& model, data::EvaluationData& data, const LossEvalSettings& settings,
                             const Runtime& runtime, const distributed::ParallelLayout& layout,
                             distributed::Communicator& dp);

/// A recipe's validation data: the data.val stores whole or up to data.val_tokens; without them
/// the documents of data.train the hash split holds out (data.val_fraction), likewise; null
/// when neither is configured. Rows are sharded over dp (rank of world).
std::unique_ptr<data::EvaluationData> validation_data(const DataConfig& data, int64_t seq_len, int rank, int world,
                                                      const std::string& tokenizer_sha256);

/// The settings validation uses: data.val_weights with data.val, micro_batch rows per forward.
LossEvalSettings validation_settings(const DataConfig& data, int64_t micro_batch);

/// Metrics of an evaluation: val_loss, and val_loss/<store file stem> per store when there are several.
void add_validation_scalars(const LossEvaluation& evaluation, std::vector<std::pair<std::string, double>>& scalars);

}  // namespace ember::train
