// Countdown problems, worked solutions and the exploit-resistant verifier (see countdown.h).
#include "data/tasks/countdown.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "core/strings.h"
#include "data/tasks/completion.h"
#include "data/tasks/expression.h"

namespace ember::data::tasks {
namespace {

constexpr int64_t kMaxTarget = 999;

/// A number or an already combined sub-expression during generation.
struct Operand {
  int64_t value;
  std::string expression;
  char top_operator;  ///< the operator applied last, or 0 for a plain number
};

int precedence(char op) { return op == 0 ? 3 : (op == '*' || op == '/') ? 2 : 1; }

/// `left op right` with only the parentheses that the usual precedence rules need.
std::string join_expression(const Operand& left, char op, const Operand& right) {
  bool wrap_left = precedence(left.top_operator) < precedence(op);
  bool wrap_right = precedence(right.top_operator) < precedence(op) ||
                    (precedence(right.top_operator) == precedence(op) && (op == '-' || op == '/'));
  return fmt::format("{}{}{}", wrap_left ? "(" + left.expression + ")" : left.expression, op,
                     wrap_right ? "(" + right.expression + ")" : right.expression);
}

/// Combines two operands with a random operator, keeping the result a positive integer; returns
/// false when no operator does (the caller then redraws).
bool combine(TaskRng& rng, const Operand& left_in, const Operand& right_in, Operand* out, std::string* step) {
  std::vector<char> operators = {'+', '-', '*', '/'};
  rng.shuffle(operators);
  for (char op : operators) {
    Operand left = left_in, right = right_in;
    if ((op == '-' || op == '/') && left.value < right.value) std::swap(left, right);
    int64_t value = 0;
    if (op == '+') value = left.value + right.value;
    if (op == '*') value = left.value * right.value;
    if (op == '-') {
      if (left.value == right.value) continue;
      value = left.value - right.value;
    }
    if (op == '/') {
      if (right.value == 1 || left.value % right.value != 0) continue;
      value = left.value / right.value;
    }
    *out = Operand{value, join_expression(left, op, right), op};
    *step = fmt::format("{}{}{}={}\n", left.value, op, right.value, value);
    return true;
  }
  return false;
}

std::vector<int64_t> meta_numbers(const Problem& problem) {
  std::vector<int64_t> numbers;
  for (const std::string& piece : split(problem.meta_at("numbers"), ' ')) {
    std::optional<int64_t> value = parse_integer_answer(piece);
    if (!value || piece != std::to_string(*value) || *value < 0)
      fail("countdown problem has a malformed meta 'numbers': '{}'", problem.meta_at("numbers"));
    numbers.push_back(*value);
  }
  return numbers;
}

int64_t meta_target(const Problem& problem) {
  const std::string& text = problem.meta_at("target");
  std::optional<int64_t> value = parse_integer_answer(text);
  if (!value || text != std::to_string(*value)) fail("countdown problem has a malformed meta 'target': '{}'", text);
  return *value;
}

}  // namespace

Example CountdownTask::draw(TaskRng& rng, int difficulty) const {
  static constexpr int64_t kLargestNumber[] = {10, 20, 25, 50, 100};
  const int count = difficulty + 1;
  const int64_t largest = kLargestNumber[difficulty - 1];
  while (true) {
    std::vector<Operand> pool;
    std::vector<int64_t> numbers;
    for (int i = 0; i < count; ++i) {
      numbers.push_back(rng.uniform(1, largest));
      pool.push_back(Operand{numbers.back(), std::to_string(numbers.back()), 0});
    }
    std::string steps;
    bool ok = true;
    while (ok && pool.size() > 1) {
      rng.shuffle(pool);
      Operand combined;
      std::string step;
      ok = combine(rng, pool[0], pool[1], &combined, &step);
      pool.erase(pool.begin(), pool.begin() + 2);
      pool.push_back(combined);
      steps += step;
    }
    int64_t target = pool.front().value;
    if (!ok || target > kMaxTarget) continue;

    std::string listed = fmt::format("{}", fmt::join(numbers, " "));
    Example example;
    example.problem.task = std::string(name());
    example.problem.prompt =
        fmt::format("Make {} from {} using + - * / and each number exactly once.\n", target, listed);
    example.problem.answer = pool.front().expression;
    example.problem.meta = {{"numbers", listed}, {"target", std::to_string(target)}};
    example.solution = fmt::format("<think>\n{}</think>\n<answer>{}</answer>", steps, example.problem.answer);
    return example;
  }
}

std::string CountdownTask::canonical_key(const Problem& problem) const {
  std::vector<int64_t> numbers = meta_numbers(problem);
  std::sort(numbers.begin(), numbers.end());
  return fmt::format("{}->{}", fmt::join(numbers, " "), meta_target(problem));
}

Verdict CountdownTask::verify(const Problem& problem, std::string_view completion) const {
  std::vector<int64_t> given = meta_numbers(problem);
  int64_t target = meta_target(problem);
  CompletionParts parts = parse_completion(completion);
  Verdict verdict{.correct = false, .format_score = parts.format_score, .reason = parts.error};
  if (!parts.error.empty()) return verdict;

  std::string_view answer = parts.answer;
  if (answer.ends_with('.')) answer.remove_suffix(1);
  std::optional<int64_t> stated;
  if (size_t equals = answer.find('='); equals != std::string_view::npos) {
    if (answer.find('=', equals + 1) != std::string_view::npos) {
      verdict.reason = "more than one '=' in the answer";
      return verdict;
    }
    stated = parse_integer_answer(answer.substr(equals + 1));
    if (!stated) {
      verdict.reason = "what follows '=' is not an integer";
      return verdict;
    }
    answer = trim(answer.substr(0, equals));
  }

  Evaluation evaluation = evaluate_expression(answer);
  if (!evaluation.ok()) {
    verdict.reason = "invalid expression: " + evaluation.error;
    return verdict;
  }
  std::vector<int64_t> used = evaluation.numbers;
  std::sort(used.begin(), used.end());
  std::sort(given.begin(), given.end());
  if (used != given) {
    verdict.reason = fmt::format("uses numbers [{}], expected each of [{}] exactly once", fmt::join(used, " "),
                                 fmt::join(given, " "));
  } else if (stated && *stated != evaluation.value) {
    verdict.reason = fmt::format("states = {} but the expression is {}", *stated, evaluation.value);
  } else if (evaluation.value != target) {
    verdict.reason = fmt::format("wrong answer: the expression is {}, the target is {}", evaluation.value, target);
  } else {
    verdict.correct = true;
    verdict.reason = "correct";
  }
  return verdict;
}

}  // namespace ember::data::tasks
