// AdamW with parameter groups (decoupled weight decay, Loshchilov & Hutter), as torch.optim.AdamW:
//   p <- p * (1 - lr * wd)
//   m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// `fused` runs ATen's single-kernel multi-tensor implementation (at::_fused_adamw_) with the same
// maths; the plain path is the readable reference the fused one is tested against.
// The state (m, v, step) is exposed by parameter name for checkpoints.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

namespace ember::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.1;
  bool fused = true;
};

struct NamedParameter {
  std::string name;
  at::Tensor tensor;  ///< a leaf with requires_grad
  bool decay = true;  ///< false for norms, biases and (by default) embeddings
};

class AdamW {
 public:
  AdamW(std::vector<NamedParameter> parameters, AdamWOptions options);

  /// One update with learning rate `lr` from the parameters' .grad(); parameters without a
  /// gradient are skipped.
  void step(double lr);

  /// Sets every parameter's gradient to zero (keeping the buffers).
  void zero_grad();

  /// Optimizer steps taken so far.
  int64_t steps_taken() const { return steps_taken_; }

  /// State tensors by name: "<param>.exp_avg", "<param>.exp_avg_sq" (fp32, the parameter's shape).
  std::map<std::string, at::Tensor> state() const;
  /// Restores every state tensor from `read(key)`, one at a time (a checkpoint reads only that
  /// tensor), and the step count; throws ember::Error on a misshapen entry (`read` throws for a
  /// missing one).
  void load_state(const std::function<at::Tensor(const std::string& key)>& read, int64_t steps_taken);

  const std::vector<NamedParameter>& parameters() const { return parameters_; }

 private:
  void step_plain(double lr);
  void step_fused(double lr);

  std::vector<NamedParameter> parameters_;
  AdamWOptions options_;
  std::vector<at::Tensor> exp_avg_, exp_avg_sq_;
  int64_t steps_taken_ = 0;
};

/// The default decay rule: matrices decay; 1-D tensors (norms, biases) never do; embeddings only
/// when `decay_embeddings`.
bool default_weight_decay(const std::string& name, const at::Tensor& tensor, bool decay_embeddings);

}  // namespace ember::train
