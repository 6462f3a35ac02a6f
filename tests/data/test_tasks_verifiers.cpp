// Verifiers: the format score, robust parsing of well-meant answers, and one test per known
// exploit (each must be judged incorrect), plus the reward built from a verdict.
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/tasks/completion.h"
#include "data/tasks/expression.h"
#include "data/tasks/random.h"
#include "data/tasks/registry.h"

using namespace ember::data::tasks;

namespace {

Problem arithmetic_problem() {  // 347 + 85 = 432
  return {.task = "arithmetic", .prompt = "What is 347 + 85?\n", .answer = "432",
          .meta = {{"a", "347"}, {"op", "+"}, {"b", "85"}}};
}

Problem countdown_problem() {  // 3 4 6 -> 30, e.g. (4+6)*3
  return {.task = "countdown", .prompt = "Make 30 from 3 4 6 using + - * / and each number exactly once.\n",
          .answer = "(4+6)*3", .meta = {{"numbers", "3 4 6"}, {"target", "30"}}};
}

Problem word_problem() {  // 12 + 3*5 = 27 apples
  return {.task = "word_problems", .prompt = "Mia has 12 apples and buys 3 bags of 5. How many apples does Mia have now?\n",
          .answer = "27", .meta = {{"template", "buy_groups"}, {"values", "12 3 5"}, {"unit", "apples"}}};
}

std::string with_answer(const std::string& answer) { return "<think>\nsteps\n</think>\n<answer>" + answer + "</answer>"; }

Verdict check_arithmetic(const std::string& completion) {
  return find_task("arithmetic").verify(arithmetic_problem(), completion);
}

Verdict check_countdown(const std::string& completion) {
  return find_task("countdown").verify(countdown_problem(), completion);
}

void expect_rejected(const Verdict& verdict, const std::string& reason_part) {
  EXPECT_FALSE(verdict.correct);
  EXPECT_NE(verdict.reason.find(reason_part), std::string::npos) << "reason: " << verdict.reason;
}

}  // namespace

// ---- format score ------------------------------------------------------------------------------

TEST(TaskFormat, WellFormedCompletionScoresOne) {
  EXPECT_EQ(parse_completion(with_answer("432")).format_score, 1.0);
  EXPECT_EQ(parse_completion("  \n" + with_answer("432") + "\n ").format_score, 1.0);
}

TEST(TaskFormat, QuartersForPartialStructure) {
  EXPECT_EQ(parse_completion("432").format_score, 0.0);
  EXPECT_EQ(parse_completion("<answer>432</answer>").format_score, 0.25);
  EXPECT_EQ(parse_completion("<think>x</think> 432").format_score, 0.25);
  EXPECT_EQ(parse_completion("<answer>432</answer><think>x</think>").format_score, 0.5);  // wrong order
  EXPECT_EQ(parse_completion(with_answer("432") + " and more text").format_score, 0.75);
  EXPECT_EQ(parse_completion("<think>x<think>y</think><answer>432</answer>").format_score, 0.5);
}

TEST(TaskFormat, FormatIsSeparateFromCorrectness) {
  Verdict wrong_but_tidy = check_arithmetic(with_answer("431"));
  EXPECT_FALSE(wrong_but_tidy.correct);
  EXPECT_EQ(wrong_but_tidy.format_score, 1.0);
  Verdict right_but_untidy = check_arithmetic("<answer>432</answer> trailing words");
  EXPECT_TRUE(right_but_untidy.correct);
  EXPECT_EQ(right_but_untidy.format_score, 0.25);
}

TEST(TaskReward, CorrectnessPlusWeightedFormat) {
  EXPECT_DOUBLE_EQ(reward({.correct = true, .format_score = 1.0, .reason = "correct"}, 0.1), 1.1);
  EXPECT_DOUBLE_EQ(reward({.correct = false, .format_score = 0.5, .reason = "wrong"}, 0.1), 0.05);
  EXPECT_DOUBLE_EQ(reward({.correct = true, .format_score = 0.25, .reason = "correct"}, 0.0), 1.0);
  EXPECT_THROW(reward({}, -0.1), ember::UsageError);
}

// ---- robust parsing of honest answers -------------------------------------------------------------

TEST(TaskParsing, IntegerAnswersInCommonForms) {
  EXPECT_EQ(parse_integer_answer("432"), 432);
  EXPECT_EQ(parse_integer_answer("  432 \n"), 432);
  EXPECT_EQ(parse_integer_answer("432."), 432);
  EXPECT_EQ(parse_integer_answer("+432"), 432);
  EXPECT_EQ(parse_integer_answer("-17"), -17);
  EXPECT_EQ(parse_integer_answer("1,234,567"), 1234567);
  EXPECT_EQ(parse_integer_answer("0432"), 432);
}

TEST(TaskParsing, MalformedIntegersAreRejected) {
  for (const char* text : {"", "+", "12,34", "1,2345", ",123", "1,234,", "4 32", "432.0", "4e2", "0x1b0",
                           "1234567890123456789", "four", "--5", "432!"})
    EXPECT_FALSE(parse_integer_answer(text).has_value()) << text;
}

