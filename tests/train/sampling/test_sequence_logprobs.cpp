// Sequence layout and completion-token log-probs (train/sampling/sequence_logprobs.h): a
// (prompt, completion) pair is scored at the positions that predict its completion tokens, and with
// unchanged weights the log-probs equal those the sampler reported while generating (same
// temperature, same vocabulary limit), which the RL ratio and the KL reference rely on.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <ATen/Context.h>
#include <c10/core/GradMode.h>

#include "model/generate.h"
#include "model/transformer.h"
#include "train/sampling/sequence_logprobs.h"

namespace ember::train::sampling {
namespace {

template <typename T>
std::vector<T> values(const at::Tensor& tensor) {
  auto host = tensor.contiguous().cpu();
  return {host.data_ptr<T>(), host.data_ptr<T>() + host.numel()};
}

TEST(SequenceLogprobs, BatchPredictsEachCompletionTokenFromThePositionBeforeIt) {
  const std::vector<int64_t> prompt_a = {1, 2}, completion_a = {3, 4, 5};
  const std::vector<int64_t> prompt_b = {6}, completion_b = {7};
  const std::vector<float> old_a = {-0.5f, -1.5f, -2.5f}, old_b = {-3.5f};
  std::vector<ScoredSequence> sequences = {{&prompt_a, &completion_a, &old_a, 0.25, true},
                                           {&prompt_b, &completion_b, &old_b, -1.0, false}};
  auto batch = make_sequence_batch(sequences, c10::Device(c10::kCPU));

  // T = longest prompt + completion - 1 = 4; row b is right-padded with token 0.
  ASSERT_EQ(batch.input_ids.sizes(), (at::IntArrayRef{2, 4}));
  EXPECT_EQ(values<int64_t>(batch.input_ids), (std::vector<int64_t>{1, 2, 3, 4, 6, 0, 0, 0}));
  EXPECT_EQ(values<int64_t>(batch.targets), (std::vector<int64_t>{2, 3, 4, 5, 7, 0, 0, 0}));
  // Completion tokens of a are predicted at positions 1..3; b does not count, so its mask is 0.
  EXPECT_EQ(values<float>(batch.mask), (std::vector<float>{0, 1, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(values<float>(batch.old_logprobs), (std::vector<float>{0, -0.5f, -1.5f, -2.5f, -3.5f, 0, 0, 0}));
  EXPECT_EQ(values<float>(batch.advantages), (std::vector<float>{0.25f, -1.0f}));
}

TEST(SequenceLogprobs, EmptyPromptOrCompletionIsAnError) {
  const std::vector<int64_t> prompt = {1}, empty;
  std::vector<ScoredSequence> sequences = {{&prompt, &empty, nullptr, 0, true}};
  EXPECT_THROW(make_sequence_batch(sequences, c10::Device(c10::kCPU)), std::exception);
  EXPECT_THROW(make_sequence_batch({}, c10::Device(c10::kCPU)), std::exception);
}

TEST(SequenceLogprobs, MatchTheSamplersLogprobsAtTheSameTemperatureAndVocabularyLimit) {
  at::manual_seed(11);
  // init_std 0.5 gives peaked distributions, so a wrong temperature or vocabulary limit shows.
  model::ModelConfig config{.vocab_size = 12, .d_model = 16, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1,
                            .ffn_hidden = 32, .max_seq_len = 32, .init_std = 0.5};
  model::Transformer model(config);
  model->eval();
  c10::NoGradGuard no_grad;
  const double temperature = 0.7;
  const int64_t vocab_limit = 9;  // ids 9..11 play an embedding's padding rows
  model::GenerationOptions generation;
  generation.max_new_tokens = 6;
  generation.sampling.temperature = temperature;
  generation.sampling.vocab_limit = vocab_limit;
  generation.seeds = {1, 2, 3};
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4}, {5, 6}};
  auto completions = model::generate(model, prompts, generation);

  std::vector<ScoredSequence> sequences;
  for (size_t i = 0; i < prompts.size(); ++i) {
    sequences.push_back({&prompts[i], &completions[i].token_ids, &completions[i].logprobs, 0, true});
  }
  auto batch = make_sequence_batch(sequences, c10::Device(c10::kCPU));
  auto scored = token_logprobs(model, batch, temperature, vocab_limit, /*with_entropy=*/true);

  const auto mask = values<float>(batch.mask);
  const auto sampled = values<float>(batch.old_logprobs);
  const auto recomputed = values<float>(scored.logprobs);
  int64_t compared = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] == 0) continue;
    EXPECT_NEAR(recomputed[i], sampled[i], 1e-4) << "position " << i;
    ++compared;
  }
  EXPECT_EQ(compared, int64_t(completions[0].token_ids.size() + completions[1].token_ids.size() +
                              completions[2].token_ids.size()));
  // Entropy of a distribution over vocab_limit ids: within [0, log vocab_limit].
  for (float h : values<float>(scored.entropy)) {
    EXPECT_GE(h, 0.f);
    EXPECT_LE(h, std::log(float(vocab_limit)) + 1e-5f);
  }
  EXPECT_FALSE(token_logprobs(model, batch, temperature, vocab_limit, false).entropy.defined());
}

}  // namespace
}  // namespace ember::train::sampling
