// What an interrupted file-writing command removes: its own temporaries, nothing else.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/stop_cleanup.h"

namespace fs = std::filesystem;
using namespace ember;

TEST(StopCleanup, RemovesOnlyThisProcesssTemporaries) {
  const fs::path dir = fs::temp_directory_path() / ("ember_stop_cleanup_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string pid = std::to_string(::getpid());
  const std::string other = std::to_string(::getpid() + 1);
  const std::vector<std::string> names = {".tmp.corpus.h5." + pid, ".tmp.corpus.h5." + other, "corpus.h5",
                                         ".tmp.x." + pid + "0",  "notes.tmp-" + pid,          ".model.gguf.tmp-" + pid};
  for (const std::string& name : names) {
    std::ofstream(dir / name) << "x";
  }
  fs::create_directories(dir / (".hf_out.tmp-" + pid) / "inner");
  std::ofstream(dir / (".hf_out.tmp-" + pid) / "inner" / "model.safetensors") << "x";

  EXPECT_EQ(remove_own_temporaries(dir), 3);
  EXPECT_FALSE(fs::exists(dir / (".tmp.corpus.h5." + pid)));
  EXPECT_FALSE(fs::exists(dir / (".model.gguf.tmp-" + pid)));
  EXPECT_FALSE(fs::exists(dir / (".hf_out.tmp-" + pid)));
  EXPECT_TRUE(fs::exists(dir / (".tmp.corpus.h5." + other))) << "another process's temporary";
  EXPECT_TRUE(fs::exists(dir / "corpus.h5"));
  EXPECT_TRUE(fs::exists(dir / (".tmp.x." + pid + "0"))) << "a pid that only starts with ours";
  EXPECT_TRUE(fs::exists(dir / ("notes.tmp-" + pid))) << "not hidden: not a staging name";
  EXPECT_EQ(remove_own_temporaries(dir / "missing"), 0);
  fs::remove_all(dir);
}