TEST(TaskParsing, ArithmeticAcceptsFormattingVariants) {
  for (const char* answer : {"432", " 432 ", "\n432\n", "432.", "+432", "432 ."})
    EXPECT_TRUE(check_arithmetic(with_answer(answer)).correct) << answer;
  EXPECT_TRUE(check_arithmetic("<answer>432</answer>").correct);
  EXPECT_EQ(check_arithmetic(with_answer("432")).reason, "correct");
}

TEST(TaskParsing, WordProblemsAcceptTheUnit) {
  const Task& task = find_task("word_problems");
  EXPECT_TRUE(task.verify(word_problem(), with_answer("27")).correct);
  EXPECT_TRUE(task.verify(word_problem(), with_answer("27 apples")).correct);
  EXPECT_TRUE(task.verify(word_problem(), with_answer("27 apples.")).correct);
  EXPECT_FALSE(task.verify(word_problem(), with_answer("27 pears")).correct);
  EXPECT_FALSE(task.verify(word_problem(), with_answer("apples")).correct);
  expect_rejected(task.verify(word_problem(), with_answer("28")), "wrong answer: 28, expected 27");
}

TEST(TaskParsing, CountdownAcceptsAnyValidExpressionInCommonForms) {
  for (const char* answer : {"(4+6)*3", " ( 4 + 6 ) * 3 ", "3*(6+4)", "3*(4+6) = 30", "(4+6)*3.", "(4 + 6) × 3",
                             "((4+6))*3", "3 * (6 + 4) = 30."}) {
    Verdict verdict = check_countdown(with_answer(answer));
    EXPECT_TRUE(verdict.correct) << answer << ": " << verdict.reason;
  }
  Problem other{.task = "countdown", .prompt = "", .answer = "", .meta = {{"numbers", "2 4 6"}, {"target", "3"}}};
  EXPECT_TRUE(find_task("countdown").verify(other, with_answer("6/(4-2)")).correct);
  EXPECT_TRUE(find_task("countdown").verify(other, with_answer("6 ÷ (4 − 2)")).correct);  // U+2212 minus
}

// ---- exploits: the answer tag ---------------------------------------------------------------------

TEST(TaskExploit, AnswerOutsideTagsIsRejected) {
  expect_rejected(check_arithmetic("<think>347+85=432</think>\n432"), "no <answer> tag");
  expect_rejected(check_arithmetic("The answer is 432."), "no <answer> tag");
}

TEST(TaskExploit, MultipleAnswerTagsAreRejected) {
  expect_rejected(check_arithmetic("<think>x</think><answer>431</answer><answer>432</answer>"),
                  "multiple <answer> tags");
}

TEST(TaskExploit, NestedAnswerTagsAreRejected) {
  expect_rejected(check_arithmetic("<answer><answer>432</answer></answer>"), "multiple <answer> tags");
}

TEST(TaskExploit, UnclosedAnswerTagIsRejected) {
  expect_rejected(check_arithmetic("<think>x</think><answer>432"), "unclosed <answer> tag");
}

TEST(TaskExploit, ReversedAnswerTagsAreRejected) {
  expect_rejected(check_arithmetic("</answer>432<answer>"), "comes before");
}

TEST(TaskExploit, EmptyAnswerIsRejected) { expect_rejected(check_arithmetic(with_answer("  ")), "empty answer"); }

TEST(TaskExploit, HedgedAnswerWithSeveralNumbersIsRejected) {
  expect_rejected(check_arithmetic(with_answer("431 or 432")), "not an integer");
  expect_rejected(check_arithmetic(with_answer("431, 432")), "not an integer");
  expect_rejected(check_arithmetic(with_answer("431 432")), "not an integer");
}

TEST(TaskExploit, DecimalAndOverlongNumbersAreRejected) {
  expect_rejected(check_arithmetic(with_answer("432.0")), "not an integer");
  expect_rejected(check_arithmetic(with_answer(std::string(40, '9'))), "not an integer");
}

TEST(TaskExploit, AnExpressionIsNotAnArithmeticAnswer) {
  expect_rejected(check_arithmetic(with_answer("347+85")), "not an integer");
}

// ---- exploits: Countdown expressions --------------------------------------------------------------

TEST(TaskExploit, CountdownNumberNotGivenIsRejected) {
  expect_rejected(check_countdown(with_answer("(4+6)*3+0")), "expected each of [3 4 6] exactly once");
  expect_rejected(check_countdown(with_answer("5*6")), "uses numbers [5 6]");
}

TEST(TaskExploit, CountdownNumberUsedTwiceIsRejected) {
  expect_rejected(check_countdown(with_answer("(4+6)*3*3/3")), "uses numbers [3 3 3 4 6]");
}

TEST(TaskExploit, CountdownNumberLeftOutIsRejected) {
  Problem problem = countdown_problem();
  problem.meta["target"] = "10";
  expect_rejected(find_task("countdown").verify(problem, with_answer("4+6")), "uses numbers [4 6]");
}

