// Templated story problems with worked steps (see word_problems.h).
#include "data/tasks/word_problems.h"

#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/tasks/completion.h"

namespace ember::data::tasks {
namespace {

struct Item {
  std::string singular;
  std::string plural;
};

/// The surface of a story: who and what. Not part of the canonical problem.
struct Cast {
  std::string name;
  std::string other;  ///< a second person, different from `name`
  Item item;
};

/// How large the numbers of a story may be at one difficulty.
struct Ranges {
  int64_t amount;  ///< largest count of items, price or sum of coins drawn directly
  int64_t groups;  ///< largest number of bags, packs or friends
};

/// A filled-in template: the prompt, its values, the worked steps and the answer.
struct Story {
  std::string prompt = {};
  std::vector<int64_t> values = {};
  std::string steps = {};
  int64_t answer = 0;
  std::string unit = {};
};

/// Writes "a op b = r" steps and returns r.
int64_t step(Story& story, int64_t a, char op, int64_t b) {
  int64_t result = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
  story.steps += fmt::format("{}{}{}={}\n", a, op, b, result);
  return result;
}

using Writer = Story (*)(TaskRng&, const Ranges&, const Cast&);

struct Template {
  const char* id;
  int steps;
  Writer write;
};

Story gain(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t a = rng.uniform(1, r.amount), b = rng.uniform(1, r.amount);
  Story s{.prompt = fmt::format("{0} has {1} {3}. {0} gets {2} more. How many {3} does {0} have now?", c.name, a, b,
                                c.item.plural),
          .values = {a, b}, .unit = c.item.plural};
  s.answer = step(s, a, '+', b);
  return s;
}

Story lose(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t a = rng.uniform(2, r.amount);
  int64_t b = rng.uniform(1, a - 1);
  Story s{.prompt = fmt::format("{0} has {1} {3} and gives {2} to {4}. How many {3} does {0} have left?", c.name, a,
                                b, c.item.plural, c.other),
          .values = {a, b}, .unit = c.item.plural};
  s.answer = step(s, a, '-', b);
  return s;
}

Story groups(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t a = rng.uniform(2, r.groups), b = rng.uniform(2, r.amount);
  Story s{.prompt = fmt::format("{0} has {1} bags with {2} {3} in each. How many {3} does {0} have?", c.name, a, b,
                                c.item.plural),
          .values = {a, b}, .unit = c.item.plural};
  s.answer = step(s, a, '*', b);
  return s;
}

Story share(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t b = rng.uniform(2, r.groups), each = rng.uniform(1, r.amount);
  int64_t a = b * each;
  Story s{.prompt = fmt::format("{0} shares {1} {3} equally among {2} friends. How many {3} does each friend get?",
                                c.name, a, b, c.item.plural),
          .values = {a, b}, .unit = c.item.plural};
  s.answer = step(s, a, '/', b);
  return s;
}

Story gain_lose(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t a = rng.uniform(1, r.amount), b = rng.uniform(1, r.amount);
  int64_t d = rng.uniform(1, a + b - 1);
  Story s{.prompt = fmt::format("{0} has {1} {4}, finds {2} more and gives {3} to {5}. How many {4} does {0} have now?",
                                c.name, a, b, d, c.item.plural, c.other),
          .values = {a, b, d}, .unit = c.item.plural};
  s.answer = step(s, step(s, a, '+', b), '-', d);
  return s;
}

Story buy_groups(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t a = rng.uniform(1, r.amount), b = rng.uniform(2, r.groups), d = rng.uniform(2, r.groups);
  Story s{.prompt = fmt::format("{0} has {1} {4} and buys {2} bags of {3}. How many {4} does {0} have now?", c.name,
                                a, b, d, c.item.plural),
          .values = {a, b, d}, .unit = c.item.plural};
  int64_t bought = step(s, b, '*', d);
  s.answer = step(s, a, '+', bought);
  return s;
}

Story change(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t price = rng.uniform(1, r.amount), count = rng.uniform(2, r.groups);
  int64_t paid = price * count + rng.uniform(1, r.amount);
  Story s{.prompt = fmt::format("One {3} costs {1} coins. {0} buys {2} {4} and pays with {5} coins. How many coins "
                                "of change does {0} get?",
                                c.name, price, count, c.item.singular, c.item.plural, paid),
          .values = {price, count, paid}, .unit = "coins"};
  int64_t cost = step(s, price, '*', count);
  s.answer = step(s, paid, '-', cost);
  return s;
}

Story share_rest(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t friends = rng.uniform(2, r.groups), each = rng.uniform(1, r.amount), kept = rng.uniform(1, r.amount);
  int64_t total = kept + friends * each;
  Story s{.prompt = fmt::format("{0} has {1} {4}, keeps {2} and shares the rest equally among {3} friends. How many "
                                "{4} does each friend get?",
                                c.name, total, kept, friends, c.item.plural),
          .values = {total, kept, friends}, .unit = c.item.plural};
  s.answer = step(s, step(s, total, '-', kept), '/', friends);
  return s;
}

Story two_packs(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t a = rng.uniform(2, r.groups), b = rng.uniform(2, r.amount);
  int64_t d = rng.uniform(2, r.groups), e = rng.uniform(2, r.amount);
  int64_t given = rng.uniform(1, a * b + d * e - 1);
  Story s{.prompt = fmt::format("{0} buys {1} packs of {2} {5} and {3} packs of {4}, then gives away {6}. How many "
                                "{5} are left?",
                                c.name, a, b, d, e, c.item.plural, given),
          .values = {a, b, d, e, given}, .unit = c.item.plural};
  int64_t first = step(s, a, '*', b);
  int64_t second = step(s, d, '*', e);
  s.answer = step(s, step(s, first, '+', second), '-', given);
  return s;
}

Story trip(TaskRng& rng, const Ranges& r, const Cast& c) {
  int64_t count = rng.uniform(2, r.groups), price = rng.uniform(1, r.amount);
  int64_t coins = count * price + rng.uniform(1, r.amount), gift = rng.uniform(1, r.amount);
  Story s{.prompt = fmt::format("{0} has {1} coins, buys {2} {4} at {3} coins each and then gets {5} coins from {6}. "
                                "How many coins does {0} have now?",
                                c.name, coins, count, price, c.item.plural, gift, c.other),
          .values = {coins, count, price, gift}, .unit = "coins"};
  int64_t cost = step(s, count, '*', price);
  s.answer = step(s, step(s, coins, '-', cost), '+', gift);
  return s;
}

const std::vector<Template>& templates() {
  static const std::vector<Template> all = {
      {"gain", 1, gain},           {"lose", 1, lose},           {"groups", 1, groups},
      {"share", 1, share},         {"gain_lose", 2, gain_lose}, {"buy_groups", 2, buy_groups},
      {"change", 2, change},       {"share_rest", 2, share_rest}, {"two_packs", 3, two_packs},
      {"trip", 3, trip}};
  return all;
}

const std::vector<std::string>& names() {
  static const std::vector<std::string> all = {"Mia", "Leo", "Ana", "Sam", "Ivy", "Max", "Zoe", "Ben",
                                               "Eva", "Tom", "Lily", "Omar", "Nina", "Ravi", "Yuki", "Kofi"};
  return all;
}

const std::vector<Item>& items() {
  static const std::vector<Item> all = {{"apple", "apples"},   {"pencil", "pencils"}, {"marble", "marbles"},
                                        {"cookie", "cookies"}, {"sticker", "stickers"}, {"card", "cards"},
                                        {"shell", "shells"},   {"book", "books"},     {"egg", "eggs"},
                                        {"stamp", "stamps"},   {"bead", "beads"},     {"orange", "oranges"}};
  return all;
}

}  // namespace

Example WordProblemsTask::draw(TaskRng& rng, int difficulty) const {
  static constexpr int64_t kLargestAmount[] = {10, 20, 50, 100, 500};
  Ranges ranges{.amount = kLargestAmount[difficulty - 1], .groups = difficulty <= 2 ? 9 : 12};
  std::vector<Template> usable;
  for (const Template& candidate : templates())
    if (candidate.steps <= difficulty) usable.push_back(candidate);
  const Template& chosen = rng.pick(usable);

  Cast cast{.name = rng.pick(names()), .other = {}, .item = rng.pick(items())};
  do cast.other = rng.pick(names());
  while (cast.other == cast.name);
  Story story = chosen.write(rng, ranges, cast);

  Example example;
  example.problem.task = std::string(name());
  example.problem.prompt = story.prompt + "\n";
  example.problem.answer = std::to_string(story.answer);
  example.problem.meta = {{"template", chosen.id},
                          {"values", fmt::format("{}", fmt::join(story.values, " "))},
                          {"unit", story.unit}};
  example.solution = fmt::format("<think>\n{}</think>\n<answer>{}</answer>", story.steps, story.answer);
  return example;
}

std::string WordProblemsTask::canonical_key(const Problem& problem) const {
  return problem.meta_at("template") + ":" + problem.meta_at("values");
}

Verdict WordProblemsTask::verify(const Problem& problem, std::string_view completion) const {
  return verify_integer_completion(completion, problem.integer_answer(), problem.meta_at("unit"));
}

}  // namespace ember::data::tasks
