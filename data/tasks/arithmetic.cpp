// Arithmetic problems with worked column steps (see arithmetic.h).
#include "data/tasks/arithmetic.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "data/tasks/completion.h"

namespace ember::data::tasks {
namespace {

/// Decimal digits, least significant first.
std::vector<int> digits_of(int64_t value) {
  std::vector<int> digits;
  do {
    digits.push_back(static_cast<int>(value % 10));
    value /= 10;
  } while (value > 0);
  return digits;
}

/// "7+5=12 write 2 carry 1" per column, the missing digits of the shorter operand read as 0.
std::string addition_steps(int64_t a, int64_t b) {
  std::vector<int> x = digits_of(a), y = digits_of(b);
  size_t columns = std::max(x.size(), y.size());
  x.resize(columns, 0);
  y.resize(columns, 0);
  std::string steps;
  int carry = 0;
  for (size_t i = 0; i < columns; ++i) {
    int sum = x[i] + y[i] + carry;
    steps += carry ? fmt::format("{}+{}+{}={}", x[i], y[i], carry, sum) : fmt::format("{}+{}={}", x[i], y[i], sum);
    carry = sum / 10;
    steps += carry ? fmt::format(" write {} carry {}\n", sum % 10, carry) : fmt::format(" write {}\n", sum);
  }
  if (carry) steps += fmt::format("write {}\n", carry);
  return steps;
}

/// "3-8 borrow: 13-8=5 write 5" per column (a >= b).
std::string subtraction_steps(int64_t a, int64_t b) {
  std::vector<int> x = digits_of(a), y = digits_of(b);
  y.resize(x.size(), 0);
  std::string steps;
  int borrow = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    std::string column = borrow ? fmt::format("{}-{}-{}", x[i], y[i], borrow) : fmt::format("{}-{}", x[i], y[i]);
    int difference = x[i] - y[i] - borrow;
    if (difference < 0) {
      std::string raised = borrow ? fmt::format("{}-{}-{}", x[i] + 10, y[i], borrow) : fmt::format("{}-{}", x[i] + 10, y[i]);
      steps += fmt::format("{} borrow: {}={} write {}\n", column, raised, difference + 10, difference + 10);
      borrow = 1;
    } else {
      steps += fmt::format("{}={} write {}\n", column, difference, difference);
      borrow = 0;
    }
  }
  return steps;
}

/// a times a one-digit b: "7*5=35 write 5 carry 3" per digit of a.
std::string short_multiplication_steps(int64_t a, int b) {
  std::string steps;
  int carry = 0;
  for (int digit : digits_of(a)) {
    int product = digit * b + carry;
    steps += carry ? fmt::format("{}*{}+{}={}", digit, b, carry, product) : fmt::format("{}*{}={}", digit, b, product);
    carry = product / 10;
    steps += carry ? fmt::format(" write {} carry {}\n", product % 10, carry) : fmt::format(" write {}\n", product);
  }
  if (carry) steps += fmt::format("write {}\n", carry);
  return steps;
}

/// a times a multi-digit b: one partial product per non-zero digit of b, then running sums.
std::string long_multiplication_steps(int64_t a, int64_t b) {
  std::string steps;
  std::vector<int64_t> partials;
  int64_t place = 1;
  for (int digit : digits_of(b)) {
    if (digit != 0) {
      partials.push_back(a * digit * place);
      steps += fmt::format("{}*{}={}\n", a, digit * place, partials.back());
    }
    place *= 10;
  }
  int64_t total = partials.front();
  for (size_t i = 1; i < partials.size(); ++i) {
    steps += fmt::format("{}+{}={}\n", total, partials[i], total + partials[i]);
    total += partials[i];
  }
  return steps;
}

/// The number whose decimal digits, least significant first, are `digits`.
int64_t from_digits(const std::vector<int>& digits) {
  int64_t value = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) value = value * 10 + *it;
  return value;
}

/// Addition without carries: "7+5=12 write 2" and nothing carried.
std::pair<std::string, int64_t> careless_addition(int64_t a, int64_t b) {
  std::vector<int> x = digits_of(a), y = digits_of(b), written;
  size_t columns = std::max(x.size(), y.size());
  x.resize(columns, 0);
  y.resize(columns, 0);
  std::string steps;
  for (size_t i = 0; i < columns; ++i) {
    int sum = x[i] + y[i];
    steps += fmt::format("{}+{}={} write {}\n", x[i], y[i], sum, sum % 10);
    written.push_back(sum % 10);
  }
  return {steps, from_digits(written)};
}

