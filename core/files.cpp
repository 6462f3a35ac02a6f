// Crash-safe file helpers (see files.h).
#include "core/files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/error.h"

namespace ember {

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("file not found: '{}'", path.string());
  if (std::filesystem::is_directory(path, ec)) fail("expected a file but '{}' is a directory", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open '{}': {}", path.string(), std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("read error in '{}'", path.string());
  return buffer.str();
}

void fsync_path(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("cannot open '{}' to sync it: {}", path.string(), std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) fail("fsync of '{}' failed: {}", path.string(), std::strerror(saved));
}

void make_directories(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) fail("cannot create directory '{}': {}", path.string(), ec.message());
}

void write_file_atomic(const std::filesystem::path& path, std::string_view contents) {
  auto directory = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  auto temporary = directory / (".tmp." + path.filename().string() + "." + std::to_string(::getpid()));
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write '{}': {}", path.string(), std::strerror(errno));
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      ::unlink(temporary.c_str());
      fail("cannot write '{}': {}", path.string(), std::strerror(saved));
    }
    data += written;
    left -= size_t(written);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    fail("cannot write '{}': {}", path.string(), std::strerror(saved));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    fail("cannot rename into '{}': {}", path.string(), std::strerror(saved));
  }
  fsync_path(directory);
}

}  // namespace ember
