// The sequences a loss evaluation reads (train/loss_eval.h): each token store packed on its own,
// in store order, exactly as training packs (batch.h: documents followed by EOS, rows of
// seq_len + 1 tokens, the tail shorter than a row dropped, document segments for masking), so an
// evaluated loss is comparable with the training loss.
//
// Two sources:
//   whole stores      every document of each store (`ember eval --data`, `data.val`);
//   held out          only the documents of each training store that the hash split holds out
//                     (corpus.h: hash / 2^64 < data.val_fraction), the fallback when no
//                     data.val stores are given; never trained on.
//
// Token budget. With max_tokens = 0 every row of every store is read. Otherwise store s reads its
// first ceil(max_tokens * w_s / sum(w) / seq_len) rows (at least one, at most all), where w are the
// weights (empty: equal), so the budget is spread over the stores like a mixture. The same rows are
// read at every evaluation: losses of successive evaluations are comparable.
//
// Ranks. Row k of a store belongs to data-parallel rank k mod world; tp ranks of one dp group
// read the same rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/corpus.h"
#include "data/epoch_plan.h"
#include "data/sequence_packer.h"

namespace ember::data {

struct EvaluationOptions {
  std::vector<std::string> files;  ///< token stores (.h5)
  std::vector<double> weights;     ///< one per store, >= 0; empty = equal (budget split only)
  int64_t seq_len = 0;
  int64_t max_tokens = 0;          ///< 0 = every row
  double held_out_fraction = 0;    ///< > 0: only documents the hash split holds out at this fraction
  int rank = 0, world = 1;
  std::optional<std::string> tokenizer_sha256;
};

class EvaluationData {
 public:
  /// Opens and checks the stores; throws ember::UsageError for bad options and ember::Error
  /// naming the store when it packs into no row of seq_len + 1 tokens.
  explicit EvaluationData(EvaluationOptions options);
  EvaluationData(const EvaluationData&) = delete;  // the packer refers to the corpus
  EvaluationData& operator=(const EvaluationData&) = delete;

  size_t num_stores() const { return streams_.size(); }
  const std::string& path(size_t store) const { return options_.files[store]; }
  /// Rows of `store` read per evaluation, over all ranks.
  int64_t rows(size_t store) const { return rows_[store]; }
  /// Rows of `store` that this rank reads.
  int64_t rank_rows(size_t store) const;
  /// This rank's rows [first, first + count) of `store` (first + count <= rank_rows(store)).
  Batch batch(size_t store, int64_t first, int64_t count);
  int64_t seq_len() const { return options_.seq_len; }
  int32_t eos_id() const { return corpus_.eos_id(); }
  int64_t vocab_size() const { return corpus_.vocab_size(); }

 private:
  EvaluationOptions options_;
  Corpus corpus_;
  std::vector<DocumentStream> streams_;
  std::vector<int64_t> rows_;
  SequencePacker packer_;
};

}  // namespace ember::data
