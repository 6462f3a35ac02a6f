// --input expansion: files, recursive directories without hidden entries, globs, --exclude by
// name or path, sorted unique order, and clear errors for inputs that name nothing.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "data/input_files.h"
#include "tests/data/token_store_test_util.h"

namespace ember::data {
namespace {

using testing::ScratchDir;

void touch(const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << "x";
}

TEST(InputFiles, DirectoriesRecurseSortedWithoutHiddenEntries) {
  ScratchDir dir;
  for (auto name : {"root/b.py", "root/a/z.md", "root/a/b/c.txt", "root/.git/config", "root/.hidden.txt"}) {
    touch(dir.file(name));
  }
  auto files = expand_input_files({dir.file("root")}, {});
  EXPECT_EQ(files, (std::vector<std::string>{dir.file("root/a/b/c.txt"), dir.file("root/a/z.md"), dir.file("root/b.py")}));
  // Named explicitly, a hidden file is read; a file named twice is read once.
  files = expand_input_files({dir.file("root/.hidden.txt"), dir.file("root/b.py"), dir.file("root/b.py")}, {});
  EXPECT_EQ(files, (std::vector<std::string>{dir.file("root/.hidden.txt"), dir.file("root/b.py")}));
}

TEST(InputFiles, GlobsAndExcludes) {
  ScratchDir dir;
  for (auto name : {"d/x.py", "d/y.py", "d/notes.md", "d/build/gen.py", "d/poetry.lock"}) touch(dir.file(name));
  EXPECT_EQ(expand_input_files({dir.file("d/*.py")}, {}),
            (std::vector<std::string>{dir.file("d/x.py"), dir.file("d/y.py")}));
  // A glob matching a folder takes the folder's files.
  EXPECT_EQ(expand_input_files({dir.file("d/bui*")}, {}), std::vector<std::string>{dir.file("d/build/gen.py")});
  // Without '/' a pattern matches the file name; with '/' the whole path ('*' crosses '/').
  EXPECT_EQ(expand_input_files({dir.file("d")}, {"*.lock", "*/build/*", "y.*"}),
            (std::vector<std::string>{dir.file("d/notes.md"), dir.file("d/x.py")}));
  EXPECT_TRUE(is_excluded("/a/b/c.lock", {"*.lock"}));
  EXPECT_FALSE(is_excluded("/a/lock/c.txt", {"lock"}));
}

TEST(InputFiles, InputsThatNameNothingAreUsageErrors) {
  ScratchDir dir;
  touch(dir.file("only.txt"));
  try {
    expand_input_files({dir.file("missing/*.txt")}, {});
    FAIL() << "a pattern matching nothing must fail";
  } catch (const UsageError& error) {
    EXPECT_NE(std::string(error.what()).find("missing/*.txt"), std::string::npos) << error.what();
  }
  EXPECT_THROW(expand_input_files({dir.file("only.txt")}, {"*.txt"}), UsageError);
  EXPECT_THROW(expand_input_files({}, {}), UsageError);
}

}  // namespace
}  // namespace ember::data
