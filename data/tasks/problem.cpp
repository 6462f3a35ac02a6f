// JSON and JSON Lines conversion of reasoning examples (see problem.h).
#include "data/tasks/problem.h"

#include <charconv>

#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"

namespace ember::data::tasks {

const std::string& Problem::meta_at(const std::string& key) const {
  auto found = meta.find(key);
  if (found == meta.end()) fail("{} problem lacks meta field '{}'", task.empty() ? "a" : task, key);
  return found->second;
}

int64_t Problem::integer_answer() const {
  int64_t value = 0;
  auto [end, error] = std::from_chars(answer.data(), answer.data() + answer.size(), value);
  if (error != std::errc() || end != answer.data() + answer.size() || answer.empty())
    fail("{} problem has a non-integer reference answer '{}'", task, answer);
  return value;
}

Example answer_only(const Example& example) {
  Example stripped = example;
  stripped.solution = "<think>\n</think>\n<answer>" + example.problem.answer + "</answer>";
  return stripped;
}

nlohmann::ordered_json example_to_json(const Example& example) {
  nlohmann::ordered_json meta = nlohmann::ordered_json::object();
  for (const auto& [key, value] : example.problem.meta) meta[key] = value;
  return nlohmann::ordered_json{{"task", example.problem.task},   {"prompt", example.problem.prompt},
                        {"solution", example.solution},     {"answer", example.problem.answer},
                        {"meta", std::move(meta)},          {"text", example.text()}};
}

namespace {

std::string string_field(const nlohmann::json& object, const char* key, const std::string& where) {
  auto found = object.find(key);
  if (found == object.end()) fail("{}: missing field '{}'", where, key);
  if (!found->is_string()) fail("{}: field '{}' must be a string", where, key);
  return found->get<std::string>();
}

}  // namespace

Example example_from_json(const nlohmann::json& object, const std::string& where) {
  if (!object.is_object()) fail("{}: expected a JSON object", where);
  Example example;
  example.problem.task = string_field(object, "task", where);
  example.problem.prompt = string_field(object, "prompt", where);
  example.problem.answer = string_field(object, "answer", where);
  example.solution = string_field(object, "solution", where);
  auto meta = object.find("meta");
  if (meta == object.end()) fail("{}: missing field 'meta'", where);
  if (!meta->is_object()) fail("{}: field 'meta' must be an object", where);
  for (const auto& [key, value] : meta->items()) {
    if (!value.is_string()) fail("{}: meta field '{}' must be a string", where, key);
    example.problem.meta[key] = value.get<std::string>();
  }
  return example;
}

void write_examples_jsonl(const std::filesystem::path& path, const std::vector<Example>& examples) {
  std::string contents;
  for (const Example& example : examples) {
    contents += example_to_json(example).dump();
    contents += '\n';
  }
  write_file_atomic(path, contents);
}

std::vector<Example> read_examples_jsonl(const std::filesystem::path& path) {
  std::vector<Example> examples;
  size_t line_number = 0;
  for (const std::string& line : split(read_file(path), '\n')) {
    ++line_number;
    if (trim(line).empty()) continue;
    std::string where = path.string() + ":" + std::to_string(line_number);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& error) {
      fail("{}: invalid JSON: {}", where, error.what());
    }
    examples.push_back(example_from_json(object, where));
  }
  return examples;
}

}  // namespace ember::data::tasks
