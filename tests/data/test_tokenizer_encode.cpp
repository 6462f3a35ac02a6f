// Tokenizer encode / decode: merges by rank (against a reference loop, short and long words),
// special tokens, pre-tokenization pieces, NFC, ignore_merges, prefix spaces, invalid UTF-8,
// batch encoding, and the round-trip property decode(encode(x)) == x on random UTF-8.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/regex_splitter.h"
#include "data/tokenizer/tokenizer.h"
#include "data/tokenizer/trainer.h"
#include "tests/data/test_tokenizer_util.h"

using namespace ember;
using namespace ember::data;
using ember::data::testing::make_tokenizer_json;
using ember::data::testing::random_utf8;
using ember::data::testing::reference_bpe;

namespace {

using Merges = std::vector<std::pair<std::string, std::string>>;

const Merges kHelloMerges = {{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}, {" w", "o"}};

Tokenizer from_spec_json(const nlohmann::ordered_json& json) { return Tokenizer::from_json(json.dump(), "test.json"); }

std::vector<std::string> tokens_of(const Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(tokenizer.decode_bytes(std::span<const int32_t>(&id, 1)));
  return out;
}

/// A tokenizer trained on a small mixed corpus, shared by the property tests.
const Tokenizer& trained() {
  static const Tokenizer tokenizer = [] {
    std::mt19937_64 rng(7);
    std::vector<std::string> texts;
    for (int i = 0; i < 300; ++i) texts.push_back(random_utf8(rng, 200));
    for (int i = 0; i < 200; ++i)
      texts.push_back("The quick brown fox jumps over the lazy dog 12345 times. <think>why?</think>\n\t");
    TrainOptions options;
    options.vocab_size = 1200;
    options.threads = 2;
    return train_tokenizer_on_texts(texts, options);
  }();
  return tokenizer;
}

}  // namespace

TEST(TokenizerEncode, MergesApplyByRank) {
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json(kHelloMerges));
  EXPECT_EQ(tokens_of(tokenizer, tokenizer.encode("hello")), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(tokens_of(tokenizer, tokenizer.encode("hello world")),
            (std::vector<std::string>{"hello", " wo", "r", "l", "d"}));
  EXPECT_EQ(tokens_of(tokenizer, tokenizer.encode("hell")), (std::vector<std::string>{"hell"}));
}

TEST(TokenizerEncode, EqualRanksMergeLeftmostFirst) {
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json({{"a", "a"}}));
  EXPECT_EQ(tokens_of(tokenizer, tokenizer.encode("aaa")), (std::vector<std::string>{"aa", "a"}));
  EXPECT_EQ(tokens_of(tokenizer, tokenizer.encode("aaaaa")), (std::vector<std::string>{"aa", "aa", "a"}));
}

TEST(TokenizerEncode, ShortAndLongWordsMatchReferenceBpe) {
  const Merges merges = {{"a", "b"}, {"b", "a"}, {"ab", "a"}, {"a", "a"}, {"ab", "ab"}, {"ba", "b"},
                         {"b", "b"}, {"aba", "b"}, {"abab", "ab"}, {"bb", "a"}, {"aa", "b"}};
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json(merges));
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 300; ++trial) {
    size_t length = 1 + rng() % (trial % 2 ? 200 : 40);
    std::string word;
    for (size_t i = 0; i < length; ++i) word += "ab"[rng() % 2];
    EXPECT_EQ(tokens_of(tokenizer, tokenizer.encode(word)), reference_bpe(word, merges)) << word;
  }
}

TEST(TokenizerEncode, PreTokenizerSplitsWordsNumbersAndSpaces) {
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json({}));
  std::vector<int32_t> ids = tokenizer.encode("ab 1234  x");
  // GPT-4 pieces: "ab", " ", "123", "4", " ", " x" -> bytes, unmerged.
  EXPECT_EQ(tokenizer.decode(ids), "ab 1234  x");
  EXPECT_EQ(ids.size(), 10u);
}

TEST(TokenizerEncode, SpecialTokensAreMatchedBeforePreTokenization) {
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json(kHelloMerges, {"<|eos|>", "<think>", "<think>>"}));
  auto eos = tokenizer.token_to_id("<|eos|>");
  auto think = tokenizer.token_to_id("<think>");
  auto longer = tokenizer.token_to_id("<think>>");
  ASSERT_TRUE(eos && think && longer);
  std::vector<int32_t> ids = tokenizer.encode("hello<|eos|>hello<think>x<think>>");
  std::vector<int32_t> hello = tokenizer.encode("hello");
  ASSERT_EQ(hello.size(), 1u);
  std::vector<int32_t> x = tokenizer.encode("x");
  EXPECT_EQ(ids, (std::vector<int32_t>{hello[0], *eos, hello[0], *think, x[0], *longer}));
  EXPECT_EQ(tokenizer.decode(ids), "hello<|eos|>hello<think>x<think>>");
  EXPECT_EQ(tokenizer.id_to_token(*eos), "<|eos|>");
}

