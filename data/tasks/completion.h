// Reading a model completion: its tag structure, the format score, the text of the final answer,
// and integer answers written the ways people write them.
//
// The completion is the decoded text the model produced after the prompt, without the
// end-of-sequence token. The expected shape is
//
//   <think> ...worked steps... </think> <answer> FINAL </answer>
//
// Format score, four quarters of 0.25 each:
//   1. exactly one <think> and one </think>, the opening first;
//   2. exactly one <answer> and one </answer>, the opening first;
//   3. both of the above and the think block closes before the answer block opens;
//   4. the completion, trimmed of whitespace, starts with <think> and ends with </answer>.
//
// The answer is read only from a single well-formed <answer>...</answer> block: an answer outside
// the tags, several answer blocks (hedging), nested or unclosed tags all give no answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "data/tasks/verdict.h"

namespace ember::data::tasks {

struct CompletionParts {
  double format_score = 0.0;
  /// The trimmed text inside the single answer block; empty when `error` is set.
  std::string answer;
  /// Why no answer could be read ("no <answer> tag", "multiple <answer> tags", ...); empty if read.
  std::string error;
};

CompletionParts parse_completion(std::string_view completion);

/// Parses an integer answer: surrounding whitespace, one trailing period, a leading '+' or '-',
/// and thousands separators in groups of three ("1,234") are accepted; anything else (words,
/// decimals, several numbers, more than 18 digits) gives nullopt.
std::optional<int64_t> parse_integer_answer(std::string_view text);

/// The verdict for tasks whose answer is one integer: the answer block must parse with
/// parse_integer_answer (after removing a trailing `unit` word such as "apples", when given) and
/// equal `expected`.
Verdict verify_integer_completion(std::string_view completion, int64_t expected, std::string_view unit = {});

}  // namespace ember::data::tasks
