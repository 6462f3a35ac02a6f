// The output guard: never an input (also through links), never a directory, an existing file only
// when it holds this command's kind of output.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/output_path.h"

namespace fs = std::filesystem;
using namespace ember;

namespace {

class OutputPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ember_output_path_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }

  /// An output whose own kind is a file starting with "STORE".
  CommandOutput store_output(const fs::path& path) const {
    return {"--out", path, "a token store", [](const fs::path& p) {
              std::ifstream in(p);
              std::string head(5, '\0');
              in.read(head.data(), 5);
              return head == "STORE";
            }};
  }

  /// The UsageError message of a refused output, or "" when it is allowed.
  std::string refusal(const fs::path& out, const std::vector<CommandInput>& inputs) const {
    try {
      check_output_path(store_output(out), inputs);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
};

}  // namespace

TEST_F(OutputPathTest, NewFileAndPreviousOutputAreAllowed) {
  EXPECT_EQ(refusal(dir_ / "new.h5", {}), "");
  auto previous = write("old.h5", "STORE v1");
  auto input = write("corpus.txt", "text");
  EXPECT_EQ(refusal(previous, {{"--input", input}}), "");
}

TEST_F(OutputPathTest, AnInputIsNeverAnOutputEvenThroughLinks) {
  auto input = write("tokenizer.json", "STORE looks like ours but is an input");
  auto message = refusal(input, {{"--input", write("a.txt", "a")}, {"--tokenizer", input}});
  EXPECT_NE(message.find("--out '" + input.string() + "' is the file given as --tokenizer"), std::string::npos)
      << message;

  fs::create_symlink(input, dir_ / "link.json");
  EXPECT_NE(refusal(dir_ / "link.json", {{"--tokenizer", input}}).find("is the file given as --tokenizer"),
            std::string::npos);
  fs::create_hard_link(input, dir_ / "hard.json");
  EXPECT_NE(refusal(dir_ / "hard.json", {{"--tokenizer", input}}).find("is the file given as"), std::string::npos);
  fs::path relative = dir_ / "." / "tokenizer.json";
  EXPECT_NE(refusal(relative, {{"--tokenizer", input}}).find("is the file given as"), std::string::npos);
}

TEST_F(OutputPathTest, ForeignFilesAndDirectoriesAreRefused) {
  auto corpus = write("corpus.h5", "30,000 documents of someone's corpus");
  auto message = refusal(corpus, {});
  EXPECT_NE(message.find("'" + corpus.string() + "' already exists and is not a token store"), std::string::npos)
      << message;
  EXPECT_NE(message.find("remove it or choose another --out"), std::string::npos) << message;
  EXPECT_EQ(fs::file_size(corpus), 36u) << "the refused file is untouched";

  EXPECT_NE(refusal(dir_, {}).find("is a directory"), std::string::npos);
  EXPECT_NE(refusal("", {}).find("--out must name a file"), std::string::npos);
}

TEST(SameFile, MissingFilesAreNeverTheSame) {
  EXPECT_FALSE(same_file("/nonexistent/a", "/nonexistent/a"));
  EXPECT_TRUE(same_file("/", "/"));
}
