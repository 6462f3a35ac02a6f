// Preallocated per-layer key/value cache (see kv_cache.h).
#include "model/kv_cache.h"

#include <ATen/ops/empty.h>

#include "core/error.h"

namespace ember::model {

KVCache::KVCache(const ModelConfig& config, int64_t batch, int64_t max_len, const at::TensorOptions& options)
    : batch_(batch),
      capacity_(max_len),
      options_(options),
      keys_(size_t(config.n_layers)),
      values_(size_t(config.n_layers)) {}

std::pair<at::Tensor, at::Tensor> KVCache::update(int64_t layer, const at::Tensor& k, const at::Tensor& v) {
  const int64_t tokens = k.size(2);
  if (length_ + tokens > capacity_) {
    fail("KV cache overflow: {} filled + {} new slots exceed the capacity of {}", length_, tokens, capacity_);
  }
  if (!keys_.at(layer).defined()) {
    // Shaped like the update: the cache holds whichever heads the attention module computes.
    keys_[layer] = at::empty({batch_, k.size(1), capacity_, k.size(3)}, options_);
    values_[layer] = at::empty({batch_, v.size(1), capacity_, v.size(3)}, options_);
  }
  keys_.at(layer).narrow(2, length_, tokens).copy_(k);
  values_.at(layer).narrow(2, length_, tokens).copy_(v);
  return {keys_[layer].narrow(2, 0, length_ + tokens), values_[layer].narrow(2, 0, length_ + tokens)};
}

void KVCache::advance(int64_t tokens) { length_ += tokens; }

void KVCache::select_rows(const at::Tensor& rows) {
  for (auto& keys : keys_) {
    if (keys.defined()) keys = keys.index_select(0, rows.to(keys.device()));
  }
  for (auto& values : values_) {
    if (values.defined()) values = values.index_select(0, rows.to(values.device()));
  }
  batch_ = rows.size(0);
}

}  // namespace ember::model
