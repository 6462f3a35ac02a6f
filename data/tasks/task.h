// The Task interface: a family of procedurally generated reasoning problems with a verifier.
// Concrete tasks (arithmetic, countdown, word_problems) implement draw / canonical_key / verify;
// this base class turns draws into reproducible train- or eval-only streams:
//
//   example = task.generate(seed, index, {.split = Split::eval, .difficulty = 3});
//
// Example `index` of stream `seed` is drawn from its own RNG stream (seed, task, difficulty,
// index, attempt); problems that hash into the other split are skipped by moving to the next
// attempt. So the same arguments give the same example everywhere, any index can be generated
// on its own, and a train stream never yields an eval problem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "data/tasks/problem.h"
#include "data/tasks/random.h"
#include "data/tasks/split.h"
#include "data/tasks/verdict.h"

namespace ember::data::tasks {

/// Difficulty levels shared by every task; each task documents what a level changes.
constexpr int kMinDifficulty = 1;
constexpr int kMaxDifficulty = 5;

struct GenerateOptions {
  Split split = Split::train;
  std::optional<int> difficulty = std::nullopt;  ///< the task's default when unset
  int eval_percent = kDefaultEvalPercent;
};

class Task {
 public:
  virtual ~Task() = default;

  /// The registered name ("arithmetic", ...), also Problem::task.
  virtual std::string_view name() const = 0;
  /// One line for --help and the docs.
  virtual std::string_view description() const = 0;
  /// The difficulty the nano pipeline trains on: learnable by a ~1-3M parameter model.
  virtual int default_difficulty() const = 0;

  /// One random example at `difficulty`, whatever its split. Deterministic given the RNG state.
  virtual Example draw(TaskRng& rng, int difficulty) const = 0;

  /// The problem without surface details, from its meta: problems that differ only in ways that
  /// do not change the reasoning (operand order of + and *, number order in Countdown, names in
  /// word problems) share a key, hence a split.
  virtual std::string canonical_key(const Problem& problem) const = 0;

  /// Judges a completion (the text after the prompt). Never throws for any completion text;
  /// throws ember::Error only when the problem itself is malformed (missing meta).
  virtual Verdict verify(const Problem& problem, std::string_view completion) const = 0;

  /// The example worked with a systematic slip, and the wrong answer the slip leads to: a flawed
  /// demonstration, such as web text is full of (arithmetic: every carry and borrow dropped).
  /// nullopt for tasks and problems without one. Used by `ember data generate --careless-percent`.
  virtual std::optional<Example> careless(const Example& example) const {
    (void)example;
    return std::nullopt;
  }

  /// The split of a problem: a function of its task and canonical key only.
  Split split_of(const Problem& problem, int eval_percent = kDefaultEvalPercent) const;

  /// Example `index` of the stream `seed` in the requested split. Throws ember::UsageError for a
  /// difficulty outside [kMinDifficulty, kMaxDifficulty] or a bad eval percent.
  Example generate(uint64_t seed, uint64_t index, const GenerateOptions& options = {}) const;

  /// `options.difficulty` or the default, checked.
  int resolve_difficulty(const GenerateOptions& options) const;
};

}  // namespace ember::data::tasks
