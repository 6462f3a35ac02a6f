// `ember data prepare`'s pipeline: tokens decode back to the inputs, a folder becomes one document
// per file with binary / empty / non-UTF-8 files skipped and counted, no documents is an error,
// shards split at document boundaries, bad inputs name file and line.
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/token_store.h"
#include "data/token_store_prepare.h"
#include "data/tokenizer/trainer.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::ScratchDir;

const std::vector<std::string> kTexts = {"The quick brown fox\njumps over the lazy dog.", "Second document: 12 + 30 = 42.",
                                         "Ünïcödé text, emoji 🎉 and tabs\tinside."};

Tokenizer small_tokenizer() {
  TrainOptions options;
  options.vocab_size = 300;
  options.min_frequency = 1;
  return train_tokenizer_on_texts(kTexts, options);
}

std::string write_text(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(TokenStorePrepare, WritesDecodableStore) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  auto text = write_text(dir.file("a.txt"), kTexts[0] + "\n\n" + kTexts[1] + "\n");
  auto jsonl = write_text(dir.file("b.jsonl"), nlohmann::json{{"text", kTexts[2]}}.dump() + "\n");
  PrepareOptions options;
  options.inputs = {text, jsonl};
  options.unit = DocumentUnit::kBlankLine;  // a.txt's blocks; b.jsonl is read by records anyway
  options.out = dir.file("out.h5");
  options.compression = 4;
  PrepareSummary summary = prepare_token_store(tokenizer, options);
  ASSERT_EQ(summary.files, std::vector<std::string>{options.out});
  EXPECT_EQ(summary.documents, 3);
  EXPECT_EQ(summary.input_files, 2);

  auto store = TokenStore::open(options.out, tokenizer.sha256());
  EXPECT_EQ(store.vocab_size(), tokenizer.vocab_size());
  EXPECT_EQ(store.eos_id(), *tokenizer.token_to_id("<|eos|>"));
  EXPECT_EQ(store.sources(), options.inputs);
  EXPECT_EQ(store.num_tokens(), summary.tokens);
  for (int64_t d = 0; d < 3; ++d) EXPECT_EQ(tokenizer.decode(store.document(d)), kTexts[size_t(d)]);
}

TEST(TokenStorePrepare, FolderOfFilesIsOneDocumentPerFileAndSkipsWhatItCannotRead) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  std::filesystem::create_directories(dir.file("src/sub"));
  write_text(dir.file("src/b.py"), kTexts[1] + "\n\n\n" + kTexts[0] + "\n");  // blank lines stay inside
  write_text(dir.file("src/sub/a.md"), kTexts[2]);
  write_text(dir.file("src/empty.txt"), "  \n\n");
  write_text(dir.file("src/image.bin"), std::string("PNG\0\1\2", 6));
  write_text(dir.file("src/latin1.txt"), "caf\xe9");
  PrepareOptions options;
  options.inputs = {dir.file("src")};
  options.out = dir.file("out.h5");
  PrepareSummary summary = prepare_token_store(tokenizer, options);
  EXPECT_EQ(summary.documents, 2);
  EXPECT_EQ(summary.input_files, 2);
  EXPECT_EQ(summary.skipped, (std::map<std::string, int64_t>{{"binary", 1}, {"empty", 1}, {"not UTF-8", 1}}));
  EXPECT_NE(summary.describe().find("skipped 3 files (1 binary, 1 empty, 1 not UTF-8)"), std::string::npos)
      << summary.describe();
  auto store = TokenStore::open(options.out);
  EXPECT_EQ(tokenizer.decode(store.document(0)), kTexts[1] + "\n\n\n" + kTexts[0] + "\n");  // src/b.py first
  EXPECT_EQ(tokenizer.decode(store.document(1)), kTexts[2]);
}

TEST(TokenStorePrepare, InputsWithoutDocumentsAreAnErrorAndWriteNothing) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  PrepareOptions options;
  options.inputs = {write_text(dir.file("blank.txt"), "\n \n")};
  options.out = dir.file("out.h5");
  try {
    prepare_token_store(tokenizer, options);
    FAIL() << "no documents must fail";
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("yield no documents"), std::string::npos) << error.what();
  }
  EXPECT_FALSE(std::filesystem::exists(options.out));
}

TEST(TokenStorePrepare, InvalidUtf8InsideLineDocumentsNamesFileAndLine) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  PrepareOptions options;
  options.inputs = {write_text(dir.file("lines.txt"), "fine\nbad \xff byte\n")};
  options.unit = DocumentUnit::kLine;
  options.out = dir.file("out.h5");
  try {
    prepare_token_store(tokenizer, options);
    FAIL() << "invalid UTF-8 must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("lines.txt:2: invalid UTF-8 at byte 4"), std::string::npos)
        << error.what();
  }
}

TEST(TokenStorePrepare, ShardsAtDocumentBoundaries) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  std::string contents;
  for (int i = 0; i < 30; ++i) contents += kTexts[size_t(i % 3)] + "\n\n";
  PrepareOptions options;
  options.inputs = {write_text(dir.file("many.txt"), contents)};
  options.unit = DocumentUnit::kBlankLine;
  options.out = dir.file("shards.h5");
  options.shard_tokens = 100;
  PrepareSummary summary = prepare_token_store(tokenizer, options);
  ASSERT_GT(summary.files.size(), 2u);
  EXPECT_EQ(summary.files[0], dir.file("shards-00000.h5"));
  int64_t documents = 0, tokens = 0;
  for (const auto& file : summary.files) {
    auto store = TokenStore::open(file);
    documents += store.num_documents();
    tokens += store.num_tokens();
    if (file != summary.files.back()) {
      EXPECT_GE(store.num_tokens(), 100);
    }
  }
  EXPECT_EQ(documents, 30);
  EXPECT_EQ(tokens, summary.tokens);
}

TEST(TokenStorePrepare, UnknownEosIsAUsageError) {
  Tokenizer tokenizer = small_tokenizer();
  EXPECT_THROW(resolve_eos_id(tokenizer, "<|nope|>"), UsageError);
  EXPECT_EQ(resolve_eos_id(tokenizer, ""), *tokenizer.token_to_id("<|eos|>"));
}

}  // namespace
}  // namespace ember::data
