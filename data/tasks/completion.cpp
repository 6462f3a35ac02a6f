// Tag structure, format score and integer answers of completions (see completion.h).
#include "data/tasks/completion.h"

#include <cctype>

#include "core/strings.h"

namespace ember::data::tasks {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>";
constexpr std::string_view kAnswerClose = "</answer>";

size_t count_occurrences(std::string_view text, std::string_view needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos; at = text.find(needle, at + needle.size()))
    ++count;
  return count;
}

/// True when the text holds exactly one `open` and one `close` tag, the opening one first.
bool single_block(std::string_view text, std::string_view open, std::string_view close) {
  return count_occurrences(text, open) == 1 && count_occurrences(text, close) == 1 &&
         text.find(open) < text.find(close);
}

}  // namespace

CompletionParts parse_completion(std::string_view completion) {
  CompletionParts parts;
  bool think_ok = single_block(completion, kThinkOpen, kThinkClose);
  bool answer_ok = single_block(completion, kAnswerOpen, kAnswerClose);
  bool ordered = think_ok && answer_ok && completion.find(kThinkClose) < completion.find(kAnswerOpen);
  std::string_view trimmed = trim(completion);
  bool clean = trimmed.starts_with(kThinkOpen) && trimmed.ends_with(kAnswerClose);
  parts.format_score = 0.25 * (think_ok + answer_ok + ordered + clean);

  size_t opens = count_occurrences(completion, kAnswerOpen);
  size_t closes = count_occurrences(completion, kAnswerClose);
  if (opens == 0 && closes == 0) {
    parts.error = "no <answer> tag";
  } else if (opens > 1 || closes > 1) {
    parts.error = "multiple <answer> tags";
  } else if (opens == 0 || closes == 0) {
    parts.error = "unclosed <answer> tag";
  } else if (!answer_ok) {
    parts.error = "</answer> comes before <answer>";
  } else {
    size_t begin = completion.find(kAnswerOpen) + kAnswerOpen.size();
    size_t end = completion.find(kAnswerClose);
    parts.answer = std::string(trim(completion.substr(begin, end - begin)));
    if (parts.answer.empty()) parts.error = "empty answer";
  }
  return parts;
}

std::optional<int64_t> parse_integer_answer(std::string_view text) {
  text = trim(text);
  if (text.ends_with('.')) text = trim(text.substr(0, text.size() - 1));
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text.front()))) return std::nullopt;

  bool grouped = text.find(',') != std::string_view::npos;
  std::string digits;
  size_t group_length = 0;  // digits since the last separator
  bool seen_separator = false;
  for (char c : text) {
    if (c == ',') {
      if (group_length == 0 || group_length > 3 || (seen_separator && group_length != 3)) return std::nullopt;
      seen_separator = true;
      group_length = 0;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      digits += c;
      ++group_length;
    } else {
      return std::nullopt;
    }
  }
  if (grouped && group_length != 3) return std::nullopt;
  if (digits.size() > 18) return std::nullopt;
  int64_t value = std::stoll(digits);
  return negative ? -value : value;
}

Verdict verify_integer_completion(std::string_view completion, int64_t expected, std::string_view unit) {
  CompletionParts parts = parse_completion(completion);
  Verdict verdict{.correct = false, .format_score = parts.format_score, .reason = parts.error};
  if (!parts.error.empty()) return verdict;
  std::string_view answer = parts.answer;
  if (answer.ends_with('.')) answer.remove_suffix(1);
  if (!unit.empty() && answer.ends_with(unit) && answer.size() > unit.size() &&
      std::isspace(static_cast<unsigned char>(answer[answer.size() - unit.size() - 1])))
    answer.remove_suffix(unit.size());
  std::optional<int64_t> value = parse_integer_answer(answer);
  if (!value) {
    verdict.reason = "answer is not an integer: '" + parts.answer + "'";
  } else if (*value != expected) {
    verdict.reason = "wrong answer: " + std::to_string(*value) + ", expected " + std::to_string(expected);
  } else {
    verdict.correct = true;
    verdict.reason = "correct";
  }
  return verdict;
}

}  // namespace ember::data::tasks