/// Subtraction that borrows in a column but never pays it back in the next one.
std::pair<std::string, int64_t> careless_subtraction(int64_t a, int64_t b) {
  std::vector<int> x = digits_of(a), y = digits_of(b), written;
  y.resize(x.size(), 0);
  std::string steps;
  for (size_t i = 0; i < x.size(); ++i) {
    int difference = x[i] - y[i];
    if (difference < 0) {
      steps += fmt::format("{}-{} borrow: {}-{}={} write {}\n", x[i], y[i], x[i] + 10, y[i], difference + 10,
                           difference + 10);
      difference += 10;
    } else {
      steps += fmt::format("{}-{}={} write {}\n", x[i], y[i], difference, difference);
    }
    written.push_back(difference);
  }
  return {steps, from_digits(written)};
}

/// Short multiplication without carries: "7*5=35 write 5" and nothing carried.
std::pair<std::string, int64_t> careless_short_multiplication(int64_t a, int b) {
  std::vector<int> written;
  std::string steps;
  for (int digit : digits_of(a)) {
    int product = digit * b;
    steps += fmt::format("{}*{}={} write {}\n", digit, b, product, product % 10);
    written.push_back(product % 10);
  }
  return {steps, from_digits(written)};
}

int64_t apply(int64_t a, char op, int64_t b) {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
  }
  fail("arithmetic: unknown operator '{}'", op);
}

int64_t meta_integer(const Problem& problem, const std::string& key) {
  const std::string& text = problem.meta_at(key);
  std::optional<int64_t> value = parse_integer_answer(text);
  if (!value || text.empty() || text != std::to_string(*value))
    fail("arithmetic problem has a malformed meta '{}': '{}'", key, text);
  return *value;
}

char meta_operator(const Problem& problem) {
  const std::string& op = problem.meta_at("op");
  if (op != "+" && op != "-" && op != "*") fail("arithmetic problem has an unknown meta 'op': '{}'", op);
  return op[0];
}

}  // namespace

std::string arithmetic_steps(int64_t a, char op, int64_t b) {
  switch (op) {
    case '+': return addition_steps(a, b);
    case '-': return subtraction_steps(a, b);
    case '*': return b < 10 ? short_multiplication_steps(a, static_cast<int>(b)) : long_multiplication_steps(a, b);
  }
  fail("arithmetic: unknown operator '{}'", op);
}

std::pair<std::string, int64_t> careless_arithmetic_steps(int64_t a, char op, int64_t b) {
  switch (op) {
    case '+': return careless_addition(a, b);
    case '-': return careless_subtraction(a, b);
    case '*':
      if (b >= 10) fail("arithmetic: no careless steps for long multiplication ({} * {})", a, b);
      return careless_short_multiplication(a, static_cast<int>(b));
  }
  fail("arithmetic: unknown operator '{}'", op);
}

std::optional<Example> ArithmeticTask::careless(const Example& example) const {
  const Problem& problem = example.problem;
  const int64_t a = meta_integer(problem, "a"), b = meta_integer(problem, "b");
  const char op = meta_operator(problem);
  if (op == '*' && b >= 10) return std::nullopt;
  auto [steps, answer] = careless_arithmetic_steps(a, op, b);
  Example slipped = example;
  slipped.solution = fmt::format("<think>\n{}</think>\n<answer>{}</answer>", steps, answer);
  return slipped;
}

Example ArithmeticTask::draw(TaskRng& rng, int difficulty) const {
  static const std::vector<char> operators = {'+', '-', '*'};
  char op = rng.pick(operators);
  int64_t a = rng.with_digits(static_cast<int>(rng.uniform(difficulty, difficulty + 1)));
  int64_t b = 0;
  if (op == '*') {
    b = difficulty <= 2 ? rng.uniform(2, 9) : rng.with_digits(difficulty - 1);
  } else {
    b = rng.with_digits(static_cast<int>(rng.uniform(difficulty, difficulty + 1)));
    if (op == '-' && a < b) std::swap(a, b);
  }
  int64_t result = apply(a, op, b);
  Example example;
  example.problem.task = std::string(name());
  example.problem.prompt = fmt::format("What is {} {} {}?\n", a, op, b);
  example.problem.answer = std::to_string(result);
  example.problem.meta = {{"a", std::to_string(a)}, {"op", std::string(1, op)}, {"b", std::to_string(b)}};
  example.solution = fmt::format("<think>\n{}</think>\n<answer>{}</answer>", arithmetic_steps(a, op, b), result);
  return example;
}

std::string ArithmeticTask::canonical_key(const Problem& problem) const {
  int64_t a = meta_integer(problem, "a"), b = meta_integer(problem, "b");
  char op = meta_operator(problem);
  if (op != '-' && b < a) std::swap(a, b);
  return fmt::format("{}{}{}", a, op, b);
}

Verdict ArithmeticTask::verify(const Problem& problem, std::string_view completion) const {
  int64_t expected = apply(meta_integer(problem, "a"), meta_operator(problem), meta_integer(problem, "b"));
  return verify_integer_completion(completion, expected);
}

}  // namespace ember::data::tasks
