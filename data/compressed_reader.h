// A buffered byte stream over one input file that may be compressed: plain, gzip (zlib; several
// concatenated members are one stream) or zstd (libzstd; several frames likewise). The format is
// recognised by the file's first bytes (1f 8b: gzip; 28 b5 2f fd: zstd), not by its name, so
// a renamed file still reads. Memory: one 1 MiB buffer (and the decompressor's window).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ember::data {

enum class Compression { kNone, kGzip, kZstd };

/// "none", "gzip" or "zstd".
const char* compression_name(Compression compression);

/// `path` without a trailing .gz / .zst / .zstd: the name whose extension says what the
/// decompressed content is (data.jsonl.gz -> data.jsonl).
std::string strip_compression_suffix(const std::string& path);

class CompressedReader {
 public:
  /// Opens `path`; throws ember::Error naming it when it cannot be opened.
  explicit CompressedReader(std::string path);
  ~CompressedReader();
  CompressedReader(const CompressedReader&) = delete;
  CompressedReader& operator=(const CompressedReader&) = delete;

  /// Up to `capacity` decompressed bytes into `out`; 0 at the end. Throws ember::Error naming
  /// the file for read errors and corrupt or truncated compressed data.
  size_t read(char* out, size_t capacity);
  /// The next line without its '\n' (a final line without one counts); false at the end.
  bool read_line(std::string& line);
  /// The buffered bytes not yet read (up to 1 MiB; empty at the end), without consuming them.
  std::string_view peek();
  /// Everything not yet read.
  std::string read_rest();

  Compression compression() const { return compression_; }
  const std::string& path() const { return path_; }
  /// Decompressed bytes handed out so far.
  uint64_t bytes_read() const { return bytes_read_; }

  class Decoder;  // one per format (compressed_reader.cpp)

 private:
  bool refill();

  std::string path_;
  Compression compression_ = Compression::kNone;
  std::unique_ptr<Decoder> decoder_;
  std::string buffer_;
  size_t begin_ = 0, end_ = 0;
  uint64_t bytes_read_ = 0;
};

}  // namespace ember::data
