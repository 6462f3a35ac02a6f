// The fused LM head + cross-entropy (fused_linear_cross_entropy.h) on CPU fp32 against the unfused
// path, at::cross_entropy_loss(sum) over hidden @ weight^T: the loss and the gradients of hidden and
// weight agree to 1e-5 relative with ignored targets, chunk sizes that do not divide N, one chunk
// larger than N, an incoming gradient other than 1, and a weight also used elsewhere in the graph
// (the embedding of a tied model). A pretrain-style step through next_token_loss_sum gives the same
// loss and parameter gradients with the switch on and off, for tied and untied LM heads.
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <ATen/core/Reduction.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/embedding.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tanh.h>

#include "model/kernels/fused_linear_cross_entropy.h"
#include "model/loss.h"
#include "model/transformer.h"

using namespace ember;

namespace {

double relative_error(const at::Tensor& a, const at::Tensor& b) {
  auto bd = b.to(at::kDouble);
  return (a.to(at::kDouble) - bd).abs().max().item<double>() / (bd.abs().max().item<double>() + 1e-30);
}

struct LossAndGrads {
  at::Tensor loss, dhidden, dweight;
};

/// Leaf hidden [n, d] and weight [v, d] drawn from `seed`, targets with every third one ignored.
struct Problem {
  Problem(int64_t n, int64_t d, int64_t v, uint64_t seed) {
    at::manual_seed(seed);
    hidden = at::randn({n, d});
    weight = at::randn({v, d}) * 0.5;
    targets = at::randint(v, {n}, at::kLong);
    for (int64_t i = 0; i < n; i += 3) targets[i] = model::kIgnoreIndex;
  }
  at::Tensor hidden, weight, targets;
};

/// Runs `loss_of(hidden, weight)`, backpropagates `scale` and returns the loss and both gradients.
template <class LossOf>
LossAndGrads run(const Problem& p, double scale, LossOf loss_of) {
  auto hidden = p.hidden.clone().requires_grad_(true);
  auto weight = p.weight.clone().requires_grad_(true);
  auto loss = loss_of(hidden, weight);
  (loss * scale).backward();
  return {loss.detach(), hidden.grad(), weight.grad()};
}

at::Tensor unfused(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets) {
  return at::cross_entropy_loss(at::mm(hidden, weight.t()), targets, std::nullopt, at::Reduction::Sum,
                                model::kIgnoreIndex);
}

void expect_same(const LossAndGrads& fused, const LossAndGrads& reference, const char* what) {
  EXPECT_EQ(fused.loss.scalar_type(), at::kFloat) << what;
  EXPECT_EQ(fused.loss.dim(), 0) << what;
  EXPECT_LT(relative_error(fused.loss, reference.loss), 1e-5) << what;
  EXPECT_LT(relative_error(fused.dhidden, reference.dhidden), 1e-5) << what;
  EXPECT_LT(relative_error(fused.dweight, reference.dweight), 1e-5) << what;
}

}  // namespace

TEST(FusedLinearCrossEntropy, MatchesUnfusedForEveryChunking) {
  const Problem p(37, 24, 50, 1);
  const auto reference = run(p, 0.25, [&](auto& h, auto& w) { return unfused(h, w, p.targets); });
  for (int64_t chunk : std::vector<int64_t>{1, 5, 16, 36, 37, 64, model::kernels::kDefaultLossChunkTokens}) {
    const auto fused = run(p, 0.25, [&](auto& h, auto& w) {
      return model::kernels::fused_linear_cross_entropy(h, w, p.targets, model::kIgnoreIndex, chunk);
    });
    expect_same(fused, reference, ("chunk " + std::to_string(chunk)).c_str());
  }
}

TEST(FusedLinearCrossEntropy, IgnoredTokensGiveZeroLossAndZeroGradients) {
  Problem p(10, 8, 20, 2);
  p.targets.fill_(model::kIgnoreIndex);
  const auto fused = run(p, 1.0, [&](auto& h, auto& w) {
    return model::kernels::fused_linear_cross_entropy(h, w, p.targets, model::kIgnoreIndex, 4);
  });
  EXPECT_EQ(fused.loss.item<float>(), 0.0f);
  EXPECT_EQ(fused.dhidden.abs().max().item<float>(), 0.0f);
  EXPECT_EQ(fused.dweight.abs().max().item<float>(), 0.0f);
}

