// Sampling, scoring, shaping and dynamic sampling of one RL step's rollouts (see rollout.h).
#include "train/rl/rollout.h"

#include <algorithm>
#include <chrono>

#include <ATen/TensorOperators.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "model/generate.h"
#include "train/rl/sequence_logprobs.h"
#include "train/rl/task_prompts.h"

namespace ember::train::rl {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// splitmix64 finaliser: decorrelates the seeds of neighbouring samples.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t sample_seed(uint64_t seed, uint64_t prompt_index, int64_t sample) {
  return mix(mix(seed ^ 0x726c726f6c6c6f75ULL) ^ mix(prompt_index) ^ uint64_t(sample));
}

std::vector<double> group_rewards(const std::vector<Rollout>& rollouts, size_t start, size_t size) {
  std::vector<double> rewards;
  for (size_t i = start; i < start + size; ++i) rewards.push_back(rollouts[i].reward);
  return rewards;
}

}  // namespace

Overlong parse_overlong(std::string_view name) {
  if (name == "none") return Overlong::kNone;
  if (name == "filter") return Overlong::kFilter;
  if (name == "soft") return Overlong::kSoft;
  fail_usage("unknown overlong mode '{}': use none, filter or soft", name);
}

RolloutCollector::RolloutCollector(model::Transformer& policy, model::Transformer* reference,
                                   const data::Tokenizer& tokenizer, const data::tasks::Task& task,
                                   const RewardFunction& rewards, RolloutOptions options)
    : policy_(policy),
      reference_(reference),
      tokenizer_(tokenizer),
      task_(task),
      rewards_(rewards),
      options_(options),
      eos_id_(eos_token(tokenizer)) {
  if (options_.kl_reward_coef > 0 && reference_ == nullptr) fail_usage("a KL in the reward needs a reference model");
  if (options_.group_size < 1 || options_.prompts < 1) fail_usage("rollouts need at least one prompt and one sample");
}

void RolloutCollector::sample_groups(const std::vector<data::tasks::Problem>& problems, uint64_t first_index,
                                     std::vector<Rollout>& out, RolloutStats& stats) {
  const auto group_size = size_t(options_.group_size);
  std::vector<std::vector<int64_t>> prompts;
  model::GenerationOptions generation;
  generation.max_new_tokens = options_.max_new_tokens;
  generation.sampling.temperature = options_.temperature;
  generation.sampling.top_p = options_.top_p;
  generation.stop_tokens = {eos_id_};
  for (size_t p = 0; p < problems.size(); ++p) {
    auto ids = encode_prompt(tokenizer_, problems[p].prompt);
    for (size_t k = 0; k < group_size; ++k) {
      prompts.push_back(ids);
      generation.seeds.push_back(sample_seed(options_.seed, first_index + p, int64_t(k)));
    }
  }
  auto start = Clock::now();
  auto completions = model::generate(policy_, prompts, generation);
  stats.generation_s += seconds_since(start);

  start = Clock::now();
  std::vector<const data::tasks::Problem*> problem_of;
  std::vector<std::string> texts;
  for (size_t i = 0; i < completions.size(); ++i) {
    problem_of.push_back(&problems[i / group_size]);
    texts.push_back(completion_text(tokenizer_, completions[i]));
  }
  auto scores = rewards_.score(problem_of, texts);
  stats.scoring_s += seconds_since(start);

  for (size_t i = 0; i < completions.size(); ++i) {
    Rollout r;
    r.group = i / group_size;
    r.prompt_ids = std::move(prompts[i]);
    r.completion_ids = std::move(completions[i].token_ids);
    r.logprobs = std::move(completions[i].logprobs);
    r.truncated = completions[i].finish_reason == model::FinishReason::kLength;
    r.score = scores[i];
    out.push_back(std::move(r));
  }
}

