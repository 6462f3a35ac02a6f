// safetensors reader and writer (see safetensors.h for the layout). The reader checks everything
// the reference Rust reader checks before it hands out a single pointer.
#include "core/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <optional>
#include <set>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"

namespace ember {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference reader's MAX_HEADER_SIZE
constexpr uint64_t kMaxValue = (uint64_t(1) << 48) - 1;  // bound on offsets and dims (JSON schema)
constexpr std::string_view kMetadataKey = "__metadata__";

struct DtypeInfo {
  std::string_view name;
  size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", 8}, {"I64", 8}, {"U64", 8}, {"F32", 4}, {"I32", 4}, {"U32", 4}, {"F16", 2},
    {"BF16", 2}, {"I16", 2}, {"U16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1},
};

const DtypeInfo* find_dtype(std::string_view dtype) {
  for (const auto& info : kDtypes) {
    if (info.name == dtype) return &info;
  }
  return nullptr;
}

/// numel * itemsize, or nothing on overflow.
std::optional<uint64_t> byte_count(const std::vector<int64_t>& shape, size_t itemsize) {
  uint64_t bytes = itemsize;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (dim != 0 && bytes > std::numeric_limits<uint64_t>::max() / uint64_t(dim)) return std::nullopt;
    bytes *= uint64_t(dim);
  }
  return bytes;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// Thrown from the parse callback to stop at a repeated key.
struct DuplicateKey {
  std::string key;
};

/// Parses the header JSON, rejecting duplicate keys in any object (nlohmann keeps the last one).
nlohmann::json parse_header(std::string_view text, const std::string& file) {
  std::vector<std::set<std::string>> keys_per_object;
  auto on_event = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) keys_per_object.emplace_back();
    if (event == Event::object_end) keys_per_object.pop_back();
    if (event == Event::key && !keys_per_object.back().insert(parsed.get<std::string>()).second) {
      throw DuplicateKey{parsed.get<std::string>()};
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, on_event);
  } catch (const DuplicateKey& duplicate) {
    fail("safetensors file '{}': duplicate key '{}' in the header", file, duplicate.key);
  } catch (const nlohmann::json::exception& e) {
    fail("safetensors file '{}': the header is not valid JSON: {}", file, e.what());
  }
}

/// A non-negative integer JSON value at most 2^48 - 1.
uint64_t header_uint(const nlohmann::json& value, const std::string& file, const std::string& what) {
  if (!value.is_number_unsigned()) fail("safetensors file '{}': {} must be a non-negative integer", file, what);
  uint64_t number = value.get<uint64_t>();
  if (number > kMaxValue) fail("safetensors file '{}': {} is too large ({})", file, what, number);
  return number;
}

}  // namespace

bool safetensors_dtype_known(std::string_view dtype) { return find_dtype(dtype) != nullptr; }

size_t safetensors_dtype_size(std::string_view dtype) {
  const DtypeInfo* info = find_dtype(dtype);
  if (!info) fail("unknown safetensors dtype '{}'", dtype);
  return info->size;
}

int64_t TensorView::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

