// The tensor-parallel transformation of a Transformer and its shard layout (see parallelize.h).
#include "distributed/parallelize.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "distributed/vocab_parallel_loss.h"

namespace ember::distributed {
namespace {

/// A place in the model that holds a swappable layer: exactly one of projection / embedding is set.
struct Slot {
  std::string name;
  torch::nn::Module* parent;
  std::string child;
  model::Projection* projection = nullptr;
  model::TokenEmbedding* embedding = nullptr;
};

std::vector<Slot> slots_of(model::TransformerImpl& model) {
  std::vector<Slot> slots;
  auto& decoder = *model.model;
  slots.push_back({"model.embed_tokens", &decoder, "embed_tokens", nullptr, &decoder.embed_tokens});
  if (model.lm_head) slots.push_back({"lm_head", &model, "lm_head", &model.lm_head, nullptr});
  for (size_t i = 0; i < decoder.layers->size(); ++i) {
    auto* layer = decoder.layers->ptr<model::DecoderLayerImpl>(i).get();
    const std::string prefix = fmt::format("model.layers.{}.", i);
    auto* attention = layer->self_attn.get();
    auto* mlp = layer->mlp.get();
    slots.push_back({prefix + "self_attn.q_proj", attention, "q_proj", &attention->q_proj});
    slots.push_back({prefix + "self_attn.k_proj", attention, "k_proj", &attention->k_proj});
    slots.push_back({prefix + "self_attn.v_proj", attention, "v_proj", &attention->v_proj});
    slots.push_back({prefix + "self_attn.o_proj", attention, "o_proj", &attention->o_proj});
    slots.push_back({prefix + "mlp.gate_proj", mlp, "gate_proj", &mlp->gate_proj});
    slots.push_back({prefix + "mlp.up_proj", mlp, "up_proj", &mlp->up_proj});
    slots.push_back({prefix + "mlp.down_proj", mlp, "down_proj", &mlp->down_proj});
  }
  return slots;
}

TpStyle style_for(const ParallelPlan& plan, const std::string& name) {
  for (const auto& [pattern, style] : plan.rules) {
    if (plan_pattern_matches(pattern, name)) return style;
  }
  return TpStyle::replicate;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The model dimension a sharded slot splits, checked before anything is replaced.
void check_divisible(const model::ModelConfig& config, const std::string& slot, int64_t tp) {
  auto check = [&](const char* key, int64_t value) {
    if (value % tp != 0) {
      fail_usage("{} ({}) must divide by parallel.tp ({}) to shard {}", key, value, tp, slot);
    }
  };
  if (ends_with(slot, "self_attn.q_proj") || ends_with(slot, "self_attn.o_proj")) {
    check("model.n_heads", config.n_heads);
  } else if (ends_with(slot, "self_attn.k_proj") || ends_with(slot, "self_attn.v_proj")) {
    check("model.n_heads", config.n_heads);
    check("model.n_kv_heads", config.n_kv_heads);
  } else if (ends_with(slot, "_proj") && slot.find(".mlp.") != std::string::npos) {
    check("model.ffn_hidden", config.ffn_hidden);
  } else if (slot == "model.embed_tokens" || slot == "lm_head") {
    check("model.vocab_size", config.vocab_size);
  }
}

}  // namespace

ParallelPlan ParallelPlan::megatron() {
  ParallelPlan plan;
  plan.rules = {
      {"model.embed_tokens", TpStyle::vocab_embedding},
      {"lm_head", TpStyle::column},
      {"model.layers.*.self_attn.q_proj", TpStyle::column},
      {"model.layers.*.self_attn.k_proj", TpStyle::column},
      {"model.layers.*.self_attn.v_proj", TpStyle::column},
      {"model.layers.*.self_attn.o_proj", TpStyle::row},
      {"model.layers.*.mlp.gate_proj", TpStyle::column},
      {"model.layers.*.mlp.up_proj", TpStyle::column},
      {"model.layers.*.mlp.down_proj", TpStyle::row},
  };
  return plan;
}

bool plan_pattern_matches(const std::string& pattern, const std::string& name) {
  size_t p = 0, n = 0;
  while (p <= pattern.size() && n <= name.size()) {
    const size_t p_end = std::min(pattern.find('.', p), pattern.size());
    const size_t n_end = std::min(name.find('.', n), name.size());
    const std::string segment = pattern.substr(p, p_end - p);
    if (segment != "*" && segment != name.substr(n, n_end - n)) return false;
    const bool pattern_done = p_end == pattern.size(), name_done = n_end == name.size();
    if (pattern_done || name_done) return pattern_done && name_done;
    p = p_end + 1;
    n = n_end + 1;
  }
  return false;
}

ParallelLayout parallelize(model::TransformerImpl& model, const Mesh& mesh, const ParallelPlan& plan) {
  ParallelLayout layout;
  layout.tp = mesh.tp_group;
  layout.sequence_parallel = plan.sequence_parallel && mesh.tp > 1;
  const int64_t tp = mesh.tp;
  auto slots = slots_of(model);
  std::vector<TpStyle> styles;
  for (const auto& slot : slots) {
    styles.push_back(tp > 1 ? style_for(plan, slot.name) : TpStyle::replicate);
    if (styles.back() != TpStyle::replicate) check_divisible(model.config(), slot.name, tp);
  }
  if (layout.sequence_parallel) {
    // Activations enter and leave the model split over tokens: the embedding must scatter them and
    // the LM head must gather them.
    if (styles[0] != TpStyle::vocab_embedding || (model.lm_head && styles[1] != TpStyle::column)) {
      fail_usage("sequence parallelism needs a vocab-parallel embedding and a column-parallel lm_head");
    }
  }

  TpLayerOptions options{mesh.tp_group, layout.sequence_parallel, false};
  TpLayerOptions head_options = options;
  head_options.gather_output = !plan.vocab_parallel_loss;
  std::map<std::string, ShardSpec> sharded;
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& slot = slots[i];
    const TpStyle style = styles[i];
    if (style == TpStyle::replicate) continue;
    const bool is_head = slot.name == "lm_head";
    if ((style == TpStyle::vocab_embedding) != (slot.embedding != nullptr)) {
      fail_usage("parallel plan: {} cannot be {}", slot.name,
                 style == TpStyle::vocab_embedding ? "vocab-parallel (it is a linear layer)"
                                                   : "column- or row-parallel (it is an embedding)");
    }
    if (style == TpStyle::vocab_embedding) {
      auto layer = std::make_shared<VocabParallelEmbeddingImpl>(**slot.embedding, head_options);
      sharded[slot.name + ".weight"] = layer->weight_shard();
      *slot.embedding = model::TokenEmbedding(std::shared_ptr<model::TokenEmbeddingImpl>(layer));
      slot.parent->replace_module(slot.child, *slot.embedding);
      if (!model.lm_head) layout.vocab_parallel_logits = plan.vocab_parallel_loss;
    } else if (style == TpStyle::column) {
      auto layer = std::make_shared<ColumnParallelLinearImpl>(**slot.projection, is_head ? head_options : options);
      sharded[slot.name + ".weight"] = layer->weight_shard();
      if (layer->bias.defined()) sharded[slot.name + ".bias"] = layer->bias_shard();
      *slot.projection = model::Projection(std::shared_ptr<model::ProjectionImpl>(layer));
      slot.parent->replace_module(slot.child, *slot.projection);
      if (is_head) layout.vocab_parallel_logits = plan.vocab_parallel_loss;
    } else {
      auto layer = std::make_shared<RowParallelLinearImpl>(**slot.projection, options);
      sharded[slot.name + ".weight"] = layer->weight_shard();
      *slot.projection = model::Projection(std::shared_ptr<model::ProjectionImpl>(layer));
      slot.parent->replace_module(slot.child, *slot.projection);
    }
  }

  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    auto it = sharded.find(name);
    if (it != sharded.end()) {
      layout.shards[name] = it->second;
      continue;
    }
    ShardSpec whole;
    whole.full_shape = item.value().sizes().vec();
    layout.shards[name] = whole;
    // With sequence parallelism every replicated parameter sees only this rank's tokens; without
    // it only a QK-norm whose projection is split by heads sees a part of its inputs.
    bool heads_of_this_rank = false;
    if (ends_with(name, "_norm.weight") && (ends_with(name, "self_attn.q_norm.weight") ||
                                            ends_with(name, "self_attn.k_norm.weight"))) {
      const std::string projection = name.substr(0, name.size() - std::string("_norm.weight").size()) + "_proj.weight";
      heads_of_this_rank = sharded.count(projection) > 0;
    }
    if (layout.sequence_parallel || heads_of_this_rank) layout.tp_partial_grads.push_back(name);
  }
  return layout;
}

