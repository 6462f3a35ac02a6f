// Key/value cache for incremental decoding: per layer, keys and values allocated at the layer's
// first update as [B, K, max_len, d] (K and d as the update's keys have them: the heads the
// attention module computes, which need not be all n_kv_heads of the config). All rows share one write
// cursor `length`: a forward over T new tokens writes slots [length, length + T) in every layer,
// and attention reads slots [0, length + T). Rows of different lengths are left-padded by the
// caller, whose attention mask hides the padding slots (see generate.h).
#pragma once

#include <utility>
#include <vector>

#include <ATen/Tensor.h>
#include <c10/core/TensorOptions.h>

#include "model/model_config.h"

namespace ember::model {

class KVCache {
 public:
  /// A cache for n_layers layers whose [batch, K, max_len, head_dim] tensors are allocated with
  /// `options` (the model's dtype and device) at each layer's first update.
  KVCache(const ModelConfig& config, int64_t batch, int64_t max_len, const at::TensorOptions& options);

  int64_t batch() const { return batch_; }
  /// Slots filled in every row.
  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }

  /// Stores k, v [B, K, T, d] in slots [length, length + T) of `layer` and returns that layer's
  /// keys and values over slots [0, length + T), each [B, K, length + T, d].
  std::pair<at::Tensor, at::Tensor> update(int64_t layer, const at::Tensor& k, const at::Tensor& v);

  /// Marks the T slots just written by every layer as filled; call once per forward pass.
  void advance(int64_t tokens);

  /// Keeps only the batch rows listed in `rows` ([B'] int64, on any device), in that order;
  /// used to drop finished sequences from a decoding batch.
  void select_rows(const at::Tensor& rows);

 private:
  int64_t batch_, capacity_, length_ = 0;
  at::TensorOptions options_;
  std::vector<at::Tensor> keys_, values_;
};

}  // namespace ember::model
