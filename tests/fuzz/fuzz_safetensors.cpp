// libFuzzer target: SafetensorsFile::open on arbitrary file contents. Every tensor and metadata
// entry of a file that opens is read end to end, so a view that escapes the mapping is reported
// by AddressSanitizer. Refusals must be ember::Error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "core/error.h"
#include "core/safetensors.h"

namespace {

/// One scratch file per fuzzing process, rewritten for every input.
const std::filesystem::path& scratch_path() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ember_fuzz_safetensors_" + std::to_string(::getpid()) + ".safetensors");
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(scratch_path(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  try {
    auto file = ember::SafetensorsFile::open(scratch_path());
    uint64_t checksum = 0;
    for (const auto& name : file.names()) {
      const ember::TensorView& view = file.get(name);
      if (view.numel() * int64_t(ember::safetensors_dtype_size(view.dtype)) != int64_t(view.nbytes)) std::abort();
      for (size_t i = 0; i < view.nbytes; ++i) checksum += uint64_t(view.data[i]);
    }
    for (const auto& [key, value] : file.metadata()) checksum += key.size() + value.size();
    if (checksum == 1) std::fputc(0, stderr);  // keeps the reads from being optimised away
  } catch (const ember::Error&) {
  }
  return 0;
}
