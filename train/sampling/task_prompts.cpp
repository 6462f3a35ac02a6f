// Problems, prompts and completions as text and tokens (see task_prompts.h).
#include "train/sampling/task_prompts.h"

#include <unordered_set>

#include "core/error.h"
#include "data/tasks/split.h"

namespace ember::train::sampling {

std::vector<data::tasks::Problem> draw_problems(const data::tasks::Task& task, data::tasks::Split split, uint64_t seed,
                                                uint64_t first, int64_t count, int difficulty) {
  data::tasks::GenerateOptions options;
  options.split = split;
  if (difficulty > 0) options.difficulty = difficulty;
  std::vector<data::tasks::Problem> problems;
  problems.reserve(size_t(count));
  for (int64_t i = 0; i < count; ++i) problems.push_back(task.generate(seed, first + uint64_t(i), options).problem);
  return problems;
}

std::vector<data::tasks::Problem> draw_distinct_problems(const data::tasks::Task& task, data::tasks::Split split,
                                                         uint64_t seed, int64_t count, int difficulty) {
  data::tasks::GenerateOptions options;
  options.split = split;
  if (difficulty > 0) options.difficulty = difficulty;
  // Once this many draws in a row bring nothing new, the split is (almost surely) exhausted.
  const uint64_t patience = 20000;
  std::unordered_set<std::string> seen;
  std::vector<data::tasks::Problem> problems;
  problems.reserve(size_t(count));
  uint64_t since_new = 0;
  for (uint64_t index = 0; int64_t(problems.size()) < count && since_new < patience; ++index, ++since_new) {
    auto problem = task.generate(seed, index, options).problem;
    if (!seen.insert(task.canonical_key(problem)).second) continue;
    problems.push_back(std::move(problem));
    since_new = 0;
  }
  if (int64_t(problems.size()) < count) {
    fail_usage("task '{}' has only {} distinct {} problems at difficulty {} ({} asked for): evaluate fewer "
               "samples or a higher difficulty",
               task.name(), problems.size(), data::tasks::split_name(split),
               difficulty > 0 ? difficulty : task.default_difficulty(), count);
  }
  return problems;
}

std::vector<int64_t> encode_prompt(const data::Tokenizer& tokenizer, const std::string& prompt) {
  auto ids = tokenizer.encode(prompt);
  if (ids.empty()) fail("the prompt '{}' encodes to no tokens", prompt);
  return {ids.begin(), ids.end()};
}

int64_t eos_token(const data::Tokenizer& tokenizer) {
  auto id = tokenizer.token_to_id("<|eos|>");
  if (!id) fail("the tokenizer has no <|eos|> token to end completions with");
  return *id;
}

model::GenerationOptions completion_options(const data::Tokenizer& tokenizer, int64_t max_new_tokens,
                                            double temperature) {
  model::GenerationOptions generation;
  generation.max_new_tokens = max_new_tokens;
  generation.sampling.temperature = temperature;
  generation.sampling.vocab_limit = tokenizer.vocab_size();
  generation.stop_tokens = {eos_token(tokenizer)};
  return generation;
}

std::string completion_text(const data::Tokenizer& tokenizer, const model::Completion& completion) {
  std::vector<int32_t> ids(completion.token_ids.begin(), completion.token_ids.end());
  if (completion.finish_reason == model::FinishReason::kStop && !ids.empty()) ids.pop_back();
  return tokenizer.decode(ids);
}

nlohmann::json problem_metadata(const data::tasks::Problem& problem) {
  return {{"task", problem.task}, {"answer", problem.answer}, {"meta", problem.meta}};
}

}  // namespace ember::train::sampling
