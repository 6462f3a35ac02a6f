// The run directory's rules: one lock holder (a second is refused naming the first; a released or
// stale lock is taken), a refused run leaves no directory, model configs compared key by key,
// schedule changes named and refused unless allowed, and the rewind rule (refuse, or move aside).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "train/run_dir.h"

namespace fs = std::filesystem;
using namespace ember::train;

namespace {

class RunDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = fs::temp_directory_path() / ("ember_run_dir_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_);
  }
  void TearDown() override { fs::remove_all(run_); }

  /// A complete-looking checkpoint directory (listing needs only the manifest's presence).
  void fake_checkpoint(int64_t step) {
    char name[32];
    std::snprintf(name, sizeof name, "step_%06lld", static_cast<long long>(step));
    ember::make_directories(run_ / "checkpoints" / name);
    ember::write_file_atomic(run_ / "checkpoints" / name / "manifest.json", "{}");
  }

  fs::path run_;
};

TEST_F(RunDirTest, SecondHolderIsRefusedNamingTheFirst) {
  auto first = RunDirectoryLock::acquire(run_);
  try {
    auto second = RunDirectoryLock::acquire(run_);
    FAIL() << "a second lock was granted";
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another run (pid " + std::to_string(::getpid())),
              std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(run_));  // the refusal removed nothing of the holder's
}

TEST_F(RunDirTest, ReleasedLockIsTakenAgainAndARefusedNewDirectoryIsRemoved) {
  { auto lock = RunDirectoryLock::acquire(run_); }  // never kept: the run was refused
  EXPECT_FALSE(fs::exists(run_));
  {
    auto lock = RunDirectoryLock::acquire(run_);
    lock.keep_directory();
  }
  EXPECT_TRUE(fs::exists(run_ / ".lock"));
  EXPECT_EQ(fs::file_size(run_ / ".lock"), 0u);  // a clean release leaves no holder behind
  auto again = RunDirectoryLock::acquire(run_);
}

TEST_F(RunDirTest, StaleLockFileIsTakenOver) {
  ember::make_directories(run_);
  ember::write_file_atomic(run_ / ".lock", "pid 1 on host gone, started 2026-01-01T00:00:00Z\n");
  auto lock = RunDirectoryLock::acquire(run_);  // nobody holds the flock: stale
  EXPECT_NE(ember::read_file(run_ / ".lock").find("pid " + std::to_string(::getpid())), std::string::npos);
}

TEST(ModelConfigDifferences, NamesEveryDifferingKey) {
  ember::model::ModelConfig a{.vocab_size = 320, .d_model = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2};
  auto b = a;
  EXPECT_TRUE(model_config_differences(a, b).empty());
  b.n_layers = 3;
  b.n_heads = 8;
  const auto diffs = model_config_differences(a, b);
  ASSERT_EQ(diffs.size(), 2u);
  EXPECT_EQ(diffs[0], "model.n_layers: checkpoint 2, this run 3");
  EXPECT_EQ(diffs[1], "model.n_heads: checkpoint 4, this run 8");
}

TEST(Schedule, DifferencesCoverOnlyWhatTheLearningRateDependsOn) {
  const ScheduleOptions cosine{"cosine", 1e-3, 0.1, 5, 40, 0.2};
  auto longer = cosine;
  longer.total_steps = 60;
  ASSERT_EQ(schedule_differences(cosine, longer).size(), 1u);
  EXPECT_NE(schedule_differences(cosine, longer)[0].find("40 -> 60"), std::string::npos);
  auto other_decay = cosine;
  other_decay.decay_fraction = 0.5;  // wsd only
  EXPECT_TRUE(schedule_differences(cosine, other_decay).empty());
  const ScheduleOptions constant{"constant", 1e-3, 0.1, 5, 40, 0.2};
  auto constant_longer = constant;
  constant_longer.total_steps = 400;
  EXPECT_TRUE(schedule_differences(constant, constant_longer).empty());
}

TEST(Schedule, ChangeIsRefusedUnlessAllowed) {
  const ScheduleOptions saved{"cosine", 1e-3, 0.1, 0, 40, 0.2};
  auto run = saved;
  run.total_steps = 80;
  try {
    check_schedule("ckpt", saved, run, 40, false);
    FAIL() << "a schedule change was accepted";
  } catch (const ember::UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("40 -> 80"), std::string::npos) << what;
    EXPECT_NE(what.find("checkpoint.allow_schedule_change=true"), std::string::npos) << what;
  }
  EXPECT_NO_THROW(check_schedule("ckpt", saved, run, 40, true));
  EXPECT_NO_THROW(check_schedule("ckpt", saved, saved, 40, false));
}

TEST(Schedule, SavedScheduleFallsBackToTheSavedConfig) {
  const auto from_config = saved_schedule(nlohmann::json::object(),
                                          "train:\n  steps: 30\noptim:\n  lr: 0.002\n  warmup_steps: 3\n", 2);
  EXPECT_EQ(from_config.total_steps, 60);
  EXPECT_DOUBLE_EQ(from_config.peak_lr, 0.002);
  EXPECT_EQ(from_config.warmup_steps, 3);
  const ScheduleOptions stored{"wsd", 1e-3, 0.0, 1, 9, 0.3};
  const auto from_state = saved_schedule({{"schedule", schedule_json(stored)}}, "", 1);
  EXPECT_EQ(from_state.kind, "wsd");
  EXPECT_EQ(from_state.total_steps, 9);
  EXPECT_DOUBLE_EQ(from_state.decay_fraction, 0.3);
}

TEST_F(RunDirTest, RewindIsRefusedUnlessAskedThenMovesNewerCheckpointsAside) {
  for (int64_t step : {10, 20, 30}) fake_checkpoint(step);
  ember::write_file_atomic(run_ / "metrics.jsonl", "{\"step\":1}\n");
  EXPECT_TRUE(check_rewind(run_, 30, false).empty());
  try {
    check_rewind(run_, 10, false);
    FAIL() << "a rewind was accepted";
  } catch (const ember::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("checkpoint.rewind=true"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(run_ / "checkpoints" / "step_000030"));  // refused: nothing moved
  const auto newer = check_rewind(run_, 10, true);
  ASSERT_EQ(newer.size(), 2u);
  rewind_checkpoints(run_, newer);
  EXPECT_FALSE(fs::exists(run_ / "checkpoints" / "step_000030"));
  EXPECT_TRUE(fs::exists(run_ / "checkpoints" / "step_000010"));
  ASSERT_TRUE(fs::is_directory(run_ / "rewound"));
  const auto moved = fs::directory_iterator(run_ / "rewound")->path();
  EXPECT_TRUE(fs::exists(moved / "step_000020" / "manifest.json"));
  EXPECT_TRUE(fs::exists(moved / "step_000030"));
  EXPECT_TRUE(fs::exists(moved / "metrics.jsonl"));
  EXPECT_TRUE(fs::exists(run_ / "metrics.jsonl"));
}

}  // namespace
