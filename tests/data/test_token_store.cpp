// HDF5 token store: layout round trips (uint16 / uint32, compressed, many chunks) and every
// validation error TokenStore::open reports, each naming the file.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/hdf5_util.h"
#include "data/token_store.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::kTestTokenizerSha;
using testing::ScratchDir;
using testing::write_store;

const std::vector<std::vector<int32_t>> kDocuments = {{5, 6, 7}, {}, {8}, {9, 10, 11, 12, 13, 14, 15, 16, 17, 18}};

// Opens a written store read-write so a test can corrupt one part of it.
class RawFile {
 public:
  explicit RawFile(const std::string& path)
      : path_(path),
        file_(h5::checked_file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), path, "open for corruption")) {}
  hid_t get() const { return file_.get(); }

  void remove(const char* name) { h5::check(H5Ldelete(file_.get(), name, H5P_DEFAULT), path_, "delete"); }

  template <typename T>
  void replace(const char* name, hid_t file_type, hid_t memory_type, const std::vector<T>& values) {
    remove(name);
    hsize_t count = values.size();
    h5::Handle space = h5::checked_space(H5Screate_simple(1, &count, nullptr), path_, "space");
    h5::Handle dataset = h5::checked_dataset(
        H5Dcreate2(file_.get(), name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), path_, "create");
    h5::check(H5Dwrite(dataset.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path_, "write");
  }

 private:
  std::string path_;
  h5::Handle file_;
};

