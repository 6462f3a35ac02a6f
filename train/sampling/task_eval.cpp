// Held-out task accuracy (see task_eval.h).
#include "train/sampling/task_eval.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.h"
#include "model/generate.h"
#include "train/parallel_setup.h"
#include "train/sampling/task_prompts.h"

namespace ember::train::sampling {

TaskEvalResult evaluate_task(model::Transformer& model, const data::Tokenizer& tokenizer,
                             const data::tasks::Task& task, const TaskEvalOptions& options) {
  if (options.samples < 1) fail_usage("evaluation needs at least one sample, got {}", options.samples);
  if (options.pass_k < 1) fail_usage("pass@k needs k >= 1, got {}", options.pass_k);
  if (options.pass_k > 1 && options.temperature <= 0) {
    fail_usage("pass@{} samples several completions: give a temperature above 0", options.pass_k);
  }
  model->eval();
  auto all_problems =
      draw_distinct_problems(task, data::tasks::Split::eval, options.seed, options.samples, options.difficulty);
  // This dp rank's problems; completion i of them is completion first + i of the whole evaluation.
  const auto [shard_begin, shard_end] = options.dp
                                            ? shard_range(options.samples, options.dp->rank(), options.dp->size())
                                            : std::pair<int64_t, int64_t>{0, options.samples};
  const std::vector<data::tasks::Problem> problems(all_problems.begin() + shard_begin,
                                                   all_problems.begin() + shard_end);
  const auto k = size_t(options.pass_k);
  const uint64_t first = uint64_t(shard_begin) * k;
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& problem : problems) {
    auto ids = encode_prompt(tokenizer, problem.prompt);
    for (size_t j = 0; j < k; ++j) prompts.push_back(ids);
  }

  auto generation = completion_options(tokenizer, options.max_new_tokens, options.temperature);
  std::vector<bool> solved(problems.size(), false);
  TaskEvalResult result;
  const size_t chunk = size_t(std::max<int64_t>(1, options.batch_size));
  for (size_t start = 0; start < prompts.size(); start += chunk) {
    const size_t end = std::min(prompts.size(), start + chunk);
    std::vector<std::vector<int64_t>> part(prompts.begin() + long(start), prompts.begin() + long(end));
    generation.seeds.clear();
    for (size_t i = start; i < end; ++i) generation.seeds.push_back(options.seed + first + i);
    auto completions = model::generate(model, part, generation);
    for (size_t i = 0; i < completions.size(); ++i) {
      const size_t problem = (start + i) / k;
      auto verdict = task.verify(problems[problem], completion_text(tokenizer, completions[i]));
      if (verdict.correct) solved[problem] = true;
      result.format_score += verdict.format_score;
      result.mean_length += double(completions[i].token_ids.size());
      result.truncated += completions[i].finish_reason == model::FinishReason::kLength ? 1 : 0;
    }
  }
  std::vector<double> sums = {double(std::count(solved.begin(), solved.end(), true)), result.format_score,
                              result.mean_length, result.truncated};
  if (options.dp) {
    sums = all_reduce_values(*options.dp, sums, distributed::ReduceOp::sum, model->parameters().front().device());
  }
  const double completions = double(options.samples) * double(k);
  result.samples = options.samples;
  result.correct = int64_t(std::llround(sums[0]));
  result.accuracy = double(result.correct) / double(options.samples);
  result.format_score = sums[1] / completions;
  result.mean_length = sums[2] / completions;
  result.truncated = sums[3] / completions;
  return result;
}

}  // namespace ember::train::sampling
