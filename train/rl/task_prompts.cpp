// Problems, prompts and completions as text and tokens (see task_prompts.h).
#include "train/rl/task_prompts.h"

#include "core/error.h"

namespace ember::train::rl {

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

std::string completion_text(const data::Tokenizer& tokenizer, const model::Completion& completion) {
  std::vector<int32_t> ids(completion.token_ids.begin(), completion.token_ids.end());
  if (completion.finish_reason == model::FinishReason::kStop && !ids.empty()) ids.pop_back();
  return tokenizer.decode(ids);
}

nlohmann::json problem_metadata(const data::tasks::Problem& problem) {
  return {{"task", problem.task}, {"answer", problem.answer}, {"meta", problem.meta}};
}

}  // namespace ember::train::rl
