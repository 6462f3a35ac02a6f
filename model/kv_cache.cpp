// Preallocated per-layer key/value cache (see kv_cache.h).
#include "model/kv_cache.h"

#include <ATen/ops/empty.h>

#include "core/error.h"

namespace ember::model {

KVCache::KVCache(const ModelConfig& config, int64_t batch, int64_t max_len, const at::TensorOptions& options)
    : batch_(batch), capacity_(max_len) {
  for (int64_t layer = 0; layer < config.n_layers; ++layer) {
    keys_.push_back(at::empty({batch, config.n_kv_heads, max_len, config.resolved_head_dim()}, options));
    values_.push_back(at::empty({batch, config.n_kv_heads, max_len, config.resolved_head_dim()}, options));
  }
}

std::pair<at::Tensor, at::Tensor> KVCache::update(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  const int64_t tokens = k.size(2);
  if (length_ + tokens > capacity_) {
    fail("KV cache overflow: {} filled + {} new slots exceed the capacity of {}", length_, tokens, capacity_);
  }
  keys_.at(layer).narrow(2, length_, tokens).copy_(k);
  values_.at(layer).narrow(2, length_, tokens).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + tokens), values_[layer].narrow(2, 0, length_ + tokens)};
}

void KVCache::advance(int64_t tokens) { length_ += tokens; }

void KVCache::select_rows(const at::Tensor& rows) {
  for (auto& keys : keys_) keys = keys.index_select(0, rows.to(keys.device()));
  for (auto& values : values_) values = values.index_select(0, rows.to(values.device()));
  batch_ = rows.size(0);
}

}  // namespace ember::model
