// The text interface between generated tasks and the model, shared through train/sampling/ by RL
// rollouts, distillation's sampled sequences and `ember eval`: problem streams per split, prompts
// as token ids, the policy's generation settings, completions back as text.
//
// A prompt is the problem's prompt text encoded on its own, with no BOS or separator in front:
// pretraining packs documents with document masking, so a document's first token sees nothing
// before it, exactly like a prompt at position 0 here. Generation stops at <|eos|> (the document
// separator of `ember data prepare`); the completion text is the decoded tokens without it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/tasks/problem.h"
#include "data/tasks/task.h"
#include "data/tokenizer/tokenizer.h"
#include "model/generate.h"

namespace ember::train::sampling {

/// Problems `first`, first + 1, ... of the task's stream `seed` in `split`; difficulty 0 means the
/// task's default.
std::vector<data::tasks::Problem> draw_problems(const data::tasks::Task& task, data::tasks::Split split, uint64_t seed,
                                                uint64_t first, int64_t count, int difficulty);

/// `count` DISTINCT problems (by the task's canonical key: the same numbers under another name or
/// unit are the same problem) from the start of the stream `seed` in `split`, in stream order. An
/// accuracy over them is an accuracy over problems, not over repeats of a few. Fails, naming the
/// task, split and difficulty, when the split holds fewer distinct problems than asked for.
std::vector<data::tasks::Problem> draw_distinct_problems(const data::tasks::Task& task, data::tasks::Split split,
                                                         uint64_t seed, int64_t count, int difficulty);

/// The prompt's token ids; throws ember::Error when it encodes to nothing.
std::vector<int64_t> encode_prompt(const data::Tokenizer& tokenizer, const std::string& prompt);

/// The id of <|eos|>, the stop token of every completion; throws ember::Error when missing.
int64_t eos_token(const data::Tokenizer& tokenizer);

/// Generation of task completions with `tokenizer`: at most max_new_tokens, at `temperature`, ending
/// at <|eos|>, sampling only the tokenizer's ids (never the embedding's padding rows). RL rollouts,
/// task evaluation and on-policy distillation all complete prompts this way.
model::GenerationOptions completion_options(const data::Tokenizer& tokenizer, int64_t max_new_tokens,
                                            double temperature);

/// The completion's text, without its stop token.
std::string completion_text(const data::Tokenizer& tokenizer, const model::Completion& completion);

/// The task's metadata of a problem as JSON {"task", "answer", "meta"} (reward command input).
nlohmann::json problem_metadata(const data::tasks::Problem& problem);

}  // namespace ember::train::sampling
