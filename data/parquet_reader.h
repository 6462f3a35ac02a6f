// Parquet files (the on-disk format of Hugging Face datasets) as documents: each row's string
// column `field` is one document (null and empty values are skipped). Read through Arrow C++ (the
// libarrow / libparquet the pyarrow wheel ships, cmake/EmberDependencies.cmake) one row group at
// a time, so memory stays bounded by the largest row group's column, whatever the file size.
#pragma once

#include <cstdint>
#include <memory>

#include "data/document_reader.h"

namespace ember::data {

class ParquetDocuments final : public DocumentReader {
 public:
  /// Opens `path` and finds the column; throws ember::Error naming the file (and the columns it
  /// has) when it is not Parquet or has no string / large-string column `field`.
  ParquetDocuments(const std::string& path, std::string field);
  ~ParquetDocuments() override;
  std::optional<std::string> next() override;
  /// "FILE row N" (0-based over the whole file).
  std::string location() const override;
  uint64_t bytes_read() const override { return bytes_read_; }

  struct State;  // Arrow objects (parquet_reader.cpp)

 private:
  bool load_row_group();

  std::string path_, field_;
  std::unique_ptr<State> state_;
  int64_t row_ = -1, document_row_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace ember::data
