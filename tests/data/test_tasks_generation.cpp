// Task generators: determinism from the seed, generated solutions verify as correct, worked steps
// are right, difficulty knobs change the problems, texts stay short, the registry finds tasks.
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/tasks/arithmetic.h"
#include "data/tasks/dataset.h"
#include "data/tasks/registry.h"

using namespace ember::data::tasks;

namespace {

constexpr int kDraws = 300;

/// The completion part of an example: what a perfect model would write after the prompt.
std::string completion_of(const Example& example) { return example.solution; }

}  // namespace

TEST(TaskGeneration, SameSeedSameExamplesDifferentSeedDifferent) {
  for (const Task* task : all_tasks()) {
    for (int index = 0; index < 20; ++index) {
      EXPECT_EQ(task->generate(7, index), task->generate(7, index)) << task->name();
    }
    std::set<std::string> prompts_a, prompts_b;
    for (int index = 0; index < 20; ++index) {
      prompts_a.insert(task->generate(7, index).problem.prompt);
      prompts_b.insert(task->generate(8, index).problem.prompt);
    }
    EXPECT_NE(prompts_a, prompts_b) << task->name();
    EXPECT_GT(prompts_a.size(), 15u) << task->name() << " repeats itself";
  }
}

TEST(TaskGeneration, KnownExamplesArePinned) {
  // Pins the generator streams (our own RNG, no std distributions): a change here changes every
  // generated corpus and eval set, on every platform.
  Example sum = find_task("arithmetic").generate(1, 0);
  EXPECT_EQ(sum.problem.prompt, "What is 516 - 245?\n");
  EXPECT_EQ(sum.solution, "<think>\n6-5=1 write 1\n1-4 borrow: 11-4=7 write 7\n5-2-1=2 write 2\n</think>\n<answer>271</answer>");
  Example countdown = find_task("countdown").generate(1, 0);
  EXPECT_EQ(countdown.problem.prompt, "Make 35 from 15 8 5 using + - * / and each number exactly once.\n");
  EXPECT_EQ(countdown.solution, "<think>\n15-8=7\n7*5=35\n</think>\n<answer>(15-8)*5</answer>");
  Example story = find_task("word_problems").generate(1, 0);
  EXPECT_EQ(story.problem.prompt, "Ravi has 15 beads, finds 9 more and gives 2 to Ana. How many beads does Ravi have now?\n");
  EXPECT_EQ(story.problem.meta, (std::map<std::string, std::string>{{"template", "gain_lose"}, {"values", "15 9 2"}, {"unit", "beads"}}));
}

TEST(TaskGeneration, GeneratedSolutionsVerifyAsCorrectAtEveryDifficulty) {
  for (const Task* task : all_tasks()) {
    for (int difficulty = kMinDifficulty; difficulty <= kMaxDifficulty; ++difficulty) {
      for (Split split : {Split::train, Split::eval}) {
        for (int index = 0; index < kDraws / 5; ++index) {
          Example example = task->generate(3, index, {.split = split, .difficulty = difficulty});
          Verdict verdict = task->verify(example.problem, completion_of(example));
          ASSERT_TRUE(verdict.correct) << task->name() << " d=" << difficulty << ": " << verdict.reason << "\n"
                                       << example.text();
          EXPECT_EQ(verdict.format_score, 1.0) << example.text();
          EXPECT_EQ(task->split_of(example.problem), split);
        }
      }
    }
  }
}

TEST(TaskGeneration, ExamplesHaveTheDocumentedShape) {
  for (const Task* task : all_tasks()) {
    for (int index = 0; index < 50; ++index) {
      Example example = task->generate(11, index);
      EXPECT_EQ(example.problem.task, task->name());
      EXPECT_TRUE(example.problem.prompt.ends_with("\n"));
      EXPECT_TRUE(example.solution.starts_with("<think>\n"));
      EXPECT_TRUE(example.solution.ends_with("<answer>" + example.problem.answer + "</answer>"));
      EXPECT_FALSE(example.problem.meta.empty());
    }
  }
}

TEST(TaskGeneration, DefaultDifficultyTextsAreShort) {
  // ~120 tokens of a 1-2k byte-level BPE is well above 300 bytes; keep default texts under that.
  for (const Task* task : all_tasks()) {
    size_t longest = 0;
    for (int index = 0; index < kDraws; ++index) longest = std::max(longest, task->generate(5, index).text().size());
    EXPECT_LE(longest, 300u) << task->name();
  }
}

