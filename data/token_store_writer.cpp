// TokenStoreWriter: streams documents into the HDF5 token store layout (see token_store.h).
// Memory stays bounded: tokens and offsets are buffered one chunk at a time and appended to
// extendible chunked datasets; the file lives under a temporary name until finish() renames it.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <regex>
#include <unistd.h>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "data/token_store.h"

namespace ember::data {
namespace {

bool is_sha256_hex(const std::string& text) {
  static const std::regex pattern("[0-9a-f]{64}");
  return std::regex_match(text, pattern);
}

h5::Handle create_extendible(hid_t file, const char* name, hid_t file_type, hsize_t chunk, int compression,
                             const std::string& path) {
  hsize_t initial = 0, maximum = H5S_UNLIMITED;
  h5::Handle space = h5::checked_space(H5Screate_simple(1, &initial, &maximum), path, "create a dataspace");
  h5::Handle properties = h5::checked_plist(H5Pcreate(H5P_DATASET_CREATE), path, "create dataset properties");
  h5::check(H5Pset_chunk(properties.get(), 1, &chunk), path, fmt::format("chunk dataset '{}'", name));
  if (compression > 0) {
    h5::check(H5Pset_shuffle(properties.get()), path, fmt::format("enable shuffle on dataset '{}'", name));
    h5::check(H5Pset_deflate(properties.get(), static_cast<unsigned>(compression)), path,
              fmt::format("enable deflate on dataset '{}'", name));
  }
  return h5::checked_dataset(
      H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, properties.get(), H5P_DEFAULT), path,
      fmt::format("create dataset '{}'", name));
}

}  // namespace

int token_bytes_for_vocab(int64_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

TokenStoreWriter::TokenStoreWriter(std::string path, TokenStoreWriterOptions options)
    : path_(std::move(path)), options_(std::move(options)) {
  if (options_.vocab_size <= 0 || options_.vocab_size > kMaxVocabSize) {
    fail_usage("token store '{}': vocab_size {} is outside 1..{}", path_, options_.vocab_size, kMaxVocabSize);
  }
  if (options_.eos_id < 0 || options_.eos_id >= options_.vocab_size) {
    fail_usage("token store '{}': eos_id {} is outside the vocabulary (size {})", path_, options_.eos_id,
               options_.vocab_size);
  }
  if (options_.compression < 0 || options_.compression > 9) {
    fail_usage("token store '{}': compression level {} is outside 0..9", path_, options_.compression);
  }
  if (options_.chunk_tokens <= 0) fail_usage("token store '{}': chunk_tokens must be positive", path_);
  if (!is_sha256_hex(options_.tokenizer_sha256)) {
    fail_usage("token store '{}': tokenizer_sha256 must be 64 lowercase hex digits, got '{}'", path_,
               options_.tokenizer_sha256);
  }
  auto target = std::filesystem::path(path_);
  auto directory = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
  temp_path_ = (directory / (".tmp." + target.filename().string() + "." + std::to_string(::getpid()))).string();

  auto guard = h5::lock();
  if (options_.compression > 0 && H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0) {
    fail("token store '{}': this HDF5 library has no deflate filter; use compression 0", path_);
  }
  file_ = h5::checked_file(H5Fcreate(temp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), temp_path_,
                           "create the file");
  hid_t token_type = token_bytes_for_vocab(options_.vocab_size) == 2 ? H5T_STD_U16LE : H5T_STD_U32LE;
  auto chunk = static_cast<hsize_t>(options_.chunk_tokens);
  tokens_ = create_extendible(file_.get(), "tokens", token_type, chunk, options_.compression, temp_path_);
  offsets_ = create_extendible(file_.get(), "doc_offsets", H5T_STD_U64LE, offset_chunk(), options_.compression,
                               temp_path_);
  token_buffer_.reserve(chunk);
  offset_buffer_.reserve(offset_chunk());
  offset_buffer_.push_back(0);
}

TokenStoreWriter::~TokenStoreWriter() {
  if (!finished_) discard();
}

void TokenStoreWriter::discard() noexcept {
  tokens_ = h5::Handle();
  offsets_ = h5::Handle();
  file_ = h5::Handle();
  std::remove(temp_path_.c_str());
}

void TokenStoreWriter::add_document(std::span<const int32_t> tokens) {
  if (finished_) fail("token store '{}': add_document after finish", path_);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= options_.vocab_size) {
      fail("token store '{}': document {} token {} has id {} outside the vocabulary (size {})", path_,
           num_documents_, i, tokens[i], options_.vocab_size);
    }
  }
  auto chunk = static_cast<size_t>(options_.chunk_tokens);
  for (size_t start = 0; start < tokens.size();) {
    size_t take = std::min(chunk - token_buffer_.size(), tokens.size() - start);
    token_buffer_.insert(token_buffer_.end(), tokens.begin() + start, tokens.begin() + start + take);
    start += take;
    if (token_buffer_.size() == chunk) flush_tokens();
  }
  num_tokens_ += static_cast<int64_t>(tokens.size());
  ++num_documents_;
  offset_buffer_.push_back(static_cast<uint64_t>(num_tokens_));
  if (offset_buffer_.size() >= offset_chunk()) flush_offsets();
}

