// Document units: whole files, blank-line blocks, lines and JSONL fields; record files keep their
// unit whatever --document says; bad JSONL names file and line; gzip and zstd inputs read the
// same as plain ones, and corrupt or truncated compressed data is an error naming the file.
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/compressed_reader.h"
#include "data/document_reader.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::ScratchDir;

const std::string kText = "\n\nfirst block\nstill first\n\n \t\nsecond block\n";

std::string write_file(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

std::string write_gzip(const std::string& path, const std::string& contents) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, contents.data(), static_cast<unsigned>(contents.size()));
  gzclose(file);
  return path;
}

std::string zstd_bytes(const std::string& contents) {
  std::string out(ZSTD_compressBound(contents.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), contents.data(), contents.size(), 3));
  return out;
}

std::vector<std::string> read_all(const std::string& path, DocumentUnit unit, const std::string& field = "text") {
  auto reader = open_document_reader(path, unit, field);
  std::vector<std::string> documents;
  while (auto document = reader->next()) documents.push_back(*document);
  return documents;
}

TEST(DocumentReader, UnitsCutTextWhereTheySay) {
  ScratchDir dir;
  auto path = write_file(dir.file("in.txt"), kText);
  EXPECT_EQ(read_all(path, DocumentUnit::kAuto), std::vector<std::string>{kText});
  EXPECT_EQ(read_all(path, DocumentUnit::kFile), std::vector<std::string>{kText});
  EXPECT_EQ(read_all(path, DocumentUnit::kBlankLine),
            (std::vector<std::string>{"first block\nstill first", "second block"}));
  EXPECT_EQ(read_all(path, DocumentUnit::kLine),
            (std::vector<std::string>{"first block", "still first", "second block"}));
  auto reader = open_document_reader(path, DocumentUnit::kBlankLine);
  reader->next();
  reader->next();
  EXPECT_EQ(reader->location(), path + ":7");
}

TEST(DocumentReader, JsonlIsReadByRecordsWhateverTheUnit) {
  ScratchDir dir;
  auto jsonl = write_file(dir.file("in.jsonl"), "{\"body\": \"a\\nb\"}\n\n{\"body\": \"\"}\n{\"body\": \"c\"}\n");
  EXPECT_EQ(read_all(jsonl, DocumentUnit::kAuto, "body"), (std::vector<std::string>{"a\nb", "c"}));
  EXPECT_EQ(read_all(jsonl, DocumentUnit::kFile, "body"), (std::vector<std::string>{"a\nb", "c"}));
  EXPECT_EQ(resolve_document_unit("x.ndjson.zst", DocumentUnit::kLine), DocumentUnit::kJsonlField);
  EXPECT_EQ(resolve_document_unit("x.md", DocumentUnit::kAuto), DocumentUnit::kFile);
  // JSONL inside a .txt is read by records when asked.
  auto txt = write_file(dir.file("records.txt"), "{\"text\": \"r\"}\n");
  EXPECT_EQ(read_all(txt, DocumentUnit::kJsonlField), std::vector<std::string>{"r"});
}

TEST(DocumentReader, BadJsonlNamesFileAndLine) {
  ScratchDir dir;
  auto jsonl = write_file(dir.file("bad.jsonl"), "{\"text\": \"ok\"}\n{\"other\": 1}\n");
  auto reader = open_document_reader(jsonl, DocumentUnit::kAuto);
  reader->next();
  try {
    reader->next();
    FAIL() << "a record without the field must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(jsonl + ":2: no string field 'text'"), std::string::npos) << error.what();
  }
  EXPECT_THROW(open_document_reader(dir.file("absent.txt"), DocumentUnit::kAuto), Error);
  EXPECT_THROW(parse_document_unit("paragraph"), UsageError);
}

TEST(DocumentReader, BinaryTextIsFlagged) {
  ScratchDir dir;
  auto binary = write_file(dir.file("blob.dat"), std::string("abc\0def", 7));
  EXPECT_EQ(open_document_reader(binary, DocumentUnit::kAuto)->skip_reason(), "binary");
  EXPECT_EQ(open_document_reader(write_file(dir.file("ok.txt"), "fine"), DocumentUnit::kAuto)->skip_reason(), "");
}

TEST(DocumentReader, GzipAndZstdReadLikePlainText) {
  ScratchDir dir;
  auto gz = write_gzip(dir.file("in.txt.gz"), kText);
  // Two zstd frames back to back are one stream, as `cat a.zst b.zst` gives.
  auto zst = write_file(dir.file("in.jsonl.zst"), zstd_bytes("{\"text\": \"one\"}\n") + zstd_bytes("{\"text\": \"two\"}\n"));
  EXPECT_EQ(read_all(gz, DocumentUnit::kBlankLine), (std::vector<std::string>{"first block\nstill first", "second block"}));
  EXPECT_EQ(read_all(zst, DocumentUnit::kAuto), (std::vector<std::string>{"one", "two"}));
  CompressedReader gz_reader(gz), zst_reader(zst);
  EXPECT_EQ(gz_reader.compression(), Compression::kGzip);
  EXPECT_EQ(zst_reader.compression(), Compression::kZstd);
  EXPECT_EQ(gz_reader.read_rest(), kText);
  EXPECT_EQ(gz_reader.bytes_read(), kText.size());
  EXPECT_EQ(strip_compression_suffix("a/b.jsonl.zst"), "a/b.jsonl");
}

TEST(DocumentReader, CorruptCompressedDataNamesTheFile) {
  ScratchDir dir;
  std::string big(200000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = char('a' + i % 26);
  auto whole = zstd_bytes(big);
  auto truncated = write_file(dir.file("cut.zst"), whole.substr(0, whole.size() / 2));
  try {
    CompressedReader(truncated).read_rest();
    FAIL() << "truncated zstd must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("cut.zst"), std::string::npos) << error.what();
  }
  std::string gz_bytes;
  {
    auto path = write_gzip(dir.file("whole.gz"), big);
    std::ifstream in(path, std::ios::binary);
    gz_bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  gz_bytes[gz_bytes.size() / 2] ^= 0x55;
  auto corrupt = write_file(dir.file("bad.gz"), gz_bytes.substr(0, gz_bytes.size() - 4));
  EXPECT_THROW(CompressedReader(corrupt).read_rest(), Error);
}

}  // namespace
}  // namespace ember::data
