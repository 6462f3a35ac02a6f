// SequencePacker: assembles one packed row from a document stream (see sequence_packer.h).
#include "data/sequence_packer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace ember::data {

void SequencePacker::pack(const DocumentStream& stream, int64_t sequence, Batch& batch, int64_t row) {
  if (sequence < 0 || sequence >= stream.num_sequences(seq_len_)) {
    fail("packed sequence {} is outside the stream's {} sequences", sequence, stream.num_sequences(seq_len_));
  }
  const auto length = static_cast<int64_t>(row_.size());
  uint64_t start = static_cast<uint64_t>(sequence) * static_cast<uint64_t>(seq_len_);
  size_t document = stream.locate(start);
  auto offset = static_cast<int64_t>(start - stream.begin(document));  // within the document (EOS at its length)
  int32_t segment = 0;
  int64_t filled = 0;
  while (filled < length) {
    DocumentRef ref = stream.documents[document];
    int64_t document_length = corpus_.document_length(ref);
    int64_t first_filled = filled;
    if (offset < document_length) {
      int64_t take = std::min(document_length - offset, length - filled);
      corpus_.read(ref, offset, take, row_.data() + filled);
      filled += take;
    }
    if (filled < length) row_[static_cast<size_t>(filled++)] = corpus_.eos_id();
    for (int64_t i = first_filled; i < filled; ++i) {
      segments_[static_cast<size_t>(i)] = segment;
      positions_[static_cast<size_t>(i)] = static_cast<int32_t>(i - first_filled);
    }
    ++segment;
    ++document;
    offset = 0;
  }
  auto cells = static_cast<size_t>(seq_len_);
  auto at = static_cast<size_t>(row * seq_len_);
  std::memcpy(batch.inputs.data() + at, row_.data(), cells * sizeof(int32_t));
  std::memcpy(batch.targets.data() + at, row_.data() + 1, cells * sizeof(int32_t));
  std::memcpy(batch.segment_ids.data() + at, segments_.data(), cells * sizeof(int32_t));
  std::memcpy(batch.positions.data() + at, positions_.data(), cells * sizeof(int32_t));
  batch.row_sequences[static_cast<size_t>(row)] = sequence;
}

}  // namespace ember::data
