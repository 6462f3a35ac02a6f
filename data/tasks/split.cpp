// Hash-based train / evaluation split (see split.h).
#include "data/tasks/split.h"

#include <string>

#include "core/error.h"
#include "core/sha256.h"

namespace ember::data::tasks {

Split parse_split(std::string_view name) {
  if (name == "train") return Split::train;
  if (name == "eval") return Split::eval;
  fail_usage("unknown split '{}' (expected train or eval)", name);
}

std::string_view split_name(Split split) { return split == Split::train ? "train" : "eval"; }

void check_eval_percent(int eval_percent) {
  if (eval_percent < 1 || eval_percent > 99)
    fail_usage("eval percent must be between 1 and 99, got {}", eval_percent);
}

uint64_t problem_hash(std::string_view task, std::string_view canonical_key) {
  std::string text;
  text.reserve(task.size() + 1 + canonical_key.size());
  text.append(task).append("\n").append(canonical_key);
  return std::stoull(sha256_hex(text).substr(0, 16), nullptr, 16);
}

Split split_of_hash(uint64_t hash, int eval_percent) {
  check_eval_percent(eval_percent);
  return hash % 100 < static_cast<uint64_t>(eval_percent) ? Split::eval : Split::train;
}

}  // namespace ember::data::tasks