// Expects TokenStore::open(path) to throw ember::Error whose message names the file and contains `problem`.
void expect_open_error(const std::string& path, const std::string& problem,
                       const std::optional<std::string>& expected_sha = {}) {
  try {
    TokenStore::open(path, expected_sha);
    FAIL() << "opening " << path << " should fail with: " << problem;
  } catch (const Error& error) {
    std::string message = error.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TokenStoreWriterOptions small_vocab_options() {
  TokenStoreWriterOptions options;
  options.vocab_size = 10;
  options.tokenizer_sha256 = kTestTokenizerSha;
  return options;
}

TEST(TokenStore, RoundTripUint16) {
  ScratchDir dir;
  auto path = write_store(dir.file("small.h5"), kDocuments, 1000, 3);
  auto store = TokenStore::open(path, kTestTokenizerSha);
  EXPECT_EQ(store.vocab_size(), 1000);
  EXPECT_EQ(store.eos_id(), 3);
  EXPECT_EQ(store.token_bytes(), 2);
  EXPECT_EQ(store.tokenizer_sha256(), kTestTokenizerSha);
  EXPECT_EQ(store.sources(), std::vector<std::string>{"unit-test.txt"});
  EXPECT_EQ(store.num_documents(), 4);
  EXPECT_EQ(store.num_tokens(), 14);
  EXPECT_EQ(std::vector<uint64_t>(store.doc_offsets().begin(), store.doc_offsets().end()),
            (std::vector<uint64_t>{0, 3, 3, 4, 14}));
  for (size_t d = 0; d < kDocuments.size(); ++d) EXPECT_EQ(store.document(int64_t(d)), kDocuments[d]);
  std::vector<int32_t> middle(4);
  store.read_tokens(2, 4, middle.data());
  EXPECT_EQ(middle, (std::vector<int32_t>{7, 8, 9, 10}));
  EXPECT_THROW(store.read_tokens(10, 5, middle.data()), Error);
  EXPECT_THROW(store.document_length(4), Error);
}

TEST(TokenStore, RoundTripUint32Compressed) {
  ScratchDir dir;
  std::vector<std::vector<int32_t>> documents = {{70000, 1, 99999}, {65536, 65535}};
  auto path = write_store(dir.file("wide.h5"), documents, 100000, 99999, 6);
  {
    auto store = TokenStore::open(path);
    EXPECT_EQ(store.token_bytes(), 4);
    EXPECT_EQ(store.document(0), documents[0]);
    EXPECT_EQ(store.document(1), documents[1]);
  }
  RawFile raw(path);
  h5::Handle tokens = h5::checked_dataset(H5Dopen2(raw.get(), "tokens", H5P_DEFAULT), path, "open");
  h5::Handle type = h5::checked_type(H5Dget_type(tokens.get()), path, "type");
  EXPECT_EQ(h5::describe_type(type.get()), "uint32");
}

TEST(TokenStore, StreamsManyChunks) {
  ScratchDir dir;
  std::vector<std::vector<int32_t>> documents;
  for (int d = 0; d < 500; ++d) {
    std::vector<int32_t> document;
    for (int t = 0; t < d % 37; ++t) document.push_back((d * 31 + t) % 1000);
    documents.push_back(document);
  }
  auto path = write_store(dir.file("many.h5"), documents, 1000, 0, 1, 16);
  auto store = TokenStore::open(path);
  ASSERT_EQ(store.num_documents(), 500);
  for (int d = 0; d < 500; ++d) ASSERT_EQ(store.document(d), documents[size_t(d)]) << "document " << d;
}

TEST(TokenStore, WriterRejectsIdsOutsideVocabAndLeavesNoFile) {
  ScratchDir dir;
  auto path = dir.file("bad.h5");
  {
    TokenStoreWriter writer(path, small_vocab_options());
    writer.add_document(std::vector<int32_t>{1, 2});
    EXPECT_THROW(writer.add_document(std::vector<int32_t>{1, 10}), Error);
    EXPECT_THROW(writer.add_document(std::vector<int32_t>{-1}), Error);
    EXPECT_EQ(writer.num_documents(), 1);
  }
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(std::filesystem::path(path).parent_path()));
}

TEST(TokenStore, WriterRejectsBadOptions) {
  ScratchDir dir;
  auto options = small_vocab_options();
  options.eos_id = 10;
  EXPECT_THROW(TokenStoreWriter(dir.file("a.h5"), options), UsageError);
  options.eos_id = 0;
  options.compression = 10;
  EXPECT_THROW(TokenStoreWriter(dir.file("a.h5"), options), UsageError);
  options.compression = 0;
  options.tokenizer_sha256 = "abc";
  EXPECT_THROW(TokenStoreWriter(dir.file("a.h5"), options), UsageError);
}

TEST(TokenStore, ErrorMissingFile) {
  ScratchDir dir;
  expect_open_error(dir.file("absent.h5"), "file not found");
}

TEST(TokenStore, ErrorNotHdf5) {
  ScratchDir dir;
  auto path = dir.file("text.h5");
  std::ofstream(path) << "this is not HDF5\n";
  expect_open_error(path, "not an HDF5 file");
}

TEST(TokenStore, ErrorMissingDataset) {
  ScratchDir dir;
  for (const char* name : {"tokens", "doc_offsets"}) {
    auto path = write_store(dir.file(std::string("missing_") + name + ".h5"), kDocuments);
    RawFile(path).remove(name);
    expect_open_error(path, std::string("missing dataset '") + name + "'");
  }
}

TEST(TokenStore, ErrorWrongTokenDtype) {
  ScratchDir dir;
  auto path = write_store(dir.file("int32.h5"), kDocuments);
  RawFile(path).replace("tokens", H5T_STD_I32LE, H5T_NATIVE_INT32, std::vector<int32_t>(14, 1));
  expect_open_error(path, "dataset 'tokens' has type int32; expected uint16 (vocab_size 1000)");

  auto wide = write_store(dir.file("wide.h5"), kDocuments);
  RawFile(wide).replace("tokens", H5T_STD_U32LE, H5T_NATIVE_UINT32, std::vector<uint32_t>(14, 1));
  expect_open_error(wide, "dataset 'tokens' has type uint32; expected uint16");
}

TEST(TokenStore, ErrorWrongOffsetsDtype) {
  ScratchDir dir;
  auto path = write_store(dir.file("float.h5"), kDocuments);
  RawFile(path).replace("doc_offsets", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, std::vector<double>{0, 3, 3, 4, 14});
  expect_open_error(path, "dataset 'doc_offsets' has type float64; expected uint64");
}

TEST(TokenStore, ErrorBadOffsets) {
  ScratchDir dir;
  struct Case {
    std::vector<uint64_t> offsets;
    std::string problem;
  };
  std::vector<Case> cases = {
      {{1, 3, 3, 4, 14}, "doc_offsets[0] is 1; expected 0"},
      {{0, 5, 3, 4, 14}, "doc_offsets decreases at entry 2 (3 after 5)"},
      {{0, 3, 3, 4, 13}, "doc_offsets ends at 13 but 'tokens' has 14 entries"},
      {{0, 3, 4, 14}, "'doc_offsets' has 4 entries but num_documents is 4"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    auto path = write_store(dir.file("offsets" + std::to_string(i) + ".h5"), kDocuments);
    RawFile(path).replace("doc_offsets", H5T_STD_U64LE, H5T_NATIVE_UINT64, cases[i].offsets);
    expect_open_error(path, cases[i].problem);
  }
}

TEST(TokenStore, ErrorIdNotBelowVocab) {
  ScratchDir dir;
  auto path = write_store(dir.file("ids.h5"), kDocuments, 1000);
  {
    RawFile raw(path);
    h5::write_int_attribute(raw.get(), "vocab_size", 12, path);
  }
  expect_open_error(path, "token 7 (document 3) has id 12, not below vocab_size 12");
}

TEST(TokenStore, ErrorTokenizerHashMismatch) {
  ScratchDir dir;
  auto path = write_store(dir.file("hash.h5"), kDocuments);
  std::string other(64, 'b');
  expect_open_error(path, "written with tokenizer sha256 " + kTestTokenizerSha, other);
  EXPECT_NO_THROW(TokenStore::open(path, kTestTokenizerSha));
}

TEST(TokenStore, ErrorAttributesAndCounts) {
  ScratchDir dir;
  auto missing = write_store(dir.file("attr.h5"), kDocuments);
  h5::check(H5Adelete(RawFile(missing).get(), "eos_id"), missing, "delete attribute");
  expect_open_error(missing, "missing attribute 'eos_id'");

  auto count = write_store(dir.file("count.h5"), kDocuments);
  h5::write_int_attribute(RawFile(count).get(), "num_tokens", 15, count);
  expect_open_error(count, "dataset 'tokens' has 14 entries but num_tokens is 15");

  auto format = write_store(dir.file("format.h5"), kDocuments);
  h5::write_string_attribute(RawFile(format).get(), "format", "something.else", format);
  expect_open_error(format, "attribute 'format' is 'something.else'");

  auto typed = write_store(dir.file("typed.h5"), kDocuments);
  h5::write_string_attribute(RawFile(typed).get(), "vocab_size", "1000", typed);
  expect_open_error(typed, "attribute 'vocab_size' has type string; expected one integer");
}

}  // namespace
}  // namespace ember::data
