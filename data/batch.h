// The loader's output: packed training or validation sequences as plain, contiguous, row-major
// [batch, seq_len] arrays (torch-free; the trainer wraps them with from_blob).
//
// Each row is seq_len + 1 consecutive tokens of a packed document stream (documents concatenated,
// each followed by EOS): inputs = tokens[0 .. seq_len), targets = tokens[1 .. seq_len].
// Document boundaries are exposed per input token so the model can build a block-diagonal causal
// mask (attend from i to j only when segment_ids[i] == segment_ids[j] and j <= i) and restart
// positions for RoPE:
//   segment_ids  which document of the row the input token belongs to: 0, 1, 2, ... A document's
//                EOS belongs to that document (its last token), so the EOS input's target is the
//                first token of the next document.
//   positions    index of the input token within its segment: 0 at every document start and at
//                the start of the row (a document continued from the previous row restarts at 0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ember::data {

struct Batch {
  int64_t batch = 0;    ///< rows
  int64_t seq_len = 0;  ///< tokens per row
  std::vector<int32_t> inputs;       ///< [batch, seq_len]
  std::vector<int32_t> targets;      ///< [batch, seq_len]
  std::vector<int32_t> segment_ids;  ///< [batch, seq_len]
  std::vector<int32_t> positions;    ///< [batch, seq_len]
  std::vector<int64_t> row_epochs;     ///< [batch] epoch each row was drawn from (validation: 0)
  std::vector<int64_t> row_sequences;  ///< [batch] the row's packed-sequence index in that epoch

  /// An empty batch of the given shape (every array sized, zero-filled).
  static Batch shaped(int64_t rows, int64_t seq_len) {
    Batch batch;
    batch.batch = rows;
    batch.seq_len = seq_len;
    auto cells = static_cast<size_t>(rows * seq_len);
    batch.inputs.resize(cells);
    batch.targets.resize(cells);
    batch.segment_ids.resize(cells);
    batch.positions.resize(cells);
    batch.row_epochs.resize(static_cast<size_t>(rows));
    batch.row_sequences.resize(static_cast<size_t>(rows));
    return batch;
  }
};

}  // namespace ember::data
