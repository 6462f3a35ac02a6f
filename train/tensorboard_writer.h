// TensorBoard event files without TensorFlow: TFRecord framing around hand-encoded protobuf
// `Event` messages (tensorflow/core/util/event.proto, framework/summary.proto), readable by
// TensorBoard's own EventAccumulator. Torch-free.
//
// File: DIR/events.out.tfevents.<unix seconds>.<hostname>, with ".1", ".2", ... appended when a
// writer in the same second already took that name (a quick resume), so every process writes a
// file of its own and names sort in creation order, the order TensorBoard reads them in.
//
// Records: uint64 length, masked CRC-32C of those 8 bytes, the Event bytes, masked CRC-32C of the
// Event bytes (little-endian). The first Event holds file_version "brain.Event:2"; each
// add_scalars call writes one Event (wall_time, step, summary with one simple_value per scalar).
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::train {

class TensorBoardWriter {
 public:
  /// Creates DIR (and parents) and a new event file in it holding the file_version event.
  /// Throws ember::Error naming the file when it cannot be created or written.
  explicit TensorBoardWriter(const std::filesystem::path& dir);

  /// One Event at `step` with a simple_value (float) per scalar, tagged with its name.
  void add_scalars(int64_t step, const std::vector<std::pair<std::string, double>>& scalars);

  /// A SessionLog START event at `step`: with file_version 2, TensorBoard then drops every event
  /// with step >= `step` read before it, so a resumed run shows no stale points.
  void mark_restart(int64_t step);

  /// Hands buffered records to the operating system (no fsync).
  void flush();

  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(std::string_view event);

  struct FileCloser {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

}  // namespace ember::train
