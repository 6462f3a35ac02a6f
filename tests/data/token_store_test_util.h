// Helpers shared by the token store and loader tests: a scratch directory per test and a
// one-call writer of small stores.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "data/token_store.h"

namespace ember::data::testing {

inline const std::string kTestTokenizerSha = std::string(64, 'a');

/// A fresh directory under the system temp dir, named after the running test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("ember_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Writes `documents` as a store at `path` and returns the path.
inline std::string write_store(const std::string& path, const std::vector<std::vector<int32_t>>& documents,
                               int64_t vocab_size = 1000, int32_t eos_id = 0, int compression = 0,
                               int64_t chunk_tokens = 64) {
  TokenStoreWriterOptions options;
  options.vocab_size = vocab_size;
  options.eos_id = eos_id;
  options.tokenizer_sha256 = kTestTokenizerSha;
  options.sources = {"unit-test.txt"};
  options.compression = compression;
  options.chunk_tokens = chunk_tokens;
  TokenStoreWriter writer(path, options);
  for (const auto& document : documents) writer.add_document(document);
  writer.finish();
  return path;
}

}  // namespace ember::data::testing
