// CompressedReader: plain, gzip and zstd decoders behind one buffered stream (see compressed_reader.h).
#include "data/compressed_reader.h"

#include <zlib.h>
#include <zstd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"

namespace ember::data {

class CompressedReader::Decoder {
 public:
  virtual ~Decoder() = default;
  /// Up to `capacity` decompressed bytes; 0 at the end of the input.
  virtual size_t decode(char* out, size_t capacity) = 0;
};

namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;

// A FILE* that closes itself.
struct File {
  explicit File(const std::string& path) : handle(std::fopen(path.c_str(), "rb")) {
    if (!handle) fail("cannot open input '{}': {}", path, std::strerror(errno));
  }
  ~File() { std::fclose(handle); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  size_t read(void* out, size_t capacity, const std::string& path) {
    size_t got = std::fread(out, 1, capacity, handle);
    if (got < capacity && std::ferror(handle)) fail("read error in '{}': {}", path, std::strerror(errno));
    return got;
  }
  std::FILE* handle;
};

class PlainDecoder final : public CompressedReader::Decoder {
 public:
  explicit PlainDecoder(const std::string& path) : path_(path), file_(path) {}
  size_t decode(char* out, size_t capacity) override { return file_.read(out, capacity, path_); }

 private:
  std::string path_;
  File file_;
};

class GzipDecoder final : public CompressedReader::Decoder {
 public:
  explicit GzipDecoder(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (!file_) fail("cannot open gzip input '{}': {}", path, std::strerror(errno));
    gzbuffer(file_, static_cast<unsigned>(kBufferBytes));
  }
  ~GzipDecoder() override { gzclose(file_); }
  size_t decode(char* out, size_t capacity) override {
    int got = gzread(file_, out, static_cast<unsigned>(std::min<size_t>(capacity, kBufferBytes)));
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    // A truncated stream only sets Z_BUF_ERROR ("unexpected end of file"), with got >= 0.
    if (got < 0 || (got == 0 && code != Z_OK)) fail("corrupt or truncated gzip data in '{}': {}", path_, message);
    return static_cast<size_t>(got);
  }

 private:
  std::string path_;
  gzFile file_;
};

class ZstdDecoder final : public CompressedReader::Decoder {
 public:
  explicit ZstdDecoder(const std::string& path)
      : path_(path), file_(path), context_(ZSTD_createDCtx()), input_(ZSTD_DStreamInSize()) {
    if (!context_) fail("cannot create a zstd decoder for '{}'", path);
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(context_); }
  size_t decode(char* out, size_t capacity) override {
    ZSTD_outBuffer output{out, capacity, 0};
    while (output.pos == 0) {
      if (in_.pos == in_.size) {
        in_ = {input_.data(), file_.read(input_.data(), input_.size(), path_), 0};
        if (in_.size == 0) {
          if (!frame_done_) fail("truncated zstd data in '{}'", path_);
          return 0;
        }
      }
      size_t rc = ZSTD_decompressStream(context_, &output, &in_);
      if (ZSTD_isError(rc)) fail("corrupt zstd data in '{}': {}", path_, ZSTD_getErrorName(rc));
      frame_done_ = rc == 0;
    }
    return output.pos;
  }

 private:
  std::string path_;
  File file_;
  ZSTD_DCtx* context_;
  std::vector<char> input_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_done_ = true;
};

Compression detect(const std::string& path) {
  File file(path);
  std::array<unsigned char, 4> magic{};
  size_t got = file.read(magic.data(), magic.size(), path);
  if (got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return Compression::kGzip;
  if (got == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return Compression::kZstd;
  return Compression::kNone;
}

}  // namespace

const char* compression_name(Compression compression) {
  switch (compression) {
    case Compression::kGzip: return "gzip";
    case Compression::kZstd: return "zstd";
    case Compression::kNone: break;
  }
  return "none";
}

std::string strip_compression_suffix(const std::string& path) {
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    const std::string s(suffix);
    if (path.size() > s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0) {
      return path.substr(0, path.size() - s.size());
    }
  }
  return path;
}

CompressedReader::CompressedReader(std::string path) : path_(std::move(path)), compression_(detect(path_)) {
  switch (compression_) {
    case Compression::kGzip: decoder_ = std::make_unique<GzipDecoder>(path_); break;
    case Compression::kZstd: decoder_ = std::make_unique<ZstdDecoder>(path_); break;
    case Compression::kNone: decoder_ = std::make_unique<PlainDecoder>(path_); break;
  }
  buffer_.resize(kBufferBytes);
}

CompressedReader::~CompressedReader() = default;

bool CompressedReader::refill() {
  begin_ = 0;
  end_ = decoder_->decode(buffer_.data(), buffer_.size());
  return end_ > 0;
}

size_t CompressedReader::read(char* out, size_t capacity) {
  if (begin_ == end_ && !refill()) return 0;
  size_t take = std::min(capacity, end_ - begin_);
  std::memcpy(out, buffer_.data() + begin_, take);
  begin_ += take;
  bytes_read_ += take;
  return take;
}

bool CompressedReader::read_line(std::string& line) {
  line.clear();
  bool any = false;
  while (begin_ < end_ || refill()) {
    any = true;
    const char* start = buffer_.data() + begin_;
    const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
    size_t take = newline ? static_cast<size_t>(newline - start) : end_ - begin_;
    line.append(start, take);
    begin_ += take;
    bytes_read_ += take;
    if (newline) {
      ++begin_;
      ++bytes_read_;
      return true;
    }
  }
  return any;
}

std::string_view CompressedReader::peek() {
  if (begin_ == end_) refill();
  return {buffer_.data() + begin_, end_ - begin_};
}

std::string CompressedReader::read_rest() {
  std::string rest;
  std::error_code error;
  if (compression_ == Compression::kNone) {
    auto size = std::filesystem::file_size(path_, error);
    if (!error) rest.reserve(size);
  }
  while (begin_ < end_ || refill()) {
    rest.append(buffer_.data() + begin_, end_ - begin_);
    bytes_read_ += end_ - begin_;
    begin_ = end_;
  }
  return rest;
}

}  // namespace ember::data
