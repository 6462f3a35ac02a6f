// Generation: cached greedy decoding equals recomputing the full forward each step (prompts of
// different lengths, left or right padded, with stop tokens that shrink the batch); seeded
// sampling is reproducible and independent of the batch; top-k = 1 is greedy; the sampler's
// top-k / top-p / temperature distributions and log-probabilities.
#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/ops/log_softmax.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "model/generate.h"
#include "model/sampler.h"
#include "model/transformer.h"

using namespace ember;
using namespace ember::model;

namespace {

ModelConfig small_config() {
  // init_std 0.2: peaked distributions, so greedy choices are far from ties
  ModelConfig c{.vocab_size = 97, .d_model = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .ffn_hidden = 160,
                .max_seq_len = 64, .qk_norm = true, .init_std = 0.2};
  return c;
}

const std::vector<std::vector<int64_t>> kPrompts = {
    {5, 17, 3}, {42}, {1, 2, 3, 4, 5, 6, 7}, {88, 12, 9, 60, 31}, {7, 7},
};

/// Greedy decoding by a full forward over prompt + completion at every step (no cache, no padding).
Completion greedy_by_recompute(Transformer& model, std::vector<int64_t> sequence, int64_t max_new,
                               const std::vector<int64_t>& stops) {
  Completion out;
  for (int64_t step = 0; step < max_new; ++step) {
    auto ids = at::tensor(sequence, at::kLong).unsqueeze(0);
    auto last = model->forward(ids).select(1, ids.size(1) - 1).squeeze(0);
    int64_t token = last.argmax().item<int64_t>();
    out.token_ids.push_back(token);
    out.logprobs.push_back(at::log_softmax(last, -1)[token].item<float>());
    sequence.push_back(token);
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      out.finish_reason = FinishReason::kStop;
      break;
    }
  }
  return out;
}

void expect_same(const Completion& actual, const Completion& expected, size_t prompt) {
  EXPECT_EQ(actual.token_ids, expected.token_ids) << "prompt " << prompt;
  EXPECT_EQ(actual.finish_reason, expected.finish_reason) << "prompt " << prompt;
  ASSERT_EQ(actual.logprobs.size(), expected.logprobs.size());
  for (size_t i = 0; i < actual.logprobs.size(); ++i) EXPECT_NEAR(actual.logprobs[i], expected.logprobs[i], 1e-4);
}

class Generation : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::manual_seed(3);
    model = Transformer(small_config());
  }
  Transformer model{nullptr};
};

}  // namespace

TEST_F(Generation, CachedGreedyEqualsFullRecompute) {
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.sampling.temperature = 0;
  auto completions = generate(model, kPrompts, options);
  ASSERT_EQ(completions.size(), kPrompts.size());
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    expect_same(completions[i], greedy_by_recompute(model, kPrompts[i], 10, {}), i);
  }
}

TEST_F(Generation, StopTokensEndRowsAndShrinkTheBatch) {
  torch::NoGradGuard no_grad;
  // Stop on the first greedy tokens of two prompts: those rows end at once, the batch shrinks.
  GenerationOptions options;
  options.max_new_tokens = 12;
  options.sampling.temperature = 0;
  options.stop_tokens = {greedy_by_recompute(model, kPrompts[0], 1, {}).token_ids[0],
                         greedy_by_recompute(model, kPrompts[3], 3, {}).token_ids[2]};
  auto completions = generate(model, kPrompts, options);
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    expect_same(completions[i], greedy_by_recompute(model, kPrompts[i], 12, options.stop_tokens), i);
  }
  EXPECT_EQ(completions[0].token_ids.size(), 1u);
  EXPECT_EQ(completions[0].finish_reason, FinishReason::kStop);
}

TEST_F(Generation, RightPaddedPromptsEqualLeftPadded) {
  const int64_t longest = 7;
  std::vector<int64_t> ids(kPrompts.size() * longest, 96), lengths;
  for (size_t i = 0; i < kPrompts.size(); ++i) {
    std::copy(kPrompts[i].begin(), kPrompts[i].end(), ids.begin() + int64_t(i) * longest);
    lengths.push_back(int64_t(kPrompts[i].size()));
  }
  PaddedPrompts right{at::tensor(ids, at::kLong).view({-1, longest}), at::tensor(lengths, at::kLong), Padding::kRight};
  GenerationOptions options;
  options.max_new_tokens = 6;
  options.sampling.temperature = 0;
  auto from_right = generate(model, right, options);
  auto from_lists = generate(model, kPrompts, options);
  for (size_t i = 0; i < kPrompts.size(); ++i) expect_same(from_right[i], from_lists[i], i);
}

TEST_F(Generation, SeededSamplingIsReproducibleAndIndependentOfTheBatch) {
  GenerationOptions options;
  options.max_new_tokens = 12;
  options.sampling = {1.0, 0, 0.95};
  options.seeds = {11, 12, 13, 14, 15};
  auto first = generate(model, kPrompts, options);
  auto second = generate(model, kPrompts, options);
  for (size_t i = 0; i < kPrompts.size(); ++i) EXPECT_EQ(first[i].token_ids, second[i].token_ids);

  GenerationOptions alone = options;
  alone.seeds = {13};
  auto single = generate(model, std::vector<std::vector<int64_t>>{kPrompts[2]}, alone);
  EXPECT_EQ(single[0].token_ids, first[2].token_ids);

  options.seeds = {21, 22, 23, 24, 25};
  auto reseeded = generate(model, kPrompts, options);
  int differing = 0;
  for (size_t i = 0; i < kPrompts.size(); ++i) differing += reseeded[i].token_ids != first[i].token_ids;
  EXPECT_GT(differing, 0);
}

