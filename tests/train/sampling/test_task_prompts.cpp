// Problem streams for RL, distillation and evaluation (train/sampling/task_prompts.h): held-out
// evaluation draws distinct problems, and a split too small for the request is an error, not
// silent repeats.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/error.h"
#include "data/tasks/registry.h"
#include "train/sampling/task_prompts.h"

namespace ember::train::sampling {
namespace {

using data::tasks::Split;

TEST(TaskPrompts, DistinctProblemsHaveDistinctCanonicalKeysAndComeFromTheSplit) {
  const auto& task = data::tasks::find_task("word_problems");
  auto problems = draw_distinct_problems(task, Split::eval, /*seed=*/3, /*count=*/300, /*difficulty=*/2);
  ASSERT_EQ(problems.size(), 300u);
  std::set<std::string> keys;
  for (const auto& p : problems) {
    keys.insert(task.canonical_key(p));
    EXPECT_EQ(task.split_of(p), Split::eval);
  }
  EXPECT_EQ(keys.size(), problems.size());
  // The same request gives the same problems (the evaluation is reproducible).
  auto again = draw_distinct_problems(task, Split::eval, 3, 300, 2);
  for (size_t i = 0; i < problems.size(); ++i) EXPECT_EQ(again[i].prompt, problems[i].prompt);
}

TEST(TaskPrompts, PlainStreamRepeatsProblemsThatTheDistinctDrawCountsOnce) {
  // Difficulty 1 word problems have only a few dozen distinct held-out problems: 400 plain draws
  // repeat them, which is why evaluation uses distinct draws.
  const auto& task = data::tasks::find_task("word_problems");
  auto plain = draw_problems(task, Split::eval, 0, 0, 400, 1);
  std::set<std::string> keys;
  for (const auto& p : plain) keys.insert(task.canonical_key(p));
  EXPECT_LT(keys.size(), 100u);
  auto distinct = draw_distinct_problems(task, Split::eval, 0, int64_t(keys.size()), 1);
  EXPECT_EQ(distinct.size(), keys.size());
}

TEST(TaskPrompts, TooFewDistinctProblemsIsAClearError) {
  const auto& task = data::tasks::find_task("word_problems");
  try {
    draw_distinct_problems(task, Split::eval, 0, 400, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("word_problems"), std::string::npos) << message;
    EXPECT_NE(message.find("distinct eval problems at difficulty 1"), std::string::npos) << message;
    EXPECT_NE(message.find("400 asked for"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace ember::train::sampling
