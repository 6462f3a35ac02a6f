// `ember data prepare`'s pipeline: text blocks and JSONL records become documents, tokens decode
// back to the inputs, shards split at document boundaries, bad inputs name file and line.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/document_reader.h"
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

TEST(TokenStorePrepare, TextBlocksAndJsonlRecordsAreDocuments) {
  ScratchDir dir;
  auto text = write_text(dir.file("in.txt"), "\n\n" + kTexts[0] + "\n\n  \n" + kTexts[1] + "\n");
  DocumentReader text_reader(text);
  EXPECT_EQ(text_reader.next(), kTexts[0]);
  EXPECT_EQ(text_reader.document_line(), 3u);
  EXPECT_EQ(text_reader.next(), kTexts[1]);
  EXPECT_EQ(text_reader.next(), std::nullopt);

  auto jsonl = write_text(dir.file("in.jsonl"), "{\"body\": \"a\\nb\"}\n\n{\"body\": \"\"}\n{\"body\": \"c\"}\n");
  DocumentReader jsonl_reader(jsonl, "body");
  EXPECT_EQ(jsonl_reader.next(), "a\nb");
  EXPECT_EQ(jsonl_reader.next(), "c");
  EXPECT_EQ(jsonl_reader.document_line(), 4u);
  EXPECT_EQ(jsonl_reader.next(), std::nullopt);
}

TEST(TokenStorePrepare, BadJsonlNamesFileAndLine) {
  ScratchDir dir;
  auto jsonl = write_text(dir.file("bad.jsonl"), "{\"text\": \"ok\"}\n{\"other\": 1}\n");
  DocumentReader reader(jsonl);
  reader.next();
  try {
    reader.next();
    FAIL() << "a record without the field must fail";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find(jsonl + ":2: no string field 'text'"), std::string::npos) << error.what();
  }
  EXPECT_THROW(DocumentReader(dir.file("absent.txt")), Error);
}

TEST(TokenStorePrepare, WritesDecodableStore) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  auto text = write_text(dir.file("a.txt"), kTexts[0] + "\n\n" + kTexts[1] + "\n");
  auto jsonl = write_text(dir.file("b.jsonl"), nlohmann::json{{"text", kTexts[2]}}.dump() + "\n");
  PrepareOptions options;
  options.inputs = {text, jsonl};
  options.out = dir.file("out.h5");
  options.compression = 4;
  PrepareSummary summary = prepare_token_store(tokenizer, options);
  ASSERT_EQ(summary.files, std::vector<std::string>{options.out});
  EXPECT_EQ(summary.documents, 3);

  auto store = TokenStore::open(options.out, tokenizer.sha256());
  EXPECT_EQ(store.vocab_size(), tokenizer.vocab_size());
  EXPECT_EQ(store.eos_id(), *tokenizer.token_to_id("<|eos|>"));
  EXPECT_EQ(store.sources(), options.inputs);
  EXPECT_EQ(store.num_tokens(), summary.tokens);
  for (int64_t d = 0; d < 3; ++d) EXPECT_EQ(tokenizer.decode(store.document(d)), kTexts[size_t(d)]);
}

TEST(TokenStorePrepare, ShardsAtDocumentBoundaries) {
  ScratchDir dir;
  Tokenizer tokenizer = small_tokenizer();
  std::string contents;
  for (int i = 0; i < 30; ++i) contents += kTexts[size_t(i % 3)] + "\n\n";
  PrepareOptions options;
  options.inputs = {write_text(dir.file("many.txt"), contents)};
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
