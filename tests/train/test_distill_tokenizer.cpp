// Distillation's shared-tokenizer rule: different tokenizers stop the run with a message naming
// both sides; vocabulary padding (extra embedding rows) is allowed and sliced off; too few rows
// are refused.
#include <gtest/gtest.h>

#include "core/error.h"
#include "data/tokenizer/tokenizer.h"
#include "data/tokenizer/tokenizer_json.h"
#include "tests/data/test_tokenizer_util.h"
#include "train/distill/teacher.h"

namespace ember::train::distill {
namespace {

data::Tokenizer tokenizer_with(const std::vector<std::pair<std::string, std::string>>& merges) {
  auto json = data::testing::make_tokenizer_json(merges, {"<|eos|>"}).dump();
  return data::Tokenizer(data::parse_tokenizer_json(json, "test"), "test");
}

TEST(DistillTokenizer, MismatchFailsNamingBothSides) {
  auto a = tokenizer_with({{"a", "b"}});
  auto b = tokenizer_with({{"c", "d"}});
  try {
    shared_vocabulary({&a, 300, "teacher checkpoint 'T'"}, {&b, 300, "student checkpoint 'S'"});
    FAIL() << "expected an error";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("tokenizers differ"), std::string::npos) << message;
    EXPECT_NE(message.find("'T'"), std::string::npos) << message;
    EXPECT_NE(message.find("'S'"), std::string::npos) << message;
  }
}

TEST(DistillTokenizer, PaddedVocabulariesShareTheTokenizerVocabulary) {
  auto a = tokenizer_with({{"a", "b"}});
  auto b = tokenizer_with({{"a", "b"}});
  const int64_t vocab = a.vocab_size();
  EXPECT_EQ(shared_vocabulary({&a, vocab + 64, "teacher"}, {&b, vocab, "student"}), vocab);
  EXPECT_THROW(shared_vocabulary({&a, vocab - 1, "teacher"}, {&b, vocab, "student"}), Error);
}

}  // namespace
}  // namespace ember::train::distill
