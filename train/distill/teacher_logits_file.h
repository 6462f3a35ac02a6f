// Offline teacher logits: the teacher's top-k log-probabilities per token of the loader's packed
// training sequences, in HDF5 (layout in docs/formats.md, "Teacher logits").
//
//   /ids             [S, T, K] uint16 (vocabulary <= 65536) or uint32   top-k token ids, best first
//   /logprobs        [S, T, K] float16 or float32   log softmax(teacher logits)[id] at temperature 1
//   /epochs          [S] int64     the loader epoch of stored sequence i
//   /sequences       [S] int64     its packed-sequence index in that epoch
//   /inputs_crc32c   [S] uint32    CRC-32C of the sequence's T input ids (int32, little endian)
//   root attributes: format = "ember-teacher-logits", version = 1, top_k, seq_len, vocab_size,
//                    tokenizer_sha256, teacher (checkpoint path), data (the loader's data fingerprint,
//                    JSON), logprob_dtype ("float16" | "float32")
//
// Alignment. The loader's packing is a pure function of (data fingerprint, epoch, sequence), and
// every batch row carries its (epoch, sequence) (data/batch.h). dump-teacher stores the first S
// sequences of the global training order; training looks each row up by (epoch, sequence), so the
// batch size, accumulation and data-parallel layout of the training run do not matter. The reader
// rejects a file made for other data (fingerprint), another tokenizer or sequence length, and
// checks every row's input CRC before use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include "data/hdf5_util.h"
#include "train/distill/divergence.h"

namespace ember::train::distill {

struct TeacherLogitsHeader {
  int64_t sequences = 0;  ///< S
  int64_t seq_len = 0;    ///< T
  int64_t top_k = 0;      ///< K
  int64_t vocab_size = 0;
  std::string tokenizer_sha256;
  std::string teacher;
  nlohmann::json data;  ///< the loader's data fingerprint
  bool half_precision = true;  ///< float16 log-probs (else float32)

  /// Bytes stored per token: K ids plus K log-probs.
  int64_t bytes_per_token() const;
};

/// CRC-32C of a row's input ids (what /inputs_crc32c holds).
uint32_t inputs_crc32c(const int32_t* inputs, int64_t count);

/// Writes a file of header.sequences rows into a temporary name; finish() renames it into place.
class TeacherLogitsWriter {
 public:
  TeacherLogitsWriter(std::filesystem::path path, TeacherLogitsHeader header);
  /// Stores row `row`: ids [T, K] (integer) and logprobs [T, K] (float) on any device.
  void write(int64_t row, int64_t epoch, int64_t sequence, uint32_t crc, const at::Tensor& ids,
             const at::Tensor& logprobs);
  /// Flushes, closes and renames; throws ember::Error when a row was never written.
  void finish();

 private:
  std::filesystem::path path_, temporary_;
  TeacherLogitsHeader header_;
  data::h5::Handle file_, ids_, logprobs_, epochs_, sequences_, crcs_;
  std::vector<bool> written_;
};

class TeacherLogitsReader {
 public:
  /// Opens and validates the file (shapes, attributes, unique rows).
  explicit TeacherLogitsReader(std::filesystem::path path);
  const TeacherLogitsHeader& header() const { return header_; }

  /// Throws ember::Error naming the mismatch when the file was made for other data, another
  /// tokenizer or sequence length than the training run's.
  void check_compatible(const nlohmann::json& data_fingerprint, const std::string& tokenizer_sha256,
                        int64_t seq_len) const;

  /// The stored top-k of the packed sequence (epoch, sequence): ids [T, K] int64, logprobs [T, K]
  /// fp32. Throws ember::Error when the file does not hold it or its inputs' CRC differs.
  TeacherTopK read(int64_t epoch, int64_t sequence, uint32_t crc) const;

 private:
  std::filesystem::path path_;
  TeacherLogitsHeader header_;
  data::h5::Handle file_, ids_, logprobs_;
  std::map<std::pair<int64_t, int64_t>, int64_t> rows_;
  std::vector<uint32_t> crcs_;
};

}  // namespace ember::train::distill