void TokenStoreWriter::append(hid_t dataset, hid_t memory_type, const void* data, hsize_t count,
                              hsize_t& written, const char* name) {
  if (count == 0) return;
  auto guard = h5::lock();
  hsize_t extent = written + count;
  h5::check(H5Dset_extent(dataset, &extent), temp_path_, fmt::format("extend dataset '{}'", name));
  h5::Handle file_space = h5::checked_space(H5Dget_space(dataset), temp_path_,
                                            fmt::format("get the dataspace of '{}'", name));
  h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &written, nullptr, &count, nullptr), temp_path_,
            fmt::format("select the tail of dataset '{}'", name));
  h5::Handle memory_space = h5::checked_space(H5Screate_simple(1, &count, nullptr), temp_path_,
                                              "create a memory dataspace");
  h5::check(H5Dwrite(dataset, memory_type, memory_space.get(), file_space.get(), H5P_DEFAULT, data), temp_path_,
            fmt::format("write dataset '{}'", name));
  written = extent;
}

void TokenStoreWriter::flush_tokens() {
  append(tokens_.get(), H5T_NATIVE_UINT32, token_buffer_.data(), token_buffer_.size(), tokens_written_, "tokens");
  token_buffer_.clear();
}

void TokenStoreWriter::flush_offsets() {
  append(offsets_.get(), H5T_NATIVE_UINT64, offset_buffer_.data(), offset_buffer_.size(), offsets_written_,
         "doc_offsets");
  offset_buffer_.clear();
}

void TokenStoreWriter::finish() {
  if (finished_) return;
  flush_tokens();
  flush_offsets();
  {
    auto guard = h5::lock();
    hid_t root = file_.get();
    h5::write_string_attribute(root, "format", kTokenStoreFormat, temp_path_);
    h5::write_int_attribute(root, "format_version", kTokenStoreVersion, temp_path_);
    h5::write_int_attribute(root, "vocab_size", options_.vocab_size, temp_path_);
    h5::write_int_attribute(root, "eos_id", options_.eos_id, temp_path_);
    h5::write_string_attribute(root, "tokenizer_sha256", options_.tokenizer_sha256, temp_path_);
    h5::write_string_list_attribute(root, "sources", options_.sources, temp_path_);
    h5::write_int_attribute(root, "num_documents", num_documents_, temp_path_);
    h5::write_int_attribute(root, "num_tokens", num_tokens_, temp_path_);
    tokens_.close(temp_path_, "close dataset 'tokens'");
    offsets_.close(temp_path_, "close dataset 'doc_offsets'");
    h5::check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), temp_path_, "flush the file");
    file_.close(temp_path_, "close the file");
  }
  fsync_path(temp_path_);
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int saved = errno;
    std::remove(temp_path_.c_str());
    fail("cannot rename '{}' into '{}': {}", temp_path_, path_, std::strerror(saved));
  }
  auto directory = std::filesystem::path(path_).parent_path();
  fsync_path(directory.empty() ? std::filesystem::path(".") : directory);
  finished_ = true;
}

}  // namespace ember::data
