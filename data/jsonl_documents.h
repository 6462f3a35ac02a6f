// JSONL files as documents: one JSON object per line, the document is its string field
// (document_reader.h's jsonl-field unit), read through CompressedReader (gzip / zstd).
#pragma once

#include "data/compressed_reader.h"
#include "data/document_reader.h"

namespace ember::data {

class JsonlDocuments final : public DocumentReader {
 public:
  JsonlDocuments(const std::string& path, std::string field);
  /// Throws ember::Error "FILE:LINE: ..." for a line that is not an object with a string `field`.
  std::optional<std::string> next() override;
  std::string location() const override;
  uint64_t bytes_read() const override { return in_.bytes_read(); }

 private:
  CompressedReader in_;
  std::string field_, line_;
  size_t line_number_ = 0, document_line_ = 0;
};

}  // namespace ember::data
