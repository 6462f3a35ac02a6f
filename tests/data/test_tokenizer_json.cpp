// tokenizer.json loading and saving: both merges formats, save -> load round trips with a stable
// sha256, and every error path names the file and the unsupported feature.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "data/tokenizer/tokenizer.h"
#include "tests/data/test_tokenizer_util.h"

using namespace ember;
using namespace ember::data;
using ember::data::testing::make_tokenizer_json;
namespace fs = std::filesystem;

namespace {

const std::vector<std::pair<std::string, std::string>> kMerges = {{"l", "l"}, {"h", "e"}, {"he", "ll"}, {" ", "w"}};

class TokenizerJson : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ember_tokenizer_json_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  /// Loads `json` from a file and expects an error whose message names the file and `needle`.
  template <typename ErrorType>
  void expect_load_error(const std::string& text, const std::string& needle) {
    std::string path = write("bad.json", text);
    try {
      Tokenizer::load(path);
      FAIL() << "expected an error mentioning " << needle;
    } catch (const ErrorType& e) {
      std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << message;
      EXPECT_NE(message.find(needle), std::string::npos) << message;
    }
  }

  fs::path dir_;
};

}  // namespace

TEST_F(TokenizerJson, BothMergeFormatsLoadTheSame) {
  auto pairs = make_tokenizer_json(kMerges);
  auto strings = pairs;
  strings["model"]["merges"] = nlohmann::ordered_json::array();
  for (const auto& merge : pairs["model"]["merges"])
    strings["model"]["merges"].push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
  Tokenizer a = Tokenizer::load(write("pairs.json", pairs.dump()));
  Tokenizer b = Tokenizer::load(write("strings.json", strings.dump()));
  EXPECT_EQ(a.encode("hello world"), b.encode("hello world"));
  EXPECT_EQ(a.sha256(), b.sha256());
}

TEST_F(TokenizerJson, SaveThenLoadIsIdentical) {
  Tokenizer original = Tokenizer::from_json(make_tokenizer_json(kMerges, {"<|eos|>"}).dump(), "memory");
  std::string path = (dir_ / "saved.json").string();
  original.save(path);
  Tokenizer reloaded = Tokenizer::load(path);
  EXPECT_EQ(reloaded.sha256(), original.sha256());
  EXPECT_EQ(read_file(path), original.to_json());
  EXPECT_EQ(reloaded.encode("hello<|eos|> world"), original.encode("hello<|eos|> world"));
  EXPECT_EQ(reloaded.vocab_size(), original.vocab_size());
  EXPECT_EQ(reloaded.token_to_id("<|eos|>"), original.token_to_id("<|eos|>"));
  EXPECT_EQ(original.sha256().size(), 64u);
}

TEST_F(TokenizerJson, VocabSizeAndLookups) {
  Tokenizer tokenizer = Tokenizer::from_json(make_tokenizer_json(kMerges, {"<|eos|>"}).dump(), "memory");
  EXPECT_EQ(tokenizer.vocab_size(), 256 + 4 + 1);
  EXPECT_EQ(tokenizer.token_to_id("<|eos|>"), 260);
  EXPECT_EQ(tokenizer.token_to_id("\xC4\xA0w"), 259);  // "Ġw"
  EXPECT_FALSE(tokenizer.token_to_id("not a token").has_value());
  EXPECT_FALSE(tokenizer.id_to_token(5000).has_value());
}

