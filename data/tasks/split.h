// Train / evaluation split by a hash of the canonical problem. A problem's split depends on
// nothing but its content (task name + canonical key), never on seeds, indices or difficulty, so
// no evaluation problem can appear in training data however the data were generated.
#pragma once

#include <cstdint>
#include <string_view>

namespace ember::data::tasks {

enum class Split { train, eval };

/// Share of problems (by hash) that belong to the evaluation split, in percent.
constexpr int kDefaultEvalPercent = 10;

/// "train" or "eval"; anything else throws ember::UsageError.
Split parse_split(std::string_view name);
std::string_view split_name(Split split);

/// Throws ember::UsageError unless 1 <= eval_percent <= 99 (both splits must be able to exist).
void check_eval_percent(int eval_percent);

/// The first 64 bits of SHA-256("<task>\n<canonical_key>"), big-endian.
uint64_t problem_hash(std::string_view task, std::string_view canonical_key);

/// eval when hash % 100 < eval_percent, else train.
Split split_of_hash(uint64_t hash, int eval_percent);

}  // namespace ember::data::tasks
