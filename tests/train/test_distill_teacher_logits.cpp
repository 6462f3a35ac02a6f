// Offline teacher logits: the HDF5 dump/read round trip (float32 exact, float16 close), the
// alignment checks (missing rows, input CRC, data fingerprint), and offline top-k with k = vocab
// reproducing the online dense divergence.
#include <filesystem>

#include <ATen/TensorOperators.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/topk.h>
#include <gtest/gtest.h>

#include "core/error.h"
#include "train/distill/divergence.h"
#include "train/distill/teacher_logits_file.h"

namespace ember::train::distill {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kSeqLen = 5, kVocab = 12;

struct Dumped {
  fs::path path;
  std::vector<at::Tensor> logits;  // [T, V] per stored row
  std::vector<std::vector<int32_t>> inputs;
};

/// Dumps three rows (epoch 0 sequences 4 and 7, epoch 1 sequence 0) of random teacher logits.
Dumped dump(const std::string& name, int64_t top_k, bool half) {
  Dumped d;
  d.path = fs::path(::testing::TempDir()) / name;
  TeacherLogitsHeader header;
  header.sequences = 3;
  header.seq_len = kSeqLen;
  header.top_k = top_k;
  header.vocab_size = kVocab;
  header.tokenizer_sha256 = std::string(64, 'a');
  header.teacher = "teacher";
  header.data = {{"seed", 7}, {"seq_len", kSeqLen}};
  header.half_precision = half;
  TeacherLogitsWriter writer(d.path, header);
  at::manual_seed(11);
  const std::vector<std::pair<int64_t, int64_t>> rows = {{0, 4}, {0, 7}, {1, 0}};
  for (int64_t row = 0; row < 3; ++row) {
    d.logits.push_back(at::randn({kSeqLen, kVocab}) * 3);
    d.inputs.push_back({int32_t(row), 1, 2, 3, 4});
    auto top = at::topk(at::log_softmax(d.logits.back(), -1), top_k);
    writer.write(row, rows[size_t(row)].first, rows[size_t(row)].second, inputs_crc32c(d.inputs.back().data(), kSeqLen),
                 std::get<1>(top), std::get<0>(top));
  }
  writer.finish();
  return d;
}

TEST(DistillTeacherLogits, RoundTripIsExactInFloat32AndCloseInFloat16) {
  for (bool half : {false, true}) {
    auto d = dump(half ? "logits16.h5" : "logits32.h5", 4, half);
    TeacherLogitsReader reader(d.path);
    EXPECT_EQ(reader.header().sequences, 3);
    EXPECT_EQ(reader.header().top_k, 4);
    EXPECT_EQ(reader.header().bytes_per_token(), 4 * (2 + (half ? 2 : 4)));
    auto got = reader.read(0, 7, inputs_crc32c(d.inputs[1].data(), kSeqLen));
    auto expected = at::topk(at::log_softmax(d.logits[1], -1), 4);
    EXPECT_TRUE(at::equal(got.ids, std::get<1>(expected)));
    if (half) {
      EXPECT_TRUE(at::allclose(got.logprobs, std::get<0>(expected), 1e-3, 1e-2));
    } else {
      EXPECT_TRUE(at::equal(got.logprobs, std::get<0>(expected)));
    }
  }
}

TEST(DistillTeacherLogits, AlignmentIsChecked) {
  auto d = dump("checks.h5", 3, true);
  TeacherLogitsReader reader(d.path);
  EXPECT_THROW(reader.read(0, 5, 0), Error);                                    // never dumped
  EXPECT_THROW(reader.read(1, 0, inputs_crc32c(d.inputs[0].data(), kSeqLen)), Error);  // other inputs
  const nlohmann::json data = {{"seed", 7}, {"seq_len", kSeqLen}};
  EXPECT_NO_THROW(reader.check_compatible(data, std::string(64, 'a'), kSeqLen));
  EXPECT_THROW(reader.check_compatible({{"seed", 8}, {"seq_len", kSeqLen}}, std::string(64, 'a'), kSeqLen), Error);
  EXPECT_THROW(reader.check_compatible(data, std::string(64, 'b'), kSeqLen), Error);
  EXPECT_THROW(reader.check_compatible(data, std::string(64, 'a'), kSeqLen + 1), Error);
  EXPECT_THROW(TeacherLogitsReader(d.path.string() + ".missing"), Error);
}

TEST(DistillTeacherLogits, OfflineWithKEqualToVocabEqualsOnlineDense) {
  auto d = dump("full.h5", kVocab, false);
  TeacherLogitsReader reader(d.path);
  at::manual_seed(2);
  auto student = at::randn({kSeqLen, kVocab});
  auto stored = reader.read(1, 0, inputs_crc32c(d.inputs[2].data(), kSeqLen));
  for (auto kind : {Divergence::kForwardKl, Divergence::kReverseKl, Divergence::kJsd}) {
    DivergenceOptions options;
    options.kind = kind;
    options.temperature = 2.0;
    options.t2_scaling = true;
    auto online = dense_divergence(student, d.logits[2], {}, options);
    auto offline = topk_divergence(student, stored, {}, options);
    EXPECT_NEAR(online.loss.item<double>(), offline.loss.item<double>(), 1e-5);
    EXPECT_EQ(online.agreement, offline.agreement);
  }
}

}  // namespace
}  // namespace ember::train::distill
