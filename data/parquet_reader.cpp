// ParquetDocuments: a string column of a Parquet file, row group by row group (see parquet_reader.h).
#include "data/parquet_reader.h"

#include <arrow/array.h>
#include <arrow/io/file.h>
#include <arrow/memory_pool.h>
#include <arrow/table.h>
#include <parquet/arrow/reader.h>
#include <parquet/exception.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace ember::data {

struct ParquetDocuments::State {
  std::unique_ptr<parquet::arrow::FileReader> reader;
  int column = -1;
  int next_row_group = 0;
  std::shared_ptr<arrow::ChunkedArray> values;  // the current row group's column
  int chunk = 0;
  int64_t in_chunk = 0;
};

namespace {

template <typename T>
T value_or_fail(arrow::Result<T> result, const std::string& path, const char* what) {
  if (!result.ok()) fail("cannot {} Parquet file '{}': {}", what, path, result.status().ToString());
  return std::move(result).ValueUnsafe();
}

}  // namespace

ParquetDocuments::ParquetDocuments(const std::string& path, std::string field)
    : path_(path), field_(std::move(field)), state_(std::make_unique<State>()) {
  auto file = value_or_fail(arrow::io::ReadableFile::Open(path_), path_, "open");
  try {
    state_->reader = value_or_fail(parquet::arrow::OpenFile(file, arrow::default_memory_pool()), path_, "read");
  } catch (const parquet::ParquetException& error) {
    fail("cannot read Parquet file '{}': {}", path_, error.what());
  }
  std::shared_ptr<arrow::Schema> schema;
  auto status = state_->reader->GetSchema(&schema);
  if (!status.ok()) fail("cannot read the schema of Parquet file '{}': {}", path_, status.ToString());
  state_->column = schema->GetFieldIndex(field_);
  if (state_->column < 0) {
    fail("Parquet file '{}' has no column '{}' (choose one with --field; it has: {})", path_, field_,
         fmt::join(schema->field_names(), ", "));
  }
  auto type = schema->field(state_->column)->type()->id();
  if (type != arrow::Type::STRING && type != arrow::Type::LARGE_STRING) {
    fail("column '{}' of Parquet file '{}' holds {}, not strings", field_, path_,
         schema->field(state_->column)->type()->ToString());
  }
}

ParquetDocuments::~ParquetDocuments() = default;

std::string ParquetDocuments::location() const { return fmt::format("{} row {}", path_, document_row_); }

bool ParquetDocuments::load_row_group() {
  auto& state = *state_;
  if (state.next_row_group >= state.reader->num_row_groups()) return false;
  try {
    auto table = value_or_fail(state.reader->ReadRowGroup(state.next_row_group, {state.column}), path_,
                               "read a row group of");
    state.values = table->column(0);
  } catch (const parquet::ParquetException& error) {
    fail("cannot read row group {} of Parquet file '{}': {}", state.next_row_group, path_, error.what());
  }
  ++state.next_row_group;
  state.chunk = 0;
  state.in_chunk = 0;
  return true;
}

std::optional<std::string> ParquetDocuments::next() {
  auto& state = *state_;
  while (true) {
    if (!state.values || state.chunk >= state.values->num_chunks()) {
      state.values.reset();
      if (!load_row_group()) return std::nullopt;
      continue;
    }
    const auto& chunk = *state.values->chunk(state.chunk);
    if (state.in_chunk >= chunk.length()) {
      ++state.chunk;
      state.in_chunk = 0;
      continue;
    }
    const int64_t index = state.in_chunk++;
    ++row_;
    if (chunk.IsNull(index)) continue;
    std::string_view text = chunk.type_id() == arrow::Type::LARGE_STRING
                                ? static_cast<const arrow::LargeStringArray&>(chunk).GetView(index)
                                : static_cast<const arrow::StringArray&>(chunk).GetView(index);
    bytes_read_ += text.size();
    if (text.empty()) continue;
    document_row_ = row_;
    return std::string(text);
  }
}

}  // namespace ember::data
