// Sampling, scoring, shaping and dynamic sampling of one RL step's rollouts (see rollout.h).
#include "train/rl/rollout.h"

#include <algorithm>
#include <chrono>

#include <ATen/TensorOperators.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "model/generate.h"
#include "train/parallel_setup.h"
#include "train/sampling/sequence_logprobs.h"
#include "train/sampling/task_prompts.h"

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

/// The step's statistics over every dp rank: counts and sums added, maxima (and the slowest
/// rank's times) taken; the rounds are the same on every rank.
void reduce_stats(distributed::Communicator& dp, RolloutStats& s, const c10::Device& device) {
  auto sums = all_reduce_values(dp,
                                {double(s.completions), double(s.groups), double(s.zero_std_groups),
                                 double(s.truncated), double(s.correct), double(s.generated_tokens), s.reward_sum,
                                 s.reward_square_sum, s.format_sum, s.kl_sum},
                                distributed::ReduceOp::sum, device);
  auto maxima = all_reduce_values(dp, {double(s.max_length), s.generation_s, s.scoring_s}, distributed::ReduceOp::max,
                                  device);
  s.completions = int64_t(sums[0]);
  s.groups = int64_t(sums[1]);
  s.zero_std_groups = int64_t(sums[2]);
  s.truncated = int64_t(sums[3]);
  s.correct = int64_t(sums[4]);
  s.generated_tokens = int64_t(sums[5]);
  s.reward_sum = sums[6];
  s.reward_square_sum = sums[7];
  s.format_sum = sums[8];
  s.kl_sum = sums[9];
  s.max_length = int64_t(maxima[0]);
  s.generation_s = maxima[1];
  s.scoring_s = maxima[2];
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
      options_(options) {
  sampling::eos_token(tokenizer);  // a tokenizer without <|eos|> fails here, not at the first rollout
  if (options_.kl_reward_coef > 0 && reference_ == nullptr) fail_usage("a KL in the reward needs a reference model");
  if (options_.group_size < 1 || options_.prompts < 1) fail_usage("rollouts need at least one prompt and one sample");
}

void RolloutCollector::sample_groups(const std::vector<data::tasks::Problem>& problems, uint64_t first_index,
                                     std::vector<Rollout>& out, RolloutStats& stats) {
  const auto group_size = size_t(options_.group_size);
  std::vector<std::vector<int64_t>> prompts;
  auto generation = sampling::completion_options(tokenizer_, options_.max_new_tokens, options_.temperature);
  generation.sampling.top_p = options_.top_p;
  for (size_t p = 0; p < problems.size(); ++p) {
    auto ids = sampling::encode_prompt(tokenizer_, problems[p].prompt);
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
    texts.push_back(sampling::completion_text(tokenizer_, completions[i]));
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
  std::vector<sampling::ScoredSequence> sequences;
  for (const auto& r : rollouts) sequences.push_back({&r.prompt_ids, &r.completion_ids, &r.logprobs, 0.0, true});
  auto device = (*reference_)->parameters().front().device();
  auto batch = sampling::make_sequence_batch(sequences, device);
  auto reference = sampling::token_logprobs(*reference_, batch, options_.temperature, tokenizer_.vocab_size(), false);
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
  const int64_t ranks = options_.dp ? options_.dp->size() : 1, rank = options_.dp ? options_.dp->rank() : 0;
  const auto device = policy_->parameters().front().device();
  std::vector<data::tasks::Problem> last_problems;
  std::vector<Rollout> last_rollouts;
  int64_t last_begin = 0, last_count = 0;  // the last round: this rank's first group, the round's groups
  int64_t kept = 0;                        // groups kept over every rank so far
  int64_t missing = options_.prompts;
  for (int64_t round = 0; round < rounds && missing > 0; ++round) {
    // This rank's share of the round's prompts, by global prompt index.
    const auto [begin, end] = shard_range(missing, rank, ranks);
    const uint64_t first = next_prompt_index + uint64_t(begin);
    auto problems = sampling::draw_problems(task_, data::tasks::Split::train, options_.seed, first, end - begin,
                                            options_.difficulty);
    std::vector<Rollout> rollouts;
    if (!problems.empty()) sample_groups(problems, first, rollouts, stats);
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
    std::vector<size_t> keep;
    for (size_t g = 0; g < problems.size(); ++g) {
      const bool zero_std = has_zero_std(group_rewards(rollouts, g * group_size, group_size));
      ++stats.groups;
      stats.zero_std_groups += zero_std ? 1 : 0;
      if (!(options_.dynamic_sampling && zero_std)) keep.push_back(g);
    }
    // Every rank's kept count: this rank's kept groups follow those of the earlier rounds and of
    // the lower ranks in this round, as on one process.
    std::vector<double> counts(size_t(ranks), 0.0);
    counts[size_t(rank)] = double(keep.size());
    if (options_.dp) counts = all_reduce_values(*options_.dp, counts, distributed::ReduceOp::sum, device);
    int64_t position = kept;
    for (int64_t r = 0; r < rank; ++r) position += int64_t(counts[size_t(r)]);
    for (size_t g : keep) {
      batch.problems.push_back(problems[g]);
      for (size_t k = 0; k < group_size; ++k) {
        auto r = rollouts[g * group_size + k];
        r.group = batch.problems.size() - 1;
        r.index = size_t(position) * group_size + k;
        batch.rollouts.push_back(std::move(r));
      }
      ++position;
    }
    for (double c : counts) kept += int64_t(c);
    last_begin = begin;
    last_count = missing;
    missing = options_.prompts - kept;
    last_problems = std::move(problems);
    last_rollouts = std::move(rollouts);
  }
  batch.global_rollouts = kept * options_.group_size;
  if (kept == 0) {  // no group with any spread on any rank: the last round's groups (zero advantages)
    batch.problems = std::move(last_problems);
    batch.rollouts = std::move(last_rollouts);
    for (size_t i = 0; i < batch.rollouts.size(); ++i) batch.rollouts[i].index = size_t(last_begin) * group_size + i;
    batch.global_rollouts = last_count * options_.group_size;
  }
  for (size_t start = 0; start < batch.rollouts.size(); start += group_size) {
    auto advantages = group_advantages(group_rewards(batch.rollouts, start, group_size), options_.advantage);
    for (size_t k = 0; k < group_size; ++k) batch.rollouts[start + k].advantage = advantages[k];
  }
  if (options_.dp) reduce_stats(*options_.dp, stats, device);
  return batch;
}

}  // namespace ember::train::rl
