// Checkpoints of format 1 (main before sharding: model.safetensors and optimizer.safetensors of
// whole tensors, SHA-256 per file) load through the same reader, one shard per tensor. The fixture
// is written here with the old layout, byte for byte as the old writer did.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <nlohmann/json.hpp>

#include "checkpoint/reader.h"
#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "checkpoint/verify.h"
#include "core/error.h"
#include "core/files.h"
#include "core/safetensors.h"
#include "core/sha256.h"

namespace fs = std::filesystem;
using namespace ember::checkpoint;

namespace {

class Format1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = fs::temp_directory_path() / ("ember_ckpt_v1_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(run_);
    dir_ = run_ / "checkpoints" / "step_000004";
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(run_); }

  /// The old writer: whole tensors, a manifest of version 1 listing both files by SHA-256.
  void write_format1(bool list_model = true) {
    const at::Tensor w = at::arange(6, at::kFloat).reshape({2, 3});
    const at::Tensor m = at::arange(6, at::kFloat).reshape({2, 3}).mul(0.5);
    const at::Tensor rng = at::arange(5, at::kByte);
    auto bytes = [](const at::Tensor& t) { return std::span(static_cast<const std::byte*>(t.data_ptr()), size_t(t.nbytes())); };
    ember::SafetensorsWriter model;
    model.add("w", "F32", {2, 3}, bytes(w));
    model.set_metadata({{"format", "pt"}});
    model.write(dir_ / "model.safetensors");
    ember::SafetensorsWriter optimizer;
    optimizer.add("w.exp_avg", "F32", {2, 3}, bytes(m));
    optimizer.add("rng.cpu", "U8", {5}, bytes(rng));
    optimizer.write(dir_ / "optimizer.safetensors");
    nlohmann::json files = nlohmann::json::object();
    for (const char* name : {"model.safetensors", "optimizer.safetensors"}) {
      if (!list_model && std::string(name) == "model.safetensors") continue;
      files[name] = {{"sha256", ember::sha256_file((dir_ / name).string())}, {"bytes", fs::file_size(dir_ / name)}};
    }
    nlohmann::json manifest = {{"format", "ember-checkpoint"}, {"version", 1}, {"step", 4}, {"files", files},
                               {"state", {{"tokens_seen", 99}}}, {"config", "model:\n  d_model: 48\n  n_heads: 4\n"}};
    ember::write_file_atomic(dir_ / "manifest.json", manifest.dump(2) + "\n");
  }

  fs::path run_, dir_;
};

}  // namespace

TEST_F(Format1Test, LoadsThroughTheReader) {
  write_format1();
  EXPECT_EQ(*find_resume_checkpoint(run_, "auto", false), dir_);
  CheckpointReader reader(dir_);
  EXPECT_EQ(reader.step(), 4);
  EXPECT_EQ(reader.manifest().version, 1);
  EXPECT_EQ(reader.state().value("tokens_seen", 0), 99);
  EXPECT_EQ(reader.names("model"), std::vector<std::string>{"w"});
  EXPECT_EQ(reader.names("optimizer"), (std::vector<std::string>{"rng.cpu", "w.exp_avg"}));
  EXPECT_TRUE(at::equal(reader.read("w"), at::arange(6, at::kFloat).reshape({2, 3})));
  EXPECT_TRUE(at::equal(reader.read("rng.cpu"), at::arange(5, at::kByte)));
  // Any layout's slice of an old checkpoint: tp rank 1 of 3 along dim 1, then a ZeRO half.
  EXPECT_TRUE(at::equal(reader.read_tp_slice("w.exp_avg", 1, 1, 1), at::arange(6, at::kFloat).reshape({2, 3}).mul(0.5).narrow(1, 1, 1)));
  EXPECT_TRUE(at::equal(reader.read_region("w", {0, 1, 1, 1, 2}), at::arange(4, 6, at::kFloat)));
  EXPECT_EQ(read_model_config(dir_).d_model, 48);
}

TEST_F(Format1Test, CorruptFileIsNamed) {
  write_format1();
  {
    std::fstream f(dir_ / "optimizer.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-1, std::ios::end);
    f.put('\x7f');
  }
  try {
    verify_checkpoint(dir_);
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CheckpointReader{dir_}, ember::Error);  // format 1: both files are opened, so verified, at once
}

TEST_F(Format1Test, UnlistedModelFileIsNeverLoaded) {
  write_format1(/*list_model=*/false);
  EXPECT_THROW(verify_checkpoint(dir_), ember::Error);
  try {
    CheckpointReader reader(dir_);
    FAIL();
  } catch (const ember::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not list model.safetensors"), std::string::npos) << e.what();
  }
}
