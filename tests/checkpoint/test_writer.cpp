// Checkpoints written by CheckpointWriter: round trip through the reader, newest-first listing,
// pruning, corruption detection and fallback, incomplete directories ignored, unwritable
// directories reported with earlier ones intact, several ranks' parts merged into one manifest,
// the manifest's step against its directory, unlisted weights refused.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>

#include "core/error.h"
#include "checkpoint/reader.h"
#include "checkpoint/resolve.h"
#include "checkpoint/verify.h"
#include "checkpoint/writer.h"
#include "core/files.h"

namespace fs = std::filesystem;
using namespace ember::checkpoint;

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
    c.info.state = {{"loader", {{"epoch", step}}}};
    c.info.config_yaml = "train:\n  steps: 9\n";
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
  CheckpointReader loaded(dir);
  EXPECT_EQ(loaded.step(), 5);
  EXPECT_EQ(loaded.names("model"), std::vector<std::string>{"w"});
  EXPECT_EQ(loaded.names("optimizer"), std::vector<std::string>{"w.exp_avg"});
  EXPECT_TRUE(at::equal(loaded.read("w"), make(5).model.at("w")));
  EXPECT_TRUE(at::equal(loaded.read("w.exp_avg"), make(5).optimizer.at("w.exp_avg")));
  EXPECT_EQ(loaded.state()["loader"]["epoch"], 5);
  EXPECT_EQ(loaded.config_yaml(), "train:\n  steps: 9\n");
  EXPECT_EQ(loaded.manifest().tensors.at("w").shards.at(0).file, "rank_00000.safetensors");
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
  flip_byte(newest / "rank_00000.safetensors");
  try {
    verify_checkpoint(newest);
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank_00000.safetensors"), std::string::npos) << e.what();
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

TEST_F(CheckpointTest, MergesEveryRanksShards) {
  // Two ranks each write half of the rows of "w" (a tp slice along dim 0); rank 1 also writes
  // the second half of the flat "m" (a ZeRO partition), rank 0 the first half.
  const at::Tensor w = at::arange(12, at::kFloat).reshape({4, 3});
  const at::Tensor m = at::arange(10, at::kFloat);
  CheckpointWriter writer(run_, 3);
  writer.begin(7);
  for (int rank : {0, 1}) {
    ShardSlice rows{0, 2 * rank, 2, 0, 6};
    ShardSlice half{-1, 0, 0, 5 * rank, 5};
    writer.write_rank(7, rank,
                      {{"w", "model", w.narrow(0, 2 * rank, 2).contiguous(), {4, 3}, rows},
                       {"w.exp_avg", "optimizer", m.narrow(0, 5 * rank, 5).contiguous(), {10}, half}});
  }
  CheckpointInfo info;
  info.layout = {{"dp", 1}, {"tp", 2}};
  const auto dir = writer.commit(7, 2, info);
  EXPECT_FALSE(fs::exists(dir / "rank_00000.json"));  // merged into the manifest
  CheckpointReader reader(dir);
  EXPECT_TRUE(at::equal(reader.read("w"), w));
  EXPECT_TRUE(at::equal(reader.read("w.exp_avg"), m));
  EXPECT_TRUE(at::equal(reader.read_tp_slice("w", 1, 1, 2), w.narrow(1, 1, 2)));
  EXPECT_EQ(reader.manifest().layout.value("world", 0), 2);
  EXPECT_NO_THROW(verify_checkpoint(dir));
}

TEST_F(CheckpointTest, MissingRankPartFailsTheCommit) {
  CheckpointWriter writer(run_, 3);
  writer.save(make(1));
  writer.begin(2);
  writer.write_rank(2, 0, {});
  EXPECT_THROW(writer.commit(2, 2, {}), ember::Error);  // rank 1 wrote nothing
  writer.abandon(2);
  EXPECT_EQ(list_checkpoints(run_).size(), 1u);
  EXPECT_FALSE(fs::exists(writer.staging(2)));
}

TEST_F(CheckpointTest, ManifestStepMustMatchItsDirectory) {
  CheckpointWriter writer(run_, 3);
  auto dir = writer.save(make(3));
  fs::rename(dir, run_ / "checkpoints" / "step_000004");
  try {
    verify_checkpoint(run_ / "checkpoints" / "step_000004");
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("records step 3"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointTest, UnlistedWeightsAreRefused) {
  CheckpointWriter writer(run_, 3);
  auto dir = writer.save(make(3));
  fs::copy_file(dir / "rank_00000.safetensors", dir / "extra.safetensors");
  try {
    verify_checkpoint(dir);
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("extra.safetensors"), std::string::npos) << e.what();
  }
  CheckpointReader reader(dir);  // the reader opens listed files only
  EXPECT_THROW(reader.read("nope"), ember::Error);
}
