// Held-out task accuracy (see task_eval.h).
#include "train/rl/task_eval.h"

#include <algorithm>

#include "core/error.h"
#include "model/generate.h"
#include "train/rl/task_prompts.h"

namespace ember::train::rl {

TaskEvalResult evaluate_task(model::Transformer& model, const data::Tokenizer& tokenizer,
                             const data::tasks::Task& task, const TaskEvalOptions& options) {
  if (options.samples < 1) fail_usage("evaluation needs at least one sample, got {}", options.samples);
  if (options.pass_k < 1) fail_usage("pass@k needs k >= 1, got {}", options.pass_k);
  if (options.pass_k > 1 && options.temperature <= 0) {
    fail_usage("pass@{} samples several completions: give a temperature above 0", options.pass_k);
  }
  model->eval();
  auto problems = draw_distinct_problems(task, data::tasks::Split::eval, options.seed, options.samples, options.difficulty);
  const auto k = size_t(options.pass_k);
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& problem : problems) {
    auto ids = encode_prompt(tokenizer, problem.prompt);
    for (size_t j = 0; j < k; ++j) prompts.push_back(ids);
  }

  model::GenerationOptions generation;
  generation.max_new_tokens = options.max_new_tokens;
  generation.sampling.temperature = options.temperature;
  generation.stop_tokens = {eos_token(tokenizer)};
  std::vector<bool> solved(problems.size(), false);
  TaskEvalResult result;
  const size_t chunk = size_t(std::max<int64_t>(1, options.batch_size));
  for (size_t start = 0; start < prompts.size(); start += chunk) {
    const size_t end = std::min(prompts.size(), start + chunk);
    std::vector<std::vector<int64_t>> part(prompts.begin() + long(start), prompts.begin() + long(end));
    generation.seed = options.seed + start;
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
  const double completions = double(prompts.size());
  result.samples = options.samples;
  result.correct = int64_t(std::count(solved.begin(), solved.end(), true));
  result.accuracy = double(result.correct) / double(options.samples);
  result.format_score /= completions;
  result.mean_length /= completions;
  result.truncated /= completions;
  return result;
}

}  // namespace ember::train::rl
