// EvaluationData: per-store packed rows for loss evaluation, under a token budget (see evaluation_data.h).
#include "data/evaluation_data.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ember::data {
namespace {

EvaluationOptions validated(EvaluationOptions options) {
  if (options.files.empty()) fail_usage("evaluation needs at least one token store");
  if (options.seq_len < 1) fail_usage("evaluation seq_len must be >= 1, got {}", options.seq_len);
  if (options.max_tokens < 0) fail_usage("the evaluation token budget must be >= 0, got {}", options.max_tokens);
  if (options.world < 1 || options.rank < 0 || options.rank >= options.world) {
    fail_usage("evaluation rank {} is outside a data-parallel world of {}", options.rank, options.world);
  }
  if (!(options.held_out_fraction >= 0 && options.held_out_fraction < 1)) {
    fail_usage("the held-out fraction must be in [0, 1), got {}", options.held_out_fraction);
  }
  if (!options.weights.empty()) {
    if (options.weights.size() != options.files.size()) {
      fail_usage("{} evaluation weights for {} token stores", options.weights.size(), options.files.size());
    }
    double sum = 0;
    for (double weight : options.weights) {
      if (!(weight >= 0) || !std::isfinite(weight)) fail_usage("evaluation weight {} must be finite and >= 0", weight);
      sum += weight;
    }
    if (sum <= 0) fail_usage("the evaluation weights sum to zero");
  }
  return options;
}

}  // namespace

EvaluationData::EvaluationData(EvaluationOptions options)
    : options_(validated(std::move(options))),
      corpus_(options_.files, options_.tokenizer_sha256, options_.held_out_fraction),
      packer_(corpus_, options_.seq_len) {
  const size_t stores = corpus_.num_stores();
  double weight_sum = 0;
  for (size_t s = 0; s < stores; ++s) weight_sum += options_.weights.empty() ? 1.0 : options_.weights[s];
  for (size_t s = 0; s < stores; ++s) {
    DocumentStream stream;
    auto documents = options_.held_out_fraction > 0 ? corpus_.val_documents(s) : corpus_.train_documents(s);
    for (uint32_t document : documents) {
      stream.documents.push_back(DocumentRef{uint32_t(s), document});
      stream.ends.push_back(stream.total_tokens() +
                            static_cast<uint64_t>(corpus_.document_length(stream.documents.back())) + 1);
    }
    int64_t available = stream.num_sequences(options_.seq_len);
    if (available == 0) {
      fail("token store '{}' has {} {}tokens (with EOS), fewer than one sequence of {}", options_.files[s],
           stream.total_tokens(), options_.held_out_fraction > 0 ? "held-out " : "", options_.seq_len + 1);
    }
    int64_t rows = available;
    if (options_.max_tokens > 0) {
      double weight = options_.weights.empty() ? 1.0 : options_.weights[s];
      double budget = double(options_.max_tokens) * weight / weight_sum;
      rows = std::clamp<int64_t>(int64_t(std::ceil(budget / double(options_.seq_len))), 1, available);
    }
    streams_.push_back(std::move(stream));
    rows_.push_back(rows);
  }
}

int64_t EvaluationData::rank_rows(size_t store) const {
  int64_t rows = rows_[store];
  return rows / options_.world + (options_.rank < rows % options_.world ? 1 : 0);
}

Batch EvaluationData::batch(size_t store, int64_t first, int64_t count) {
  if (first < 0 || count < 1 || first + count > rank_rows(store)) {
    fail("evaluation rows [{}, {}) are outside this rank's {} rows of '{}'", first, first + count, rank_rows(store),
         options_.files[store]);
  }
  Batch batch = Batch::shaped(count, options_.seq_len);
  for (int64_t row = 0; row < count; ++row) {
    packer_.pack(streams_[store], options_.rank + options_.world * (first + row), batch, row);
  }
  return batch;
}

}  // namespace ember::data