// ---------------------------------------------------------------------------------------------
// Reader

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile file;
  file.path_ = path;
  const std::string name = path.string();

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open safetensors file '{}': {}", name, std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    fail("safetensors file '{}' is not a readable regular file", name);
  }
  const uint64_t size = uint64_t(info.st_size);
  if (size < 8) {
    ::close(fd);
    fail("safetensors file '{}' is {} bytes, too small for the 8-byte header length", name, size);
  }
  void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int saved = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) fail("cannot map safetensors file '{}': {}", name, std::strerror(saved));
  file.mapping_ = mapping;
  file.mapping_size_ = size;
  const auto* bytes = static_cast<const std::byte*>(mapping);

  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | uint64_t(bytes[i]);
  if (header_len > kMaxHeaderBytes) {
    fail("safetensors file '{}': header length {} exceeds the {} byte limit", name, header_len, kMaxHeaderBytes);
  }
  if (header_len > size - 8) {
    fail("safetensors file '{}': header length {} runs past the end of the {}-byte file", name, header_len, size);
  }
  std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), header_len);
  if (header_text.empty() || header_text.front() != '{') {
    fail("safetensors file '{}': the header does not start with '{{'", name);
  }
  nlohmann::json header = parse_header(header_text, name);
  if (!header.is_object()) fail("safetensors file '{}': the header is not a JSON object", name);

  const std::byte* buffer = bytes + 8 + header_len;
  const uint64_t buffer_size = size - 8 - header_len;
  struct Span {
    uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (const auto& [key, entry] : header.items()) {
    if (key == kMetadataKey) {
      if (!entry.is_object()) fail("safetensors file '{}': __metadata__ must be an object", name);
      for (const auto& [meta_key, meta_value] : entry.items()) {
        if (!meta_value.is_string()) {
          fail("safetensors file '{}': __metadata__ value of '{}' must be a string", name, meta_key);
        }
        file.metadata_[meta_key] = meta_value.get<std::string>();
      }
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (!entry.is_object()) fail("safetensors file '{}': {} must be an object", name, where);
    auto dtype = entry.find("dtype");
    auto shape = entry.find("shape");
    auto offsets = entry.find("data_offsets");
    if (dtype == entry.end() || shape == entry.end() || offsets == entry.end()) {
      fail("safetensors file '{}': {} needs dtype, shape and data_offsets", name, where);
    }
    if (!dtype->is_string() || !find_dtype(dtype->get<std::string>())) {
      fail("safetensors file '{}': {} has unknown dtype {}", name, where, dtype->dump());
    }
    if (!shape->is_array()) fail("safetensors file '{}': {} shape must be an array", name, where);
    if (!offsets->is_array() || offsets->size() != 2) {
      fail("safetensors file '{}': {} data_offsets must be [begin, end]", name, where);
    }
    TensorView view;
    view.dtype = dtype->get<std::string>();
    for (const auto& dim : *shape) view.shape.push_back(int64_t(header_uint(dim, name, where + " shape entry")));
    uint64_t begin = header_uint((*offsets)[0], name, where + " begin offset");
    uint64_t end = header_uint((*offsets)[1], name, where + " end offset");
    if (end < begin) fail("safetensors file '{}': {} ends ({}) before it begins ({})", name, where, end, begin);
    if (end > buffer_size) {
      fail("safetensors file '{}': {} ends at {} past the {}-byte data buffer", name, where, end, buffer_size);
    }
    auto expected = byte_count(view.shape, safetensors_dtype_size(view.dtype));
    if (!expected || *expected != end - begin) {
      fail("safetensors file '{}': {} spans {} bytes but {} {} needs {}", name, where, end - begin, view.dtype,
           shape_text(view.shape), expected ? std::to_string(*expected) : std::string("an overflowing count"));
    }
    view.data = buffer + begin;
    view.nbytes = size_t(end - begin);
    file.tensors_.emplace(key, std::move(view));
    spans.push_back({begin, end, key});
  }

  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t covered = 0;
  for (const auto& span : spans) {
    if (span.begin != covered) {
      fail("safetensors file '{}': tensor '{}' begins at {} but the previous tensor ends at {} ({})", name,
           span.name, span.begin, covered, span.begin < covered ? "overlap" : "hole");
    }
    covered = span.end;
    file.names_.push_back(span.name);
  }
  if (covered != buffer_size) {
    fail("safetensors file '{}': tensors cover {} bytes of a {}-byte data buffer", name, covered, buffer_size);
  }
  return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept { *this = std::move(other); }

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    names_ = std::move(other.names_);
    tensors_ = std::move(other.tensors_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { unmap(); }

void SafetensorsFile::unmap() {
  if (mapping_) ::munmap(mapping_, mapping_size_);
  mapping_ = nullptr;
  mapping_size_ = 0;
}

const TensorView& SafetensorsFile::get(const std::string& name) const {
  auto found = tensors_.find(name);
  if (found == tensors_.end()) fail("safetensors file '{}' has no tensor '{}'", path_.string(), name);
  return found->second;
}

// ---------------------------------------------------------------------------------------------
// Writer

void SafetensorsWriter::add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape,
                            std::span<const std::byte> bytes) {
  if (name == kMetadataKey) fail("safetensors: '{}' is reserved and cannot name a tensor", name);
  for (const auto& entry : entries_) {
    if (entry.name == name) fail("safetensors: tensor '{}' added twice", name);
  }
  const DtypeInfo* info = find_dtype(dtype);
  if (!info) fail("safetensors: tensor '{}' has unknown dtype '{}'", name, dtype);
  auto expected = byte_count(shape, info->size);
  if (!expected) fail("safetensors: tensor '{}' has an invalid shape {}", name, shape_text(shape));
  if (*expected != bytes.size()) {
    fail("safetensors: tensor '{}' ({} {}) needs {} bytes but {} were given", name, dtype, shape_text(shape),
         *expected, bytes.size());
  }
  entries_.push_back({name, dtype, std::move(shape), bytes});
}

void SafetensorsWriter::set_metadata(std::map<std::string, std::string> metadata) { metadata_ = std::move(metadata); }

std::vector<const SafetensorsWriter::Entry*> SafetensorsWriter::ordered() const {
  std::vector<const Entry*> order;
  for (const auto& entry : entries_) order.push_back(&entry);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    size_t size_a = safetensors_dtype_size(a->dtype), size_b = safetensors_dtype_size(b->dtype);
    return size_a != size_b ? size_a > size_b : a->name < b->name;
  });
  return order;
}

std::string SafetensorsWriter::header(const std::vector<const Entry*>& order) const {
  nlohmann::ordered_json json = nlohmann::ordered_json::object();
  if (!metadata_.empty()) json[std::string(kMetadataKey)] = metadata_;
  uint64_t offset = 0;
  for (const Entry* entry : order) {
    json[entry->name] = {{"dtype", entry->dtype},
                         {"shape", entry->shape},
                         {"data_offsets", {offset, offset + entry->bytes.size()}}};
    offset += entry->bytes.size();
  }
  std::string text;
  try {
    text = json.dump();
  } catch (const nlohmann::json::exception& e) {
    fail("safetensors: cannot encode the header (names and metadata must be UTF-8): {}", e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  auto order = ordered();
  std::string head = header(order);
  size_t total = 8 + head.size();
  for (const Entry* entry : order) total += entry->bytes.size();

  std::string contents;
  contents.reserve(total);
  uint64_t header_len = head.size();
  for (int i = 0; i < 8; ++i) contents.push_back(char((header_len >> (8 * i)) & 0xff));
  contents += head;
  for (const Entry* entry : order) {
    contents.append(reinterpret_cast<const char*>(entry->bytes.data()), entry->bytes.size());
  }
  write_file_atomic(path, contents);
}

}  // namespace ember