TEST(TaskGeneration, ArithmeticStepsShowCarriesBorrowsAndPartials) {
  EXPECT_EQ(arithmetic_steps(347, '+', 85),
            "7+5=12 write 2 carry 1\n4+8+1=13 write 3 carry 1\n3+0+1=4 write 4\n");
  EXPECT_EQ(arithmetic_steps(99, '+', 1), "9+1=10 write 0 carry 1\n9+0+1=10 write 0 carry 1\nwrite 1\n");
  EXPECT_EQ(arithmetic_steps(503, '-', 78),
            "3-8 borrow: 13-8=5 write 5\n0-7-1 borrow: 10-7-1=2 write 2\n5-0-1=4 write 4\n");
  EXPECT_EQ(arithmetic_steps(347, '*', 5), "7*5=35 write 5 carry 3\n4*5+3=23 write 3 carry 2\n3*5+2=17 write 7 carry 1\nwrite 1\n");
  EXPECT_EQ(arithmetic_steps(347, '*', 25), "347*5=1735\n347*20=6940\n1735+6940=8675\n");
  EXPECT_EQ(arithmetic_steps(12, '*', 101), "12*1=12\n12*100=1200\n12+1200=1212\n");
}

TEST(TaskGeneration, ArithmeticDifficultyControlsOperandDigits) {
  const Task& task = find_task("arithmetic");
  for (int difficulty = kMinDifficulty; difficulty <= kMaxDifficulty; ++difficulty) {
    for (int index = 0; index < 100; ++index) {
      Problem problem = task.generate(2, index, {.difficulty = difficulty}).problem;
      size_t a_digits = problem.meta.at("a").size();
      EXPECT_GE(a_digits, static_cast<size_t>(difficulty));
      EXPECT_LE(a_digits, static_cast<size_t>(difficulty + 1));
    }
  }
}

TEST(TaskGeneration, CountdownDifficultyControlsHowManyNumbers) {
  const Task& task = find_task("countdown");
  for (int difficulty = kMinDifficulty; difficulty <= kMaxDifficulty; ++difficulty) {
    Problem problem = task.generate(2, 0, {.difficulty = difficulty}).problem;
    std::string numbers = problem.meta.at("numbers");
    EXPECT_EQ(static_cast<int>(std::count(numbers.begin(), numbers.end(), ' ')) + 1, difficulty + 1) << numbers;
  }
  EXPECT_EQ(task.default_difficulty(), 2);  // three numbers: learnable by the nano model
}

TEST(TaskGeneration, WordProblemDifficultyControlsSteps) {
  const Task& task = find_task("word_problems");
  std::set<std::string> easy, hard;
  for (int index = 0; index < 200; ++index) {
    easy.insert(task.generate(4, index, {.difficulty = 1}).problem.meta.at("template"));
    hard.insert(task.generate(4, index, {.difficulty = 3}).problem.meta.at("template"));
  }
  EXPECT_EQ(easy, (std::set<std::string>{"gain", "lose", "groups", "share"}));
  EXPECT_EQ(hard.size(), 10u);
}

TEST(TaskGeneration, BadDifficultyIsAUsageError) {
  const Task& task = find_task("countdown");
  EXPECT_THROW(task.generate(1, 0, {.difficulty = 0}), ember::UsageError);
  EXPECT_THROW(task.generate(1, 0, {.difficulty = kMaxDifficulty + 1}), ember::UsageError);
}

TEST(TaskGeneration, RegistryFindsTasksAndSuggestsNearMisses) {
  EXPECT_EQ(task_names(), (std::vector<std::string>{"arithmetic", "countdown", "word_problems"}));
  EXPECT_EQ(find_task("countdown").name(), "countdown");
  try {
    find_task("countdwn");
    FAIL() << "expected a UsageError";
  } catch (const ember::UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("did you mean 'countdown'"), std::string::npos) << error.what();
  }
}

