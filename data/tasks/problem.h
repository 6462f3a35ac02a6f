// The unit of reasoning data: a Problem (what a verifier needs) and an Example (a problem with its
// worked solution), plus their JSON Lines form shared by `ember data generate`, RL and eval:
//
//   {"task": "...", "prompt": "...", "solution": "<think>...</think>\n<answer>...</answer>",
//    "answer": "...", "meta": {"key": "value", ...}, "text": prompt + solution}
//
// `text` is written for tokenizer training and `ember data prepare --field text`; it is ignored
// on reading because it is derived.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::data::tasks {

struct Problem {
  std::string task;    ///< registered task name: "arithmetic", "countdown", "word_problems"
  std::string prompt;  ///< the text shown to the model, ending with a newline
  std::string answer;  ///< the reference final answer (one correct answer where several exist)
  /// What the task's verifier and split hash need, as strings (e.g. countdown "numbers", "target").
  std::map<std::string, std::string> meta;

  /// The meta value under `key`; throws ember::Error naming the task and key when it is missing.
  const std::string& meta_at(const std::string& key) const;

  /// `answer` as an integer (tasks with numeric answers); throws ember::Error when it is not one.
  int64_t integer_answer() const;

  bool operator==(const Problem&) const = default;
};

struct Example {
  Problem problem;
  std::string solution;  ///< "<think>\n...steps...\n</think>\n<answer>ANSWER</answer>"

  /// The pretraining document: prompt followed by solution.
  std::string text() const { return problem.prompt + solution; }

  bool operator==(const Example&) const = default;
};

/// The example with its worked steps removed: "<think>\n</think>\n<answer>ANSWER</answer>". The
/// completion still has the full format; only the reasoning is missing.
Example answer_only(const Example& example);

/// The JSON object of one example, fields in the documented order.
nlohmann::ordered_json example_to_json(const Example& example);

/// Parses one JSON object; `where` (e.g. "file.jsonl:12") prefixes error messages. Throws
/// ember::Error when a field is missing or has the wrong type.
Example example_from_json(const nlohmann::json& object, const std::string& where);

/// Writes one JSON object per line, atomically (temporary file + rename).
void write_examples_jsonl(const std::filesystem::path& path, const std::vector<Example>& examples);

/// Reads a file written by write_examples_jsonl; blank lines are skipped. Errors name file and line.
std::vector<Example> read_examples_jsonl(const std::filesystem::path& path);

}  // namespace ember::data::tasks
