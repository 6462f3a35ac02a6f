// MetricsLog and TensorBoardWriter: JSONL line format, non-finite values, resume truncation
// (explicit and on the first log), torn lines, and TFRecord framing of event files (lengths, CRCs).
// TensorBoard's own reader is exercised by tests/interop/test_tensorboard_events.py.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/files.h"
#include "core/strings.h"
#include "train/metrics_log.h"
#include "train/tensorboard_writer.h"

namespace fs = std::filesystem;
using namespace ember;
using ember::train::MetricsLog;
using ember::train::TensorBoardWriter;

namespace {

class MetricsLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    run_dir_ = fs::temp_directory_path() /
               ("ember_metrics_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(run_dir_);
  }
  void TearDown() override { fs::remove_all(run_dir_); }

  std::vector<std::string> jsonl_lines() const {
    std::vector<std::string> lines = split(read_file(run_dir_ / "metrics.jsonl"), '\n');
    if (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }

  std::vector<fs::path> event_files() const {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(run_dir_)) {
      if (entry.path().filename().string().starts_with("events.out.tfevents.")) {
        files.push_back(entry.path());
      }
    }
    return files;
  }

  fs::path run_dir_;
};

uint64_t read_little_endian(const std::string& bytes, size_t offset, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) {
    value |= uint64_t(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

// Splits a TFRecord file into its payloads, checking every length and CRC on the way.
std::vector<std::string> read_records(const fs::path& path) {
  std::string bytes = read_file(path);
  std::vector<std::string> records;
  size_t offset = 0;
  while (offset < bytes.size()) {
    EXPECT_LE(offset + 12, bytes.size());
    uint64_t length = read_little_endian(bytes, offset, 8);
    EXPECT_EQ(read_little_endian(bytes, offset + 8, 4),
              crc32c_mask(crc32c(std::string_view(bytes).substr(offset, 8))));
    std::string payload = bytes.substr(offset + 12, length);
    EXPECT_EQ(payload.size(), length);
    EXPECT_EQ(read_little_endian(bytes, offset + 12 + length, 4), crc32c_mask(crc32c(payload)));
    records.push_back(payload);
    offset += 12 + length + 4;
  }
  EXPECT_EQ(offset, bytes.size());
  return records;
}

}  // namespace

TEST_F(MetricsLogTest, WritesStepFirstThenScalarsInOrder) {
  MetricsLog metrics(run_dir_, /*tensorboard=*/false);
  metrics.log(1, {{"loss", 2.5}, {"lr", 0.001}, {"grad_norm", 1.0}});
  metrics.log(2, {{"loss", 2.25}, {"lr", 0.002}, {"grad_norm", 0.5}});
  std::vector<std::string> expected = {
      R"({"step":1,"loss":2.5,"lr":0.001,"grad_norm":1.0})",
      R"({"step":2,"loss":2.25,"lr":0.002,"grad_norm":0.5})"};
  EXPECT_EQ(jsonl_lines(), expected);
  EXPECT_TRUE(event_files().empty());
}

TEST_F(MetricsLogTest, LinesAreFlushedAsTheyAreLogged) {
  MetricsLog metrics(run_dir_, /*tensorboard=*/false);
  metrics.log(7, {{"loss", 3.0}});
  EXPECT_EQ(jsonl_lines(), std::vector<std::string>{R"({"step":7,"loss":3.0})"});
}

TEST_F(MetricsLogTest, NonFiniteValuesAreNull) {
  MetricsLog metrics(run_dir_, /*tensorboard=*/false);
  double inf = std::numeric_limits<double>::infinity();
  metrics.log(3, {{"loss", std::nan("")}, {"grad_norm", inf}, {"mfu", -inf}, {"lr", 1e-4}});
  std::string expected = R"({"step":3,"loss":null,"grad_norm":null,"mfu":null,"lr":0.0001})";
  EXPECT_EQ(jsonl_lines(), std::vector<std::string>{expected});
}

TEST_F(MetricsLogTest, ValuesRoundTrip) {
  MetricsLog metrics(run_dir_, /*tensorboard=*/false);
  metrics.log(1, {{"flops_total", 1.2345678901234567e21}, {"tiny", 5e-324}});
  auto line = nlohmann::json::parse(jsonl_lines().at(0));
  EXPECT_EQ(line["flops_total"].get<double>(), 1.2345678901234567e21);
  EXPECT_EQ(line["tiny"].get<double>(), 5e-324);
}

TEST_F(MetricsLogTest, RejectsStepAndDuplicateNames) {
  MetricsLog metrics(run_dir_, /*tensorboard=*/false);
  EXPECT_THROW(metrics.log(1, {{"step", 1.0}}), Error);
  EXPECT_THROW(metrics.log(1, {{"loss", 1.0}, {"loss", 2.0}}), Error);
  EXPECT_TRUE(jsonl_lines().empty());
}

TEST_F(MetricsLogTest, TruncateFromDropsStepsAtOrAfterResumeStep) {
  {
    MetricsLog first(run_dir_, /*tensorboard=*/false);
    for (int64_t step = 1; step <= 5; ++step) first.log(step, {{"loss", double(step)}});
  }
  MetricsLog resumed(run_dir_, /*tensorboard=*/false);
  resumed.truncate_from(3);
  EXPECT_EQ(jsonl_lines(),
            (std::vector<std::string>{R"({"step":1,"loss":1.0})", R"({"step":2,"loss":2.0})"}));
  resumed.log(3, {{"loss", 30.0}});
  resumed.log(4, {{"loss", 40.0}});
  EXPECT_EQ(jsonl_lines(),
            (std::vector<std::string>{R"({"step":1,"loss":1.0})", R"({"step":2,"loss":2.0})",
                                      R"({"step":3,"loss":30.0})", R"({"step":4,"loss":40.0})"}));
}

TEST_F(MetricsLogTest, FirstLogTruncatesWhenTrainerDidNot) {
  {
    MetricsLog first(run_dir_, /*tensorboard=*/false);
    for (int64_t step = 10; step <= 50; step += 10) first.log(step, {{"loss", 1.0}});
  }
  MetricsLog resumed(run_dir_, /*tensorboard=*/false);
  resumed.log(30, {{"loss", 2.0}});
  resumed.log(40, {{"loss", 2.0}});
  EXPECT_EQ(jsonl_lines(),
            (std::vector<std::string>{R"({"step":10,"loss":1.0})", R"({"step":20,"loss":1.0})",
                                      R"({"step":30,"loss":2.0})", R"({"step":40,"loss":2.0})"}));
}

TEST_F(MetricsLogTest, TruncationKeepsEverythingBeforeAFreshStart) {
  {
    MetricsLog first(run_dir_, /*tensorboard=*/false);
    first.log(1, {{"loss", 1.0}});
  }
  MetricsLog again(run_dir_, /*tensorboard=*/false);
  again.truncate_from(2);
  EXPECT_EQ(jsonl_lines(), std::vector<std::string>{R"({"step":1,"loss":1.0})"});
}

TEST_F(MetricsLogTest, TornAndUnreadableLinesAreDroppedOnResume) {
  make_directories(run_dir_);
  write_file_atomic(run_dir_ / "metrics.jsonl",
                    "{\"step\":1,\"loss\":1.0}\nnot json\n{\"loss\":2.0}\n"
                    "{\"step\":2,\"loss\":2.0}\n{\"step\":3,\"lo");
  MetricsLog resumed(run_dir_, /*tensorboard=*/false);
  resumed.truncate_from(100);
  EXPECT_EQ(jsonl_lines(),
            (std::vector<std::string>{R"({"step":1,"loss":1.0})", R"({"step":2,"loss":2.0})"}));
}

TEST_F(MetricsLogTest, EventFileHasVersionRestartAndScalarRecords) {
  {
    MetricsLog metrics(run_dir_, /*tensorboard=*/true);
    metrics.truncate_from(1);
    metrics.log(1, {{"loss", 2.5}, {"lr", 0.1}});
    metrics.log(2, {{"loss", 2.0}, {"lr", 0.1}});
  }
  std::vector<fs::path> files = event_files();
  ASSERT_EQ(files.size(), 1u);
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_TRUE(files[0].filename().string().ends_with(std::string(".") + host));
  std::vector<std::string> records = read_records(files[0]);
  ASSERT_EQ(records.size(), 4u);
  EXPECT_NE(records[0].find("brain.Event:2"), std::string::npos);
  // Event.session_log (field 7) holding SessionLog.status (field 1) = START (1).
  EXPECT_NE(records[1].find(std::string("\x3a\x02\x08\x01", 4)), std::string::npos);
  EXPECT_NE(records[2].find("loss"), std::string::npos);
  EXPECT_NE(records[3].find("lr"), std::string::npos);
}

TEST_F(MetricsLogTest, EachWriterGetsItsOwnEventFile) {
  TensorBoardWriter first(run_dir_);
  TensorBoardWriter second(run_dir_);
  TensorBoardWriter third(run_dir_);
  EXPECT_NE(first.path(), second.path());
  EXPECT_NE(second.path(), third.path());
  EXPECT_EQ(event_files().size(), 3u);
  EXPECT_LT(first.path().filename().string(), second.path().filename().string());
}
