// The external reward protocol: a well-behaved command (both reply forms, the JSON it receives)
// and every way a command can misbehave: timeout, crash, non-zero exit, garbage, wrong count,
// not reading its input. Each failure must be an ember::Error naming the command.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "train/rl/reward_command.h"

using namespace ember::train::rl;

namespace {

std::vector<RewardRequest> requests(size_t n, size_t completion_size = 8) {
  std::vector<RewardRequest> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back({"What is " + std::to_string(i) + "?\n", std::string(completion_size, 'x'),
                   {{"answer", std::to_string(i)}}});
  }
  return out;
}

/// The error message of scoring `n` requests with `command`, or "" when it succeeds.
std::string error_of(const std::string& command, size_t n, double timeout_s = 10) {
  try {
    RewardCommand(command, timeout_s).score(requests(n));
  } catch (const ember::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(RlRewardCommand, NumbersAndObjects) {
  auto numbers = RewardCommand("while read -r line; do echo 0.5; done", 10).score(requests(3));
  EXPECT_EQ(numbers, (std::vector<double>{0.5, 0.5, 0.5}));
  auto objects = RewardCommand("while read -r line; do echo '{\"reward\": -2, \"extra\": 1}'; echo; done", 10)
                     .score(requests(2));
  EXPECT_EQ(objects, (std::vector<double>{-2, -2}));
  EXPECT_TRUE(RewardCommand("exit 1", 10).score({}).empty());  // nothing to score: not started
}

TEST(RlRewardCommand, ReceivesJsonLines) {
  const auto dir = std::filesystem::path(testing::TempDir()) / "rl_reward_command_input";
  std::filesystem::create_directories(dir);
  const auto file = dir / "input.jsonl";
  auto rewards = RewardCommand("cat > '" + file.string() + "'; echo 1; echo 0", 10).score(requests(2));
  EXPECT_EQ(rewards, (std::vector<double>{1, 0}));
  std::ifstream in(file);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("prompt"), "What is " + std::to_string(count) + "?\n");
    EXPECT_EQ(j.at("completion"), "xxxxxxxx");
    EXPECT_EQ(j.at("metadata").at("answer"), std::to_string(count));
    ++count;
  }
  EXPECT_EQ(count, 2);
}

TEST(RlRewardCommand, TimeoutKillsTheCommand) {
  const auto start = std::chrono::steady_clock::now();
  auto error = error_of("sleep 30", 2, 0.3);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(error.find("reward command 'sleep 30' did not answer within 0.3 s"), std::string::npos) << error;
  EXPECT_LT(elapsed, 5.0);
  // Output first, then hanging without exiting: also a timeout.
  error = error_of("echo 1; echo 1; exec sleep 30", 2, 0.3);
  EXPECT_NE(error.find("did not"), std::string::npos) << error;
}

TEST(RlRewardCommand, CrashAndExitStatus) {
  auto crash = error_of("kill -SEGV $$", 1);
  EXPECT_NE(crash.find("reward command 'kill -SEGV $$' was killed by signal 11"), std::string::npos) << crash;
  auto status = error_of("cat > /dev/null; exit 3", 1);
  EXPECT_NE(status.find("exited with status 3"), std::string::npos) << status;
  auto missing = error_of("/nonexistent/reward-program", 1);
  EXPECT_NE(missing.find("status 127"), std::string::npos) << missing;
}

TEST(RlRewardCommand, GarbageAndWrongCount) {
  auto garbage = error_of("while read -r l; do echo nope; done", 2);
  EXPECT_NE(garbage.find("reward command 'while read -r l; do echo nope; done', output line 1"), std::string::npos)
      << garbage;
  EXPECT_NE(garbage.find("'nope'"), std::string::npos) << garbage;
  auto not_number = error_of("echo '{\"reward\": \"high\"}'", 1);
  EXPECT_NE(not_number.find("expected a number"), std::string::npos) << not_number;
  auto too_few = error_of("read -r l; echo 1", 3);
  EXPECT_NE(too_few.find("returned 1 rewards for 3 completions"), std::string::npos) << too_few;
  auto too_many = error_of("cat > /dev/null; echo 1; echo 2; echo 3", 2);
  EXPECT_NE(too_many.find("returned 3 rewards for 2 completions"), std::string::npos) << too_many;
}

TEST(RlRewardCommand, CommandThatIgnoresItsInput) {
  // The command exits without reading megabytes of input: Ember must not die of SIGPIPE.
  auto big = requests(4, 1 << 20);
  auto rewards = RewardCommand("echo 1; echo 2; echo 3; echo 4", 10).score(big);
  EXPECT_EQ(rewards, (std::vector<double>{1, 2, 3, 4}));
}

TEST(RlRewardCommand, ParseRewardLine) {
  EXPECT_EQ(parse_reward_line("0.25", "x"), 0.25);
  EXPECT_EQ(parse_reward_line(" {\"reward\": 3} ", "x"), 3.0);
  EXPECT_THROW(parse_reward_line("NaN", "x"), ember::Error);
  EXPECT_THROW(parse_reward_line("[1]", "x"), ember::Error);
  EXPECT_THROW(parse_reward_line("{\"score\": 1}", "x"), ember::Error);
  EXPECT_THROW(RewardCommand("", 1), ember::UsageError);
}