TEST(TaskGeneration, MixedDatasetInterleavesTheSingleTaskStreams) {
  std::vector<Example> mixed = generate_dataset({.task = "all", .count = 9, .seed = 5});
  ASSERT_EQ(mixed.size(), 9u);
  for (size_t i = 0; i < mixed.size(); ++i) {
    const Task& task = *all_tasks()[i % 3];
    EXPECT_EQ(mixed[i], task.generate(5, i / 3));
  }
  std::vector<Example> single = generate_dataset({.task = "countdown", .count = 3, .seed = 5});
  EXPECT_EQ(single[2], find_task("countdown").generate(5, 2));
  EXPECT_THROW(generate_dataset({.task = "all", .count = 0, .seed = 5}), ember::UsageError);
  EXPECT_THROW(generate_dataset({.task = "nope", .count = 1, .seed = 5}), ember::UsageError);
}

TEST(TaskGeneration, AnswerOnlyExamplesKeepTheProblemAndAnswerAndDropTheSteps) {
  const DatasetSpec worked{.task = "all", .count = 400, .seed = 7};
  DatasetSpec mixed = worked;
  mixed.answer_only_percent = 70;
  std::vector<Example> full = generate_dataset(worked), some = generate_dataset(mixed);
  ASSERT_EQ(full.size(), some.size());
  size_t stripped = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(some[i].problem, full[i].problem);  // the same problems at every percent
    if (some[i].solution == full[i].solution) continue;
    ++stripped;
    EXPECT_EQ(some[i].solution, "<think>\n</think>\n<answer>" + full[i].problem.answer + "</answer>");
    // Still a well-formed, correct completion for the task's own verifier.
    EXPECT_TRUE(find_task(full[i].problem.task).verify(full[i].problem, some[i].solution).correct);
  }
  EXPECT_NEAR(static_cast<double>(stripped) / full.size(), 0.70, 0.08);

  mixed.answer_only_percent = 100;
  for (const Example& example : generate_dataset(mixed)) EXPECT_EQ(example.solution.find("<think>\n</think>"), 0u);
  mixed.answer_only_percent = 101;
  EXPECT_THROW(generate_dataset(mixed), ember::UsageError);
  mixed.answer_only_percent = -1;
  EXPECT_THROW(generate_dataset(mixed), ember::UsageError);
}

TEST(TaskGeneration, CarelessArithmeticDropsEveryCarryAndBorrow) {
  EXPECT_EQ(careless_arithmetic_steps(77, '+', 215),
            std::make_pair(std::string("7+5=12 write 2\n7+1=8 write 8\n0+2=2 write 2\n"), int64_t{282}));
  EXPECT_EQ(careless_arithmetic_steps(503, '-', 78),
            std::make_pair(std::string("3-8 borrow: 13-8=5 write 5\n0-7 borrow: 10-7=3 write 3\n5-0=5 write 5\n"),
                           int64_t{535}));
  EXPECT_EQ(careless_arithmetic_steps(47, '*', 6),
            std::make_pair(std::string("7*6=42 write 2\n4*6=24 write 4\n"), int64_t{42}));
  // Without carries the careless and careful workings agree.
  EXPECT_EQ(careless_arithmetic_steps(123, '+', 45).first, arithmetic_steps(123, '+', 45));
}

TEST(TaskGeneration, CarelessExamplesAreFlawedDemonstrationsOfTheSameProblems) {
  const DatasetSpec careful{.task = "all", .count = 600, .seed = 8};
  DatasetSpec mixed = careful;
  mixed.careless_percent = 60;
  std::vector<Example> full = generate_dataset(careful), some = generate_dataset(mixed);
  size_t arithmetic = 0, slipped = 0, wrong = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    EXPECT_EQ(some[i].problem, full[i].problem);
    if (full[i].problem.task != "arithmetic") {
      EXPECT_EQ(some[i].solution, full[i].solution) << "only arithmetic has a careless form";
      continue;
    }
    ++arithmetic;
    if (some[i].solution == full[i].solution) continue;
    ++slipped;
    Verdict verdict = find_task("arithmetic").verify(some[i].problem, some[i].solution);
    EXPECT_EQ(verdict.format_score, 1.0);  // well formed, and wrong because of the slip
    wrong += !verdict.correct;
    EXPECT_EQ(some[i].solution.find("carry"), std::string::npos) << some[i].solution;
  }
  EXPECT_EQ(wrong, slipped) << "a changed working always changes the answer";
  EXPECT_GT(slipped, arithmetic / 3);
  EXPECT_LT(slipped, arithmetic * 6 / 10 + 10);
  mixed.careless_percent = 101;
  EXPECT_THROW(generate_dataset(mixed), ember::UsageError);
}
