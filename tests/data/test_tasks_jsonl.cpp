// JSON Lines of reasoning examples: round trip, the documented fields, and errors that name the
// file and line.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "data/tasks/dataset.h"
#include "data/tasks/problem.h"

namespace fs = std::filesystem;
using namespace ember::data::tasks;

/// Gives each test a scratch directory, removed afterwards.
class TaskJsonl : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ember_test_tasks_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path scratch_file(const std::string& name) const { return dir_ / name; }

  void expect_read_error(const std::string& contents, const std::string& message_part) {
    fs::path path = scratch_file("bad.jsonl");
    ember::write_file_atomic(path, contents);
    try {
      read_examples_jsonl(path);
      FAIL() << "expected ember::Error for: " << contents;
    } catch (const ember::Error& error) {
      EXPECT_NE(std::string(error.what()).find(message_part), std::string::npos) << error.what();
      EXPECT_NE(std::string(error.what()).find("bad.jsonl"), std::string::npos) << error.what();
    }
  }

 private:
  fs::path dir_;
};

TEST_F(TaskJsonl, RoundTripKeepsEveryExample) {
  std::vector<Example> examples = generate_dataset({.task = "all", .count = 60, .seed = 4});
  fs::path path = scratch_file("round_trip.jsonl");
  write_examples_jsonl(path, examples);
  EXPECT_EQ(read_examples_jsonl(path), examples);
}

TEST_F(TaskJsonl, LinesHaveTheDocumentedFields) {
  std::vector<Example> examples = generate_dataset({.task = "countdown", .count = 3, .seed = 4});
  fs::path path = scratch_file("fields.jsonl");
  write_examples_jsonl(path, examples);
  std::string contents = ember::read_file(path);
  size_t lines = 0;
  for (size_t start = 0, end; (end = contents.find('\n', start)) != std::string::npos; start = end + 1, ++lines) {
    nlohmann::json object = nlohmann::json::parse(contents.substr(start, end - start));
    for (const char* key : {"task", "prompt", "solution", "answer", "meta", "text"})
      EXPECT_TRUE(object.contains(key)) << key;
    EXPECT_EQ(object["task"], "countdown");
    EXPECT_EQ(object["text"], object["prompt"].get<std::string>() + object["solution"].get<std::string>());
    EXPECT_TRUE(object["meta"].contains("numbers"));
    EXPECT_TRUE(object["meta"].contains("target"));
  }
  EXPECT_EQ(lines, 3u);
}

TEST_F(TaskJsonl, BlankLinesAreSkipped) {
  fs::path path = scratch_file("blank.jsonl");
  ember::write_file_atomic(path, "\n" + example_to_json(generate_dataset({.task = "arithmetic", .count = 1}).front()).dump() + "\n\n");
  EXPECT_EQ(read_examples_jsonl(path).size(), 1u);
}

TEST_F(TaskJsonl, MalformedLinesNameFileAndLine) {
  expect_read_error("{\"task\": \"x\"\n", "bad.jsonl:1: invalid JSON");
  expect_read_error("\n[1, 2]\n", "bad.jsonl:2: expected a JSON object");
  expect_read_error(R"({"task": "x", "prompt": "p", "answer": "a", "meta": {}})", "missing field 'solution'");
  expect_read_error(R"({"task": 3, "prompt": "p", "solution": "s", "answer": "a", "meta": {}})",
                    "field 'task' must be a string");
  expect_read_error(R"({"task": "x", "prompt": "p", "solution": "s", "answer": "a", "meta": {"n": 3}})",
                    "meta field 'n' must be a string");
  expect_read_error(R"({"task": "x", "prompt": "p", "solution": "s", "answer": "a"})", "missing field 'meta'");
}

TEST_F(TaskJsonl, MissingFileIsAnErrorNamingIt) {
  EXPECT_THROW(read_examples_jsonl(scratch_file("does_not_exist.jsonl")), ember::Error);
}