TEST_F(Generation, TopKOneEqualsGreedy) {
  GenerationOptions greedy;
  greedy.max_new_tokens = 8;
  greedy.sampling.temperature = 0;
  GenerationOptions top1 = greedy;
  top1.sampling = {0.8, 1, 1.0};
  top1.seed = 99;
  auto expected = generate(model, kPrompts, greedy);
  auto actual = generate(model, kPrompts, top1);
  for (size_t i = 0; i < kPrompts.size(); ++i) EXPECT_EQ(actual[i].token_ids, expected[i].token_ids);
}

TEST_F(Generation, RejectsBadRequests) {
  GenerationOptions options;
  options.max_new_tokens = 60;
  EXPECT_THROW(generate(model, kPrompts, options), Error);  // 7 + 60 > max_seq_len 64
  options.max_new_tokens = 4;
  EXPECT_THROW(generate(model, std::vector<std::vector<int64_t>>{{1}, {}}, options), Error);
  EXPECT_THROW(generate(model, std::vector<std::vector<int64_t>>{{1, 97}}, options), Error);
  options.seeds = {1, 2};
  EXPECT_THROW(generate(model, kPrompts, options), Error);
}

TEST(Sampler, TopKAndTopPKeepOnlyTheirCandidates) {
  // p = [0.5, 0.3, 0.15, 0.05] over tokens [2, 0, 3, 1].
  auto logits = at::tensor(std::vector<double>{0.3, 0.05, 0.5, 0.15}, at::kFloat).log().unsqueeze(0).repeat({4000, 1});
  auto uniforms = at::rand({4000}, at::kDouble);
  auto top2 = sample_tokens(logits, uniforms, {1.0, 2, 1.0}).tokens;
  EXPECT_TRUE(((top2 == 2) | (top2 == 0)).all().item<bool>());
  auto nucleus = sample_tokens(logits, uniforms, {1.0, 0, 0.7}).tokens;  // 0.5 + 0.3 reaches 0.7
  EXPECT_TRUE(((nucleus == 2) | (nucleus == 0)).all().item<bool>());
  EXPECT_NEAR((nucleus == 2).to(at::kDouble).mean().item<double>(), 0.5 / 0.8, 0.03);
  auto tiny_p = sample_tokens(logits, uniforms, {1.0, 0, 0.01}).tokens;
  EXPECT_TRUE((tiny_p == 2).all().item<bool>());
}

TEST(Sampler, TemperatureSamplingFollowsTheSoftmax) {
  auto row = at::tensor(std::vector<double>{1.0, 0.0, -1.0, 2.0}, at::kFloat);
  auto logits = row.unsqueeze(0).repeat({20000, 1});
  auto uniforms = at::rand({20000}, at::kDouble);
  auto sampled = sample_tokens(logits, uniforms, {2.0, 0, 1.0});
  auto expected = (row / 2.0).softmax(-1);
  for (int64_t token = 0; token < 4; ++token) {
    EXPECT_NEAR((sampled.tokens == token).to(at::kDouble).mean().item<double>(), expected[token].item<double>(), 0.015);
  }
  auto reference = at::log_softmax(logits / 2.0, -1).gather(1, sampled.tokens.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(at::allclose(sampled.logprobs, reference));
  EXPECT_THROW(sample_tokens(logits, uniforms, {-1.0, 0, 1.0}), Error);
  EXPECT_THROW(sample_tokens(logits, uniforms, {1.0, 0, 0.0}), Error);
}

TEST(Sampler, VocabLimitNeverPicksPaddingRows) {
  // The largest logits sit in rows 4 and 5, past a 4-token vocabulary.
  auto logits = at::tensor(std::vector<double>{0.1, 0.2, 0.3, 0.4, 9.0, 8.0}, at::kFloat).unsqueeze(0).repeat({500, 1});
  auto uniforms = at::rand({500}, at::kDouble);
  SamplingOptions greedy{0.0, 0, 1.0, 4};
  EXPECT_TRUE((sample_tokens(logits, uniforms, greedy).tokens == 3).all().item<bool>());
  SamplingOptions sampled{1.0, 0, 1.0, 4};
  auto result = sample_tokens(logits, uniforms, sampled);
  EXPECT_TRUE((result.tokens < 4).all().item<bool>());
  auto expected = at::log_softmax(logits.narrow(-1, 0, 4), -1).gather(-1, result.tokens.unsqueeze(-1)).squeeze(-1);
  EXPECT_TRUE(at::allclose(result.logprobs, expected));
  EXPECT_THROW(sample_tokens(logits, uniforms, SamplingOptions{1.0, 0, 1.0, -1}), Error);
}
