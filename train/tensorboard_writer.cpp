// TensorBoard event writer: the protobuf wire format for the few Event fields Ember needs, TFRecord
// framing with masked CRC-32C, and collision-free event file names.
//
// Field numbers (checked against tensorboard.compat.proto event_pb2 / summary_pb2):
//   Event        wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
//                summary = 5 (Summary), session_log = 7 (SessionLog)
//   Summary      value = 1 (repeated Value)
//   Value        tag = 1 (string), simple_value = 2 (float)
//   SessionLog   status = 1 (enum SessionStatus; START = 1)
#include "train/tensorboard_writer.h"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/files.h"

namespace ember::train {
namespace {

constexpr std::string_view kFileVersion = "brain.Event:2";
constexpr uint64_t kSessionLogStart = 1;

// Protobuf wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kFixed64 = 1;
constexpr uint32_t kLengthDelimited = 2;
constexpr uint32_t kFixed32 = 5;

void append_varint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void append_little_endian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

void append_key(std::string& out, uint32_t field, uint32_t wire_type) {
  append_varint(out, (uint64_t{field} << 3) | wire_type);
}

void append_bytes_field(std::string& out, uint32_t field, std::string_view bytes) {
  append_key(out, field, kLengthDelimited);
  append_varint(out, bytes.size());
  out.append(bytes);
}

void append_double_field(std::string& out, uint32_t field, double value) {
  append_key(out, field, kFixed64);
  append_little_endian(out, std::bit_cast<uint64_t>(value), 8);
}

void append_float_field(std::string& out, uint32_t field, float value) {
  append_key(out, field, kFixed32);
  append_little_endian(out, std::bit_cast<uint32_t>(value), 4);
}

// int64 is a plain varint of the two's complement value (negative steps take ten bytes).
void append_int64_field(std::string& out, uint32_t field, int64_t value) {
  append_key(out, field, kVarint);
  append_varint(out, static_cast<uint64_t>(value));
}

double unix_seconds_now() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

// Event header shared by every record: wall_time (1) and step (2).
std::string event_header(int64_t step) {
  std::string event;
  append_double_field(event, 1, unix_seconds_now());
  append_int64_field(event, 2, step);
  return event;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

// Opens a new event file exclusively ("x": fails if it exists), suffixing .1, .2, ... on collision.
std::FILE* create_event_file(const std::filesystem::path& dir, std::filesystem::path& path) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  std::string base = "events.out.tfevents." + std::to_string(seconds.count()) + "." + host_name();
  for (int attempt = 0;; ++attempt) {
    path = dir / (attempt == 0 ? base : base + "." + std::to_string(attempt));
    if (std::FILE* file = std::fopen(path.c_str(), "wbx")) return file;
    if (errno != EEXIST) {
      fail("cannot create TensorBoard event file {}: {}", path.string(), std::strerror(errno));
    }
  }
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::filesystem::path& dir) {
  make_directories(dir);
  file_.reset(create_event_file(dir, path_));
  std::string event = event_header(0);
  append_bytes_field(event, 3, kFileVersion);
  write_record(event);
  flush();
}

void TensorBoardWriter::add_scalars(int64_t step,
                                    const std::vector<std::pair<std::string, double>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string summary_value;
    append_bytes_field(summary_value, 1, tag);
    append_float_field(summary_value, 2, static_cast<float>(value));
    append_bytes_field(summary, 1, summary_value);
  }
  std::string event = event_header(step);
  append_bytes_field(event, 5, summary);
  write_record(event);
}

void TensorBoardWriter::mark_restart(int64_t step) {
  std::string session_log;
  append_key(session_log, 1, kVarint);
  append_varint(session_log, kSessionLogStart);
  std::string event = event_header(step);
  append_bytes_field(event, 7, session_log);
  write_record(event);
}

void TensorBoardWriter::flush() {
  if (std::fflush(file_.get()) != 0) {
    fail("cannot write TensorBoard event file {}: {}", path_.string(), std::strerror(errno));
  }
}

void TensorBoardWriter::write_record(std::string_view event) {
  std::string record;
  append_little_endian(record, event.size(), 8);
  append_little_endian(record, crc32c_mask(crc32c(record)), 4);
  record.append(event);
  append_little_endian(record, crc32c_mask(crc32c(event)), 4);
  if (std::fwrite(record.data(), 1, record.size(), file_.get()) != record.size()) {
    fail("cannot write TensorBoard event file {}: {}", path_.string(), std::strerror(errno));
  }
}

}  // namespace ember::train
