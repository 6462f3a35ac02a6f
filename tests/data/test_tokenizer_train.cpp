// Tokenizer training: special tokens come first and are never split, the vocabulary reaches the
// requested size, frequent words become single tokens, min frequency stops merging, inputs are
// read from text and JSONL files, and bad options or inputs fail with clear messages.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "data/tokenizer/trainer.h"

using namespace ember;
using namespace ember::data;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) {
    texts.push_back("the cat sat on the mat; the dog sat on the log. 2024-01-" + std::to_string(10 + i % 20));
    texts.push_back("<think>count the cats</think><answer>" + std::to_string(i) + "</answer>");
  }
  return texts;
}

class TokenizerTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ember_tokenizer_train_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(TokenizerTrain, SpecialTokensFirstThenBytesThenMerges) {
  TrainOptions options;
  options.vocab_size = 300;
  Tokenizer tokenizer = train_tokenizer_on_texts(corpus(), options);
  for (size_t i = 0; i < kDefaultSpecialTokens.size(); ++i)
    EXPECT_EQ(tokenizer.token_to_id(kDefaultSpecialTokens[i]), int32_t(i));
  EXPECT_EQ(tokenizer.token_to_id("!"), int32_t(kDefaultSpecialTokens.size()) + '!');
  EXPECT_EQ(tokenizer.vocab_size(), 300);
  EXPECT_EQ(tokenizer.spec().merges.size(), 300u - 256 - kDefaultSpecialTokens.size());
}

TEST_F(TokenizerTrain, FrequentWordsBecomeOneTokenAndSpecialsStayWhole) {
  TrainOptions options;
  options.vocab_size = 400;
  Tokenizer tokenizer = train_tokenizer_on_texts(corpus(), options);
  EXPECT_EQ(tokenizer.encode(" the").size(), 1u);
  EXPECT_EQ(tokenizer.encode(" sat").size(), 1u);
  std::vector<int32_t> ids = tokenizer.encode("<think>x</think>");
  EXPECT_EQ(ids.front(), *tokenizer.token_to_id("<think>"));
  EXPECT_EQ(ids.back(), *tokenizer.token_to_id("</think>"));
  EXPECT_EQ(tokenizer.decode(ids), "<think>x</think>");
}

TEST_F(TokenizerTrain, MinFrequencyStopsEarly) {
  TrainOptions options;
  options.vocab_size = 5000;
  options.min_frequency = 40;
  Tokenizer tokenizer = train_tokenizer_on_texts(corpus(), options);
  EXPECT_LT(tokenizer.vocab_size(), 5000);
  EXPECT_GT(tokenizer.spec().merges.size(), 0u);
}

TEST_F(TokenizerTrain, ReadsTextAndJsonlFiles) {
  std::string text_path = (dir_ / "corpus.txt").string();
  std::string jsonl_path = (dir_ / "corpus.jsonl").string();
  {
    std::ofstream text(text_path), jsonl(jsonl_path);
    for (const auto& line : corpus()) {
      text << line << "\n";
      jsonl << nlohmann::json{{"body", line}, {"id", 1}}.dump() << "\n\n";
    }
  }
  TrainOptions options;
  options.vocab_size = 350;
  options.jsonl_field = "body";
  Tokenizer from_text = train_tokenizer({text_path}, options);
  Tokenizer from_jsonl = train_tokenizer({jsonl_path}, options);
  EXPECT_EQ(from_text.sha256(), from_jsonl.sha256());
  EXPECT_EQ(from_text.encode(" the cat sat").size(), 3u);
}

TEST_F(TokenizerTrain, BadInputsAndOptionsFailClearly) {
  TrainOptions options;
  options.vocab_size = 100;
  EXPECT_THROW(train_tokenizer_on_texts(corpus(), options), UsageError);
  options.vocab_size = 400;
  options.special_tokens = {"<x>", "<x>"};
  EXPECT_THROW(train_tokenizer_on_texts(corpus(), options), UsageError);
  options.special_tokens = kDefaultSpecialTokens;
  std::string missing = (dir_ / "missing.txt").string();
  try {
    train_tokenizer({missing}, options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  std::string bad_jsonl = (dir_ / "bad.jsonl").string();
  std::ofstream(bad_jsonl) << "{\"text\": \"ok\"}\n{\"other\": 1}\n";
  try {
    train_tokenizer({bad_jsonl}, options);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(bad_jsonl + ":2"), std::string::npos) << e.what();
  }
}