void RolloutCollector::shape_rewards(std::vector<Rollout>& rollouts) {
  for (auto& r : rollouts) {
    r.reward = r.score.reward;
    if (options_.overlong == Overlong::kSoft) {
      r.reward += overlong_penalty(int64_t(r.completion_ids.size()), options_.max_new_tokens, options_.overlong_buffer,
                                   options_.overlong_penalty);
    }
    r.counts = !(options_.overlong == Overlong::kFilter && r.truncated);
  }
  if (options_.kl_reward_coef <= 0 || rollouts.empty()) return;
  c10::NoGradGuard no_grad;
  std::vector<ScoredSequence> sequences;
  for (const auto& r : rollouts) sequences.push_back({&r.prompt_ids, &r.completion_ids, &r.logprobs, 0.0, true});
  auto device = (*reference_)->parameters().front().device();
  auto batch = make_sequence_batch(sequences, device);
  auto reference = token_logprobs(*reference_, batch, options_.temperature, false);
  auto kl = (kl_estimate(batch.old_logprobs, reference.logprobs, options_.kl_estimator) * batch.mask).sum(1).cpu();
  for (size_t i = 0; i < rollouts.size(); ++i) {
    rollouts[i].kl = kl[int64_t(i)].item<double>();
    rollouts[i].reward -= options_.kl_reward_coef * rollouts[i].kl;
  }
}

RolloutBatch RolloutCollector::collect(uint64_t& next_prompt_index) {
  RolloutBatch batch;
  auto& stats = batch.stats;
  const auto group_size = size_t(options_.group_size);
  const int64_t rounds = options_.dynamic_sampling ? options_.sampling_rounds : 1;
  std::vector<data::tasks::Problem> last_problems;
  std::vector<Rollout> last_rollouts;
  int64_t missing = options_.prompts;
  for (int64_t round = 0; round < rounds && missing > 0; ++round) {
    auto problems = draw_problems(task_, data::tasks::Split::train, options_.seed, next_prompt_index, missing,
                                  options_.difficulty);
    std::vector<Rollout> rollouts;
    sample_groups(problems, next_prompt_index, rollouts, stats);
    next_prompt_index += uint64_t(missing);
    shape_rewards(rollouts);
    ++stats.rounds;
    for (const auto& r : rollouts) {
      ++stats.completions;
      stats.reward_sum += r.reward;
      stats.reward_square_sum += r.reward * r.reward;
      stats.format_sum += r.score.format_score;
      stats.kl_sum += r.kl;
      stats.correct += r.score.correct ? 1 : 0;
      stats.truncated += r.truncated ? 1 : 0;
      stats.generated_tokens += int64_t(r.completion_ids.size());
      stats.max_length = std::max<int64_t>(stats.max_length, int64_t(r.completion_ids.size()));
    }
    for (size_t g = 0; g < problems.size(); ++g) {
      const bool zero_std = has_zero_std(group_rewards(rollouts, g * group_size, group_size));
      ++stats.groups;
      stats.zero_std_groups += zero_std ? 1 : 0;
      if (options_.dynamic_sampling && zero_std) continue;
      batch.problems.push_back(problems[g]);
      for (size_t k = 0; k < group_size; ++k) {
        auto r = rollouts[g * group_size + k];
        r.group = batch.problems.size() - 1;
        batch.rollouts.push_back(std::move(r));
      }
    }
    missing = options_.prompts - int64_t(batch.problems.size());
    last_problems = std::move(problems);
    last_rollouts = std::move(rollouts);
  }
  if (batch.problems.empty()) {
    batch.problems = std::move(last_problems);
    batch.rollouts = std::move(last_rollouts);
  }
  for (size_t start = 0; start < batch.rollouts.size(); start += group_size) {
    auto advantages = group_advantages(group_rewards(batch.rollouts, start, group_size), options_.advantage);
    for (size_t k = 0; k < group_size; ++k) batch.rollouts[start + k].advantage = advantages[k];
  }
  return batch;
}

}  // namespace ember::train::rl