TEST_F(TokenizerJson, MissingFileNamesThePath) {
  std::string path = (dir_ / "absent.json").string();
  try {
    Tokenizer::load(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST_F(TokenizerJson, MalformedJson) { expect_load_error<UsageError>("{\"model\": [", "malformed JSON"); }

// Found by fuzz_tokenizer_json: an id of INT32_MAX overflowed the table size, and an id of 2e8
// asked for 6 GB of per-id tables.
TEST_F(TokenizerJson, HugeIdsAreRejected) {
  for (int64_t huge : {int64_t(INT32_MAX), int64_t(200'000'000)}) {
    auto json = make_tokenizer_json(kMerges);
    json["model"]["vocab"]["zz"] = huge;
    expect_load_error<UsageError>(json.dump(), "token id " + std::to_string(huge) + " is too large");
    json = make_tokenizer_json(kMerges, {"<|eos|>"});
    json["added_tokens"][0]["id"] = huge;
    expect_load_error<UsageError>(json.dump(), "token id " + std::to_string(huge) + " is too large");
  }
}

TEST_F(TokenizerJson, UnsupportedModelType) {
  auto json = make_tokenizer_json(kMerges);
  json["model"]["type"] = "WordPiece";
  expect_load_error<UsageError>(json.dump(), "unsupported model type 'WordPiece'");
}

TEST_F(TokenizerJson, UnsupportedPreTokenizer) {
  auto json = make_tokenizer_json(kMerges);
  json["pre_tokenizer"] = {{"type", "Metaspace"}};
  expect_load_error<UsageError>(json.dump(), "unsupported pre-tokenizer [Metaspace]");
  json["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Digits"}}, {{"type", "ByteLevel"}}}}};
  expect_load_error<UsageError>(json.dump(), "unsupported pre-tokenizer [Digits, ByteLevel]");
  json["pre_tokenizer"] = nullptr;
  expect_load_error<UsageError>(json.dump(), "unsupported pre_tokenizer null");
}

TEST_F(TokenizerJson, UnsupportedSplitOptions) {
  auto json = make_tokenizer_json(kMerges);
  json["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed";
  expect_load_error<UsageError>(json.dump(), "Split behavior 'Removed'");
  json = make_tokenizer_json(kMerges);
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"String", " "}};
  expect_load_error<UsageError>(json.dump(), "String pattern");
}

TEST_F(TokenizerJson, UnsupportedNormalizer) {
  auto json = make_tokenizer_json(kMerges);
  json["normalizer"] = {{"type", "NFKC"}};
  expect_load_error<UsageError>(json.dump(), "unsupported normalizer 'NFKC'");
  json["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Lowercase"}}}}};
  expect_load_error<UsageError>(json.dump(), "unsupported normalizer 'Lowercase'");
}

TEST_F(TokenizerJson, UnsupportedDecoderAndModelOptions) {
  auto json = make_tokenizer_json(kMerges);
  json["decoder"] = {{"type", "WordPiece"}};
  expect_load_error<UsageError>(json.dump(), "unsupported decoder 'WordPiece'");
  json = make_tokenizer_json(kMerges);
  json["model"]["byte_fallback"] = true;
  expect_load_error<UsageError>(json.dump(), "byte_fallback");
  json = make_tokenizer_json(kMerges);
  json["model"]["continuing_subword_prefix"] = "##";
  expect_load_error<UsageError>(json.dump(), "continuing_subword_prefix");
  json = make_tokenizer_json(kMerges);
  json["added_tokens"] = {{{"id", 300}, {"content", "<x>"}, {"lstrip", true}}};
  expect_load_error<UsageError>(json.dump(), "lstrip=true");
}

TEST_F(TokenizerJson, MergesMustReferenceTheVocabulary) {
  auto json = make_tokenizer_json(kMerges);
  json["model"]["merges"].push_back({"zz", "q"});
  expect_load_error<UsageError>(json.dump(), "'zz', which is not in the vocabulary");
  json = make_tokenizer_json(kMerges);
  json["model"]["merges"].push_back("a b c");
  expect_load_error<UsageError>(json.dump(), "not two tokens");
}

TEST_F(TokenizerJson, BadRegexIsReported) {
  auto json = make_tokenizer_json(kMerges);
  json["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  expect_load_error<UsageError>(json.dump(), "invalid pre-tokenizer regex");
}
