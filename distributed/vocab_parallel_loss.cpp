// Cross-entropy over vocab-split logits (see vocab_parallel_loss.h for the maths).
#include "distributed/vocab_parallel_loss.h"

#include <ATen/TensorOperators.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>

#include "distributed/tp_mappings.h"

namespace ember::distributed {

at::Tensor vocab_parallel_cross_entropy_sum(const at::Tensor& local_logits, const at::Tensor& targets,
                                            Communicator& tp, int64_t ignore_index) {
  if (tp.size() == 1) return model::cross_entropy_sum(local_logits, targets, ignore_index);
  const int64_t local_vocab = local_logits.size(-1);
  const int64_t start = tp.rank() * local_vocab;
  auto z = local_logits.reshape({-1, local_vocab}).to(at::kFloat);  // [N, V/p]
  auto t = targets.reshape({-1});                                    // [N]

  auto m = std::get<0>(z.detach().max(-1, /*keepdim=*/true));
  tp.all_reduce(m, ReduceOp::max);
  auto shifted = z - m;

  auto sum_exp = reduce_from_tp(shifted.exp().sum(-1), tp);  // S [N]

  auto mine = (t >= start).logical_and(t < start + local_vocab);
  auto local_target = at::where(mine, t - start, at::zeros_like(t)).unsqueeze(-1);
  auto picked = shifted.gather(-1, local_target).squeeze(-1).masked_fill(mine.logical_not(), 0.0);
  auto target_logit = reduce_from_tp(picked, tp);  // z_t - m [N]

  auto per_token = sum_exp.log() - target_logit;
  return per_token.masked_fill(t == ignore_index, 0.0).sum();
}

}  // namespace ember::distributed