TEST(FusedLinearCrossEntropy, TiedWeightGradientAccumulatesWithTheEmbeddingUse) {
  // weight is the embedding and the LM head: hidden = tanh(embedding(ids)) is computed from it.
  const Problem p(29, 16, 40, 3);
  at::manual_seed(4);
  const auto ids = at::randint(40, {29}, at::kLong);
  auto tied = [&](bool fused) {
    auto weight = p.weight.clone().requires_grad_(true);
    auto hidden = at::tanh(at::embedding(weight, ids));
    auto loss = fused ? model::kernels::fused_linear_cross_entropy(hidden, weight, p.targets, model::kIgnoreIndex, 7)
                      : unfused(hidden, weight, p.targets);
    (loss / 29.0).backward();
    return std::pair(loss.detach(), weight.grad());
  };
  auto [fused_loss, fused_grad] = tied(true);
  auto [reference_loss, reference_grad] = tied(false);
  EXPECT_LT(relative_error(fused_loss, reference_loss), 1e-5);
  EXPECT_LT(relative_error(fused_grad, reference_grad), 1e-5);
}

TEST(FusedLinearCrossEntropy, RejectsMismatchedShapes) {
  const Problem p(6, 8, 10, 5);
  EXPECT_ANY_THROW(model::kernels::fused_linear_cross_entropy(p.hidden, p.weight.narrow(1, 0, 4), p.targets));
  EXPECT_ANY_THROW(model::kernels::fused_linear_cross_entropy(p.hidden, p.weight, p.targets.narrow(0, 0, 5)));
  EXPECT_ANY_THROW(model::kernels::fused_linear_cross_entropy(p.hidden, p.weight, p.targets, model::kIgnoreIndex, 0));
}

TEST(FusedLinearCrossEntropy, RejectsTargetsOutsideTheVocabulary) {
  const Problem p(6, 8, 10, 5);
  for (int64_t bad : {int64_t(10), int64_t(-3)}) {
    auto targets = p.targets.clone();
    targets[2] = bad;
    try {
      model::kernels::fused_linear_cross_entropy(p.hidden, p.weight, targets);
      ADD_FAILURE() << "target " << bad << " accepted";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("target id " + std::to_string(bad)), std::string::npos) << e.what();
    }
  }
}

TEST(FusedLinearCrossEntropy, PretrainStepIsTheSameWithTheSwitchOnAndOff) {
  for (bool tie : {true, false}) {
    model::ModelConfig c{.vocab_size = 96, .d_model = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                         .ffn_hidden = 64, .max_seq_len = 32, .tie_embeddings = tie};
    at::manual_seed(6);
    model::Transformer net(c);
    auto tokens = at::randint(96, {3, 21}, at::kLong);
    auto inputs = tokens.narrow(1, 0, 20);
    auto targets = tokens.narrow(1, 1, 20).clone();
    targets.narrow(1, 0, 3).fill_(model::kIgnoreIndex);  // e.g. prompt tokens
    auto doc_ids = (at::arange(20, at::kLong) / 7).expand({3, 20}).contiguous();  // packed documents
    const double global_tokens = double(targets.numel());
    auto step = [&](bool fused) {
      net->zero_grad();
      auto loss = model::next_token_loss_sum(*net, inputs, targets, doc_ids, fused) / global_tokens;
      loss.backward();
      std::vector<at::Tensor> grads;
      for (const auto& p : net->parameters()) grads.push_back(p.grad().clone());
      return std::pair(loss.detach(), grads);
    };
    auto [fused_loss, fused_grads] = step(true);
    auto [reference_loss, reference_grads] = step(false);
    EXPECT_LT(relative_error(fused_loss, reference_loss), 1e-5) << "tied " << tie;
    ASSERT_EQ(fused_grads.size(), reference_grads.size());
    for (size_t i = 0; i < fused_grads.size(); ++i) {
      EXPECT_LT(relative_error(fused_grads[i], reference_grads[i]), 1e-5) << "tied " << tie << ", parameter " << i;
    }
  }
}
