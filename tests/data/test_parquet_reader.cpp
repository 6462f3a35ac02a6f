// Parquet inputs: a string column read row by row across row groups, nulls and empty values
// skipped, large strings read too, and a missing or non-string column named with the columns the
// file has. The files are written with Arrow C++ here, the library pyarrow and Hugging Face
// datasets write them with.
#include <arrow/builder.h>
#include <arrow/io/file.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/document_reader.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::ScratchDir;

template <typename Builder>
std::shared_ptr<arrow::Array> strings(const std::vector<std::optional<std::string>>& values) {
  Builder builder;
  for (const auto& value : values) {
    auto status = value ? builder.Append(*value) : builder.AppendNull();
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  std::shared_ptr<arrow::Array> array;
  EXPECT_TRUE(builder.Finish(&array).ok());
  return array;
}

// Writes a table with columns text (or large_text) and id, `rows_per_group` rows per row group.
std::string write_parquet(const std::string& path, const std::shared_ptr<arrow::Field>& text_field,
                          const std::shared_ptr<arrow::Array>& text, int64_t rows_per_group) {
  arrow::Int64Builder ids;
  for (int64_t i = 0; i < text->length(); ++i) EXPECT_TRUE(ids.Append(i).ok());
  std::shared_ptr<arrow::Array> id_array;
  EXPECT_TRUE(ids.Finish(&id_array).ok());
  auto table = arrow::Table::Make(arrow::schema({text_field, arrow::field("id", arrow::int64())}), {text, id_array});
  auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
  auto status = parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, rows_per_group);
  EXPECT_TRUE(status.ok()) << status.ToString();
  EXPECT_TRUE(out->Close().ok());
  return path;
}

std::vector<std::string> read_all(DocumentReader& reader) {
  std::vector<std::string> documents;
  while (auto document = reader.next()) documents.push_back(*document);
  return documents;
}

TEST(ParquetReader, StringColumnRowByRowAcrossRowGroups) {
  ScratchDir dir;
  auto path = write_parquet(dir.file("train-00000-of-00001.parquet"), arrow::field("text", arrow::utf8()),
                            strings<arrow::StringBuilder>({"alpha", std::nullopt, "", "beta\ngamma", "δέλτα"}), 2);
  auto reader = open_document_reader(path, DocumentUnit::kLine);  // the unit does not apply to Parquet
  EXPECT_EQ(reader->next(), "alpha");
  EXPECT_EQ(reader->location(), path + " row 0");
  EXPECT_EQ(reader->next(), "beta\ngamma");
  EXPECT_EQ(reader->location(), path + " row 3");
  EXPECT_EQ(reader->next(), "δέλτα");
  EXPECT_EQ(reader->next(), std::nullopt);
  EXPECT_EQ(reader->bytes_read(), std::string("alphabeta\ngammaδέλτα").size());
}

TEST(ParquetReader, LargeStringsAndOtherColumnNames) {
  ScratchDir dir;
  auto path = write_parquet(dir.file("large.parquet"), arrow::field("content", arrow::large_utf8()),
                            strings<arrow::LargeStringBuilder>({"x", "y"}), 1);
  auto reader = open_document_reader(path, DocumentUnit::kAuto, "content");
  EXPECT_EQ(read_all(*reader), (std::vector<std::string>{"x", "y"}));
}

TEST(ParquetReader, MissingOrNonStringColumnIsNamed) {
  ScratchDir dir;
  auto path = write_parquet(dir.file("t.parquet"), arrow::field("body", arrow::utf8()),
                            strings<arrow::StringBuilder>({"x"}), 8);
  try {
    open_document_reader(path, DocumentUnit::kAuto, "text");
    FAIL() << "a missing column must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("has no column 'text' (choose one with --field; it has: body, id)"),
              std::string::npos)
        << error.what();
  }
  EXPECT_THROW(open_document_reader(path, DocumentUnit::kAuto, "id"), Error);
  std::ofstream(dir.file("fake.parquet")) << "not parquet at all";
  EXPECT_THROW(open_document_reader(dir.file("fake.parquet"), DocumentUnit::kAuto), Error);
}

}  // namespace
}  // namespace ember::data
