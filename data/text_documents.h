// Text files cut into documents by the file, blank-line and line units (document_reader.h),
// read through CompressedReader, so gzip and zstd text reads the same as plain.
#pragma once

#include "data/compressed_reader.h"
#include "data/document_reader.h"

namespace ember::data {

class TextDocuments final : public DocumentReader {
 public:
  TextDocuments(const std::string& path, DocumentUnit unit);
  std::optional<std::string> next() override;
  std::string location() const override;
  std::string skip_reason() override;
  uint64_t bytes_read() const override { return in_.bytes_read(); }

 private:
  std::optional<std::string> next_file();
  std::optional<std::string> next_block();
  std::optional<std::string> next_line();

  CompressedReader in_;
  DocumentUnit unit_;
  std::string line_;
  size_t line_number_ = 0, document_line_ = 0;
  bool file_taken_ = false;
};

}  // namespace ember::data
