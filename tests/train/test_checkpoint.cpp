// Checkpoints: round trip, newest-first listing, pruning, corruption detection and fallback,
// incomplete directories ignored, unwritable directories reported with earlier ones intact.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>

#include "core/error.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;
using namespace ember::train;

namespace {

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = fs::temp_directory_path() / ("ember_ckpt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(run_ / "checkpoints", fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(run_, ec);
  }

  Checkpoint make(int64_t step) {
    Checkpoint c;
    c.step = step;
    c.model["w"] = at::arange(6, at::kFloat).reshape({2, 3}).mul(double(step));
    c.optimizer["w.exp_avg"] = at::arange(6, at::kFloat).reshape({2, 3});
    c.state = {{"loader", {{"epoch", step}}}};
    c.config_yaml = "train:\n  steps: 9\n";
    return c;
  }

  fs::path run_;
};

void flip_byte(const fs::path& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(-1, std::ios::end);
  char c;
  f.get(c);
  f.seekp(-1, std::ios::end);
  f.put(char(c ^ 0x5a));
}

}  // namespace

TEST_F(CheckpointTest, RoundTrip) {
  CheckpointWriter writer(run_, 3);
  auto dir = writer.save(make(5));
  EXPECT_EQ(dir.filename(), "step_000005");
  auto loaded = load_checkpoint(dir);
  EXPECT_EQ(loaded.step, 5);
  EXPECT_TRUE(at::equal(loaded.model.at("w"), make(5).model.at("w")));
  EXPECT_TRUE(at::equal(loaded.optimizer.at("w.exp_avg"), make(5).optimizer.at("w.exp_avg")));
  EXPECT_EQ(loaded.state["loader"]["epoch"], 5);
  EXPECT_EQ(loaded.config_yaml, "train:\n  steps: 9\n");
  EXPECT_EQ(resolve_checkpoint(run_), dir);
}

TEST_F(CheckpointTest, KeepsNewestAndIgnoresIncomplete) {
  CheckpointWriter writer(run_, 2);
  for (int64_t step : {1, 2, 3}) writer.save(make(step));
  fs::create_directories(run_ / "checkpoints" / "step_000009");  // no manifest: not a checkpoint
  auto found = list_checkpoints(run_);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].filename(), "step_000003");
  EXPECT_EQ(found[1].filename(), "step_000002");
  EXPECT_EQ(find_resume_checkpoint(run_, "auto", true)->filename(), "step_000003");
  EXPECT_FALSE(find_resume_checkpoint(run_, "none", true).has_value());
}

TEST_F(CheckpointTest, CorruptNewestFallsBackOrStops) {
  CheckpointWriter writer(run_, 3);
  writer.save(make(1));
  auto newest = writer.save(make(2));
  flip_byte(newest / "model.safetensors");
  try {
    verify_checkpoint(newest);
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_EQ(find_resume_checkpoint(run_, "auto", true)->filename(), "step_000001");
  EXPECT_THROW(find_resume_checkpoint(run_, "auto", false), ember::Error);
}

TEST_F(CheckpointTest, NothingToResumeFromIsFine) {
  EXPECT_FALSE(find_resume_checkpoint(run_, "auto", true).has_value());
  EXPECT_THROW(find_resume_checkpoint(run_, (run_ / "nope").string(), true), ember::Error);
}

TEST_F(CheckpointTest, UnwritableDirectoryKeepsEarlierCheckpoints) {
  if (::geteuid() == 0) {
    // root ignores permission bits; use a path under a regular file instead.
    CheckpointWriter writer(run_, 3);
    writer.save(make(1));
    std::ofstream(run_ / "blocker") << "x";
    CheckpointWriter blocked(run_ / "blocker", 3);
    EXPECT_THROW(blocked.save(make(2)), ember::Error);
    EXPECT_NO_THROW(verify_checkpoint(list_checkpoints(run_).front()));
    return;
  }
  CheckpointWriter writer(run_, 3);
  writer.save(make(1));
  fs::permissions(run_ / "checkpoints", fs::perms::owner_write, fs::perm_options::remove);
  EXPECT_THROW(writer.save(make(2)), ember::Error);
  fs::permissions(run_ / "checkpoints", fs::perms::owner_write, fs::perm_options::add);
  EXPECT_NO_THROW(verify_checkpoint(list_checkpoints(run_).front()));
}