TEST(TaskExploit, CountdownConcatenatedDigitsAreRejected) {
  Problem problem = countdown_problem();
  problem.meta["target"] = "40";
  expect_rejected(find_task("countdown").verify(problem, with_answer("34+6")), "uses numbers [6 34]");
}

TEST(TaskExploit, CountdownNonArithmeticCharactersAreRejected) {
  for (const char* answer : {"(4+6)*3;", "x=(4+6)*3", "(4+6)**3", "(4+6)^3", "abs(30)", "(4+6)*3.0", "[4+6]*3",
                             "(4+6)*3 # 30", "pow(4,6)", "30\n+0"}) {
    Verdict verdict = check_countdown(with_answer(answer));
    EXPECT_FALSE(verdict.correct) << answer;
  }
  expect_rejected(check_countdown(with_answer("(4+6)*3;")), "character ';' is not allowed");
  expect_rejected(check_countdown(with_answer("(4+6)^3")), "character '^' is not allowed");
}

TEST(TaskExploit, CountdownDivisionByZeroIsRejected) {
  Problem problem{.task = "countdown", .prompt = "", .answer = "", .meta = {{"numbers", "5 5 3"}, {"target", "3"}}};
  expect_rejected(find_task("countdown").verify(problem, with_answer("3/(5-5)")), "division by zero");
}

TEST(TaskExploit, CountdownNonIntegerIntermediateIsRejected) {
  // 3/6*4*... : 3/6 is not an integer, even though (3/6)*4*15 would be 30 in real arithmetic.
  Problem problem{.task = "countdown", .prompt = "", .answer = "", .meta = {{"numbers", "3 6 60"}, {"target", "30"}}};
  expect_rejected(find_task("countdown").verify(problem, with_answer("3/6*60")), "division 3/6 is not exact");
  EXPECT_TRUE(find_task("countdown").verify(problem, with_answer("3*60/6")).correct);
}

TEST(TaskExploit, CountdownUnaryMinusIsRejected) {
  Problem problem{.task = "countdown", .prompt = "", .answer = "", .meta = {{"numbers", "3 4 6"}, {"target", "-2"}}};
  expect_rejected(find_task("countdown").verify(problem, with_answer("-3-4+6-1+0")), "where a number or '('");
  expect_rejected(check_countdown(with_answer("+(4+6)*3")), "where a number or '('");
}

TEST(TaskExploit, CountdownLeadingZerosAreRejected) {
  expect_rejected(check_countdown(with_answer("(04+6)*3")), "leading zero");
}

TEST(TaskExploit, CountdownWrongStatedValueIsRejected) {
  expect_rejected(check_countdown(with_answer("(4+6)*3 = 31")), "states = 31 but the expression is 30");
  expect_rejected(check_countdown(with_answer("4+6+3 = 30")), "states = 30 but the expression is 13");
  expect_rejected(check_countdown(with_answer("= 30")), "empty expression");
  expect_rejected(check_countdown(with_answer("30 = 30 = 30")), "more than one '='");
}

TEST(TaskExploit, CountdownJustTheTargetIsRejected) {
  expect_rejected(check_countdown(with_answer("30")), "uses numbers [30]");
}

TEST(TaskExploit, CountdownWrongValueIsRejected) {
  expect_rejected(check_countdown(with_answer("4+6+3")), "the expression is 13, the target is 30");
}

TEST(TaskExploit, CountdownDeepNestingAndOverflowFailCleanly) {
  std::string deep = std::string(200, '(') + "4" + std::string(200, ')');
  EXPECT_FALSE(check_countdown(with_answer(deep)).correct);
  EXPECT_NE(evaluate_expression(std::string(40, '(') + "4" + std::string(40, ')')).error.find("nested deeper"),
            std::string::npos);
  EXPECT_NE(evaluate_expression("999999999*999999999*999999999").error.find("overflow"), std::string::npos);
  EXPECT_NE(evaluate_expression("99999999999").error.find("too large"), std::string::npos);
}

// ---- verifiers never throw on arbitrary text ------------------------------------------------------

TEST(TaskExploit, RandomTextNeverThrowsAndPassesOnlyWithTheAnswer) {
  TaskRng rng(99);
  const std::string alphabet = "0123456789+-*/() =.<>/answerthink\n\xC3\x97";
  for (int trial = 0; trial < 3000; ++trial) {
    std::string noise;
    int length = static_cast<int>(rng.uniform(0, 40));
    for (int i = 0; i < length; ++i) noise += alphabet[static_cast<size_t>(rng.uniform(0, alphabet.size() - 1))];
    std::string completion = rng.uniform(0, 1) == 1 ? with_answer(noise) : noise;
    Verdict arithmetic = check_arithmetic(completion);
    Verdict countdown = check_countdown(completion);
    EXPECT_GE(countdown.format_score, 0.0);
    EXPECT_LE(countdown.format_score, 1.0);
    EXPECT_FALSE(arithmetic.reason.empty());
    if (arithmetic.correct) {
      EXPECT_EQ(parse_integer_answer(parse_completion(completion).answer), 432) << completion;
    }
  }
}
