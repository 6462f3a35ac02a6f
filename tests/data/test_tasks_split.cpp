// The train / eval split by problem hash: no eval problem is ever generated into training data,
// whatever the seed, index or difficulty; surface variants of a problem share its split.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/tasks/registry.h"
#include "data/tasks/split.h"

using namespace ember::data::tasks;

namespace {

/// Canonical keys of `count` examples of each of `seeds` streams of one split, over difficulties.
std::set<std::string> keys_of(const Task& task, Split split, int seeds, int count, int eval_percent) {
  std::set<std::string> keys;
  for (int seed = 0; seed < seeds; ++seed) {
    int difficulty = kMinDifficulty + seed % 3;  // 1..3: ranges overlap, so shared problems can occur
    for (int index = 0; index < count; ++index) {
      Problem problem =
          task.generate(static_cast<uint64_t>(seed) * 7919 + 1, static_cast<uint64_t>(index),
                        {.split = split, .difficulty = difficulty, .eval_percent = eval_percent})
              .problem;
      keys.insert(task.canonical_key(problem));
    }
  }
  return keys;
}

}  // namespace

TEST(TaskSplit, HashIsTheFirst64BitsOfSha256) {
  // python3 -c "import hashlib;print(int(hashlib.sha256(b'countdown\n3 4 6->30').hexdigest()[:16],16))"
  EXPECT_EQ(problem_hash("countdown", "3 4 6->30"), 7709316334831816010ULL);
  EXPECT_EQ(split_of_hash(7709316334831816010ULL, 10), Split::train);  // 7709316334831816010 % 100 == 10
  EXPECT_EQ(split_of_hash(7709316334831816010ULL, 11), Split::eval);
}

TEST(TaskSplit, TrainAndEvalStreamsAreDisjointOverManySeedsAndDifficulties) {
  for (const Task* task : all_tasks()) {
    std::set<std::string> train = keys_of(*task, Split::train, 40, 150, kDefaultEvalPercent);
    std::set<std::string> eval = keys_of(*task, Split::eval, 40, 150, kDefaultEvalPercent);
    ASSERT_GT(train.size(), 1000u) << task->name();
    ASSERT_GT(eval.size(), 1000u) << task->name();
    for (const std::string& key : eval) {
      ASSERT_EQ(train.count(key), 0u) << task->name() << " eval problem " << key << " appeared in train";
      ASSERT_LT(problem_hash(task->name(), key) % 100, static_cast<uint64_t>(kDefaultEvalPercent));
    }
    for (const std::string& key : train)
      ASSERT_GE(problem_hash(task->name(), key) % 100, static_cast<uint64_t>(kDefaultEvalPercent));
  }
}

TEST(TaskSplit, RawDrawsFallIntoEvalAtRoughlyTheRequestedRate) {
  for (const Task* task : all_tasks()) {
    int eval = 0;
    const int draws = 4000;
    for (int index = 0; index < draws; ++index) {
      TaskRng rng(combine_seeds({17, static_cast<uint64_t>(index)}));
      eval += task->split_of(task->draw(rng, task->default_difficulty()).problem, 20) == Split::eval;
    }
    EXPECT_NEAR(eval / double(draws), 0.20, 0.04) << task->name();
  }
}

TEST(TaskSplit, LargerEvalPercentOnlyMovesProblemsIntoEval) {
  const Task& task = find_task("arithmetic");
  for (int index = 0; index < 300; ++index) {
    Problem problem = task.generate(3, index, {.split = Split::eval, .eval_percent = 10}).problem;
    EXPECT_EQ(task.split_of(problem, 25), Split::eval);
  }
}

TEST(TaskSplit, SurfaceVariantsShareTheirSplit) {
  const Task& arithmetic = find_task("arithmetic");
  Problem sum{.task = "arithmetic", .prompt = "", .answer = "432", .meta = {{"a", "347"}, {"op", "+"}, {"b", "85"}}};
  Problem swapped = sum;
  std::swap(swapped.meta["a"], swapped.meta["b"]);
  EXPECT_EQ(arithmetic.canonical_key(sum), arithmetic.canonical_key(swapped));
  Problem difference = sum;
  difference.meta["op"] = "-";
  Problem reversed = difference;
  std::swap(reversed.meta["a"], reversed.meta["b"]);
  EXPECT_NE(arithmetic.canonical_key(difference), arithmetic.canonical_key(reversed));

  const Task& countdown = find_task("countdown");
  Problem numbers{.task = "countdown", .prompt = "", .answer = "", .meta = {{"numbers", "6 3 4"}, {"target", "30"}}};
  Problem shuffled = numbers;
  shuffled.meta["numbers"] = "3 4 6";
  EXPECT_EQ(countdown.canonical_key(numbers), countdown.canonical_key(shuffled));
  EXPECT_EQ(countdown.split_of(numbers), countdown.split_of(shuffled));

  const Task& words = find_task("word_problems");
  Example story = words.generate(1, 0);
  Problem renamed = story.problem;
  renamed.prompt = "a different name and item\n";
  renamed.meta["unit"] = "pears";
  EXPECT_EQ(words.canonical_key(story.problem), words.canonical_key(renamed));
  EXPECT_EQ(words.split_of(story.problem), words.split_of(renamed));
}

TEST(TaskSplit, BadEvalPercentAndSplitNamesAreUsageErrors) {
  const Task& task = find_task("countdown");
  EXPECT_THROW(task.generate(1, 0, {.eval_percent = 0}), ember::UsageError);
  EXPECT_THROW(task.generate(1, 0, {.eval_percent = 100}), ember::UsageError);
  EXPECT_THROW(parse_split("test"), ember::UsageError);
  EXPECT_EQ(parse_split("eval"), Split::eval);
  EXPECT_EQ(split_name(Split::train), "train");
}

TEST(TaskSplit, MissingMetaIsAnErrorNamingTheField) {
  Problem problem{.task = "countdown", .prompt = "", .answer = "", .meta = {{"numbers", "1 2"}}};
  try {
    find_task("countdown").canonical_key(problem);
    FAIL() << "expected ember::Error";
  } catch (const ember::Error& error) {
    EXPECT_NE(std::string(error.what()).find("'target'"), std::string::npos) << error.what();
  }
}
