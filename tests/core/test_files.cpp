// SHA-256 against FIPS 180-4 vectors; atomic writes keep old contents on failure.
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/sha256.h"
#include "core/strings.h"

namespace fs = std::filesystem;
using namespace ember;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  std::string million(1000000, 'a');
  EXPECT_EQ(sha256_hex(million), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalEqualsOneShot) {
  std::string text(1000, 'x');
  for (size_t i = 0; i < text.size(); ++i) text[i] = char('a' + i % 26);
  Sha256 hash;
  for (size_t i = 0; i < text.size(); i += 37) hash.update(std::string_view(text).substr(i, 37));
  EXPECT_EQ(hash.hex_digest(), sha256_hex(text));
}

TEST(Files, AtomicWriteAndRead) {
  auto dir = fs::temp_directory_path() / ("ember_files_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write_file_atomic(dir / "a.txt", "hello");
  EXPECT_EQ(read_file(dir / "a.txt"), "hello");
  write_file_atomic(dir / "a.txt", "second");
  EXPECT_EQ(read_file(dir / "a.txt"), "second");
  EXPECT_EQ(sha256_file((dir / "a.txt").string()), sha256_hex("second"));
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(entry.path().filename().string().rfind(".tmp.", 0), std::string::npos) << "temporary left behind";
  }
  fs::remove_all(dir);
}

TEST(Files, WriteIntoMissingDirectoryFailsClearly) {
  try {
    write_file_atomic("/nonexistent-ember-dir/x.txt", "data");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-ember-dir/x.txt"), std::string::npos);
  }
}

TEST(Files, MissingFileNamesIt) {
  try {
    read_file("/nonexistent-ember-file");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-ember-file"), std::string::npos);
  }
}

TEST(Strings, EditDistanceAndSplit) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(split("a.b..c", '.'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(trim("  x y \n"), "x y");
}