TEST(TokenizerEncode, ByteLevelAloneWithPrefixSpace) {
  auto json = make_tokenizer_json(kHelloMerges);
  json["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  Tokenizer tokenizer = from_spec_json(json);
  std::vector<int32_t> ids = tokenizer.encode("wo");
  EXPECT_EQ(tokens_of(tokenizer, ids), (std::vector<std::string>{" wo"}));
}

TEST(TokenizerEncode, IgnoreMergesEmitsWholeVocabularyWords) {
  auto json = make_tokenizer_json({{"a", "b"}, {"c", "d"}, {"b", "c"}, {"a", "bc"}});
  // "abcd" is not reachable by merges, but with ignore_merges a vocab entry wins outright.
  json["model"]["vocab"][bytes_to_byte_level("abcd")] = 999;
  Tokenizer merging = from_spec_json(json);
  EXPECT_EQ(tokens_of(merging, merging.encode("abcd")), (std::vector<std::string>{"ab", "cd"}));
  json["model"]["ignore_merges"] = true;
  Tokenizer ignoring = from_spec_json(json);
  EXPECT_EQ(ignoring.encode("abcd"), (std::vector<int32_t>{999}));
}

TEST(TokenizerEncode, NfcNormalizerComposesCharacters) {
  auto json = make_tokenizer_json({});
  json["normalizer"] = {{"type", "NFC"}};
  Tokenizer tokenizer = from_spec_json(json);
  EXPECT_EQ(tokenizer.encode("e\xCC\x81"), tokenizer.encode("\xC3\xA9"));
  EXPECT_EQ(tokenizer.decode(tokenizer.encode("cafe\xCC\x81")), "caf\xC3\xA9");
}

TEST(TokenizerEncode, InvalidUtf8IsRejectedWithItsOffset) {
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json({}));
  try {
    tokenizer.encode("ok\xFFok");
    FAIL() << "expected ember::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("offset 2"), std::string::npos) << e.what();
  }
}

TEST(TokenizerDecode, InvalidBytesBecomeReplacementCharacters) {
  Tokenizer tokenizer = from_spec_json(make_tokenizer_json({}));
  // The first byte of "é" alone, then "a": one U+FFFD for the truncated sequence.
  std::vector<int32_t> ids = {0xC3, 'a'};
  EXPECT_EQ(tokenizer.decode(ids), "\xEF\xBF\xBD" "a");
  EXPECT_EQ(tokenizer.decode_bytes(ids), "\xC3" "a");
  std::vector<int32_t> bad = {100000};
  EXPECT_THROW(tokenizer.decode(bad), Error);
}

TEST(TokenizerEncode, RepairUtf8ReplacesMaximalSubparts) {
  EXPECT_EQ(repair_utf8("a\xF0\x9F\x98"), "a\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("fine \xE2\x82\xAC"), "fine \xE2\x82\xAC");
}

TEST(TokenizerEncode, RoundTripsRandomUtf8) {
  const Tokenizer& tokenizer = trained();
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text = random_utf8(rng, rng() % 120);
    if (trial % 5 == 0) text += "<|eos|>" + random_utf8(rng, 5) + "</think>";
    std::vector<int32_t> ids = tokenizer.encode(text);
    ASSERT_EQ(tokenizer.decode(ids), text) << "trial " << trial;
  }
}

TEST(TokenizerEncode, BatchEqualsSequential) {
  const Tokenizer& tokenizer = trained();
  std::mt19937_64 rng(5);
  std::vector<std::string> texts;
  for (int i = 0; i < 300; ++i) texts.push_back(random_utf8(rng, rng() % 300));
  auto batch = tokenizer.encode_batch(texts, 4);
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], tokenizer.encode(texts[i]));
  texts.push_back("bad \xFF");
  EXPECT_THROW(tokenizer.encode_batch(texts, 3), Error);
}

TEST(TokenizerEncode, WhitespaceFollowsOnigurumaNotPcre2) {
  EXPECT_EQ(oniguruma_whitespace_to_pcre2(R"(\s+(?!\S)|[^\s\p{L}]|\\s)"),
            R"(\p{White_Space}+(?!\P{White_Space})|[^\p{White_Space}\p{L}]|\\s)");
  RegexSplitter splitter{std::string(kGpt4SplitPattern)};
  std::vector<std::string> pieces;
  // U+180E is not White_Space: " \u180E" is one punctuation-like piece, as in `tokenizers`.
  splitter.for_each_piece(" \xE1\xA0\x8Ex", [&](std::string_view piece) { pieces.emplace_back(piece); });
  EXPECT_EQ(pieces, (std::vector<std::string>{" \xE1\xA0\x8E", "x"}));
}