at::Tensor ParallelLayout::cross_entropy_sum(const at::Tensor& logits, const at::Tensor& targets) const {
  if (vocab_parallel_logits) return vocab_parallel_cross_entropy_sum(logits, targets, *tp);
  return model::cross_entropy_sum(logits, targets);
}

std::map<std::string, at::Tensor> ParallelLayout::gather_full(const std::map<std::string, at::Tensor>& local) const {
  std::map<std::string, at::Tensor> full;
  for (const auto& [name, tensor] : local) {
    auto it = shards.find(name);
    if (it == shards.end()) fail("gather_full: '{}' is not a parameter of the parallel model", name);
    full[name] = it->second.replicated() ? tensor : tp->gather_along(tensor.detach(), it->second.dim);
  }
  return full;
}

at::Tensor ParallelLayout::shard_of(const std::string& name, const at::Tensor& full) const {
  auto it = shards.find(name);
  if (it == shards.end()) fail("'{}' is not a parameter of the parallel model", name);
  if (full.sizes().vec() != it->second.full_shape) {
    fail("parameter '{}' has logical shape [{}] but the model needs [{}]", name, fmt::join(full.sizes(), ", "),
         fmt::join(it->second.full_shape, ", "));
  }
  return slice_of(full, it->second);
}

}  // namespace ember::distributed
