// TokenStore: opens, validates and reads an HDF5 token store (layout in token_store.h).
// Validation is complete before the store is returned, so the loader can trust every offset and id.
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "data/token_store.h"

namespace ember::data {
namespace {

constexpr int64_t kScanBlockTokens = int64_t{1} << 22;
// Chunk cache per open `tokens` dataset: enough for many chunks, so packed reads that hop between
// nearby documents (and compressed stores) do not re-read or re-inflate the same chunk.
constexpr size_t kChunkCacheBytes = size_t{64} << 20;
constexpr size_t kChunkCacheSlots = 12799;

template <typename... Args>
[[noreturn]] void invalid(const std::string& path, fmt::format_string<Args...> format, Args&&... args) {
  fail("token store '{}': {}", path, fmt::format(format, std::forward<Args>(args)...));
}

h5::Handle open_dataset(hid_t file, const char* name, hid_t access, const std::string& path) {
  htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
  h5::check(exists, path, fmt::format("look up dataset '{}'", name));
  if (exists == 0) invalid(path, "missing dataset '{}'", name);
  {
    h5::Handle object(h5::check_id(H5Oopen(file, name, H5P_DEFAULT), path, fmt::format("open '{}'", name)), H5Oclose);
    if (H5Iget_type(object.get()) != H5I_DATASET) invalid(path, "'{}' is not a dataset", name);
  }
  return h5::checked_dataset(H5Dopen2(file, name, access), path, fmt::format("open dataset '{}'", name));
}

// Length of a 1-D dataset; anything else is a layout error.
hsize_t one_dimensional_length(hid_t dataset, const char* name, const std::string& path) {
  h5::Handle space = h5::checked_space(H5Dget_space(dataset), path, fmt::format("get the shape of '{}'", name));
  int rank = H5Sget_simple_extent_ndims(space.get());
  h5::check(rank, path, fmt::format("get the rank of '{}'", name));
  if (rank != 1) invalid(path, "dataset '{}' has {} dimensions; expected 1", name, rank);
  hsize_t length = 0;
  h5::check(H5Sget_simple_extent_dims(space.get(), &length, nullptr), path, fmt::format("get the length of '{}'", name));
  return length;
}

void require_unsigned(hid_t dataset, const char* name, size_t bytes, const std::string& path, int64_t vocab_size) {
  h5::Handle type = h5::checked_type(H5Dget_type(dataset), path, fmt::format("get the type of '{}'", name));
  bool matches = H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_sign(type.get()) == H5T_SGN_NONE &&
                 H5Tget_size(type.get()) == bytes;
  if (matches) return;
  std::string why = vocab_size > 0 ? fmt::format(" (vocab_size {})", vocab_size) : "";
  invalid(path, "dataset '{}' has type {}; expected uint{}{}", name, h5::describe_type(type.get()), bytes * 8, why);
}

int64_t required_int(hid_t file, const char* name, const std::string& path) {
  auto value = h5::read_int_attribute(file, name, path);
  if (!value) invalid(path, "missing attribute '{}'", name);
  return *value;
}

std::string required_string(hid_t file, const char* name, const std::string& path) {
  auto value = h5::read_string_attribute(file, name, path);
  if (!value) invalid(path, "missing attribute '{}'", name);
  return *value;
}

}  // namespace

TokenStore TokenStore::open(const std::string& path, const std::optional<std::string>& expected_tokenizer_sha256) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) invalid(path, "file not found");
  auto guard = h5::lock();
  htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 <= 0) {
    H5Eclear2(H5E_DEFAULT);
    invalid(path, "not an HDF5 file");
  }

  TokenStore store;
  store.path_ = path;
  store.file_ = h5::checked_file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), path, "open the file");
  hid_t root = store.file_.get();

  std::string format = required_string(root, "format", path);
  if (format != kTokenStoreFormat) invalid(path, "attribute 'format' is '{}'; expected '{}'", format, kTokenStoreFormat);
  int64_t version = required_int(root, "format_version", path);
  if (version != kTokenStoreVersion) {
    invalid(path, "format_version {} is not supported (this build reads version {})", version, kTokenStoreVersion);
  }
  store.vocab_size_ = required_int(root, "vocab_size", path);
  if (store.vocab_size_ <= 0 || store.vocab_size_ > kMaxVocabSize) {
    invalid(path, "vocab_size {} is outside 1..{}", store.vocab_size_, kMaxVocabSize);
  }
  int64_t eos = required_int(root, "eos_id", path);
  if (eos < 0 || eos >= store.vocab_size_) invalid(path, "eos_id {} is outside the vocabulary (size {})", eos, store.vocab_size_);
  store.eos_id_ = static_cast<int32_t>(eos);
  store.tokenizer_sha256_ = required_string(root, "tokenizer_sha256", path);
  auto sources = h5::read_string_list_attribute(root, "sources", path);
  if (!sources) invalid(path, "missing attribute 'sources'");
  store.sources_ = std::move(*sources);
  int64_t declared_documents = required_int(root, "num_documents", path);
  int64_t declared_tokens = required_int(root, "num_tokens", path);

  if (expected_tokenizer_sha256 && *expected_tokenizer_sha256 != store.tokenizer_sha256_) {
    invalid(path, "written with tokenizer sha256 {} but the configured tokenizer has sha256 {}",
            store.tokenizer_sha256_, *expected_tokenizer_sha256);
  }

  h5::Handle access = h5::checked_plist(H5Pcreate(H5P_DATASET_ACCESS), path, "create dataset access properties");
  h5::check(H5Pset_chunk_cache(access.get(), kChunkCacheSlots, kChunkCacheBytes, 0.75), path, "size the chunk cache");
  store.tokens_ = open_dataset(root, "tokens", access.get(), path);
  h5::Handle offsets = open_dataset(root, "doc_offsets", H5P_DEFAULT, path);
  hsize_t token_count = one_dimensional_length(store.tokens_.get(), "tokens", path);
  hsize_t offset_count = one_dimensional_length(offsets.get(), "doc_offsets", path);
  store.token_bytes_ = token_bytes_for_vocab(store.vocab_size_);
  require_unsigned(store.tokens_.get(), "tokens", static_cast<size_t>(store.token_bytes_), path, store.vocab_size_);
  require_unsigned(offsets.get(), "doc_offsets", 8, path, 0);

  if (offset_count == 0) invalid(path, "dataset 'doc_offsets' is empty; it needs num_documents + 1 entries");
  if (static_cast<int64_t>(offset_count) != declared_documents + 1) {
    invalid(path, "dataset 'doc_offsets' has {} entries but num_documents is {} (expected num_documents + 1)",
            offset_count, declared_documents);
  }
  if (static_cast<int64_t>(token_count) != declared_tokens) {
    invalid(path, "dataset 'tokens' has {} entries but num_tokens is {}", token_count, declared_tokens);
  }
  store.offsets_.resize(offset_count);
  h5::check(H5Dread(offsets.get(), H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, store.offsets_.data()), path,
            "read dataset 'doc_offsets'");
  if (store.offsets_.front() != 0) invalid(path, "doc_offsets[0] is {}; expected 0", store.offsets_.front());
  for (size_t i = 1; i < store.offsets_.size(); ++i) {
    if (store.offsets_[i] < store.offsets_[i - 1]) {
      invalid(path, "doc_offsets decreases at entry {} ({} after {})", i, store.offsets_[i], store.offsets_[i - 1]);
    }
  }
  if (store.offsets_.back() != token_count) {
    invalid(path, "doc_offsets ends at {} but 'tokens' has {} entries", store.offsets_.back(), token_count);
  }
  store.validate_ids();
  return store;
}

void TokenStore::validate_ids() const {
  scan(kScanBlockTokens, [&](int64_t first, std::span<const int32_t> ids) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] >= 0 && ids[i] < vocab_size_) continue;
      auto position = static_cast<uint64_t>(first) + i;
      auto document = std::upper_bound(offsets_.begin(), offsets_.end(), position) - offsets_.begin() - 1;
      // ids convert to int32 on read; HDF5 clips a uint32 id above 2^31 - 1 to that value, which
      // kMaxVocabSize keeps out of every valid vocabulary.
      invalid(path_, "token {} (document {}) has id {}, not below vocab_size {}", position, document, ids[i],
              vocab_size_);
    }
  });
}

int64_t TokenStore::document_length(int64_t document) const {
  if (document < 0 || document >= num_documents()) {
    invalid(path_, "document {} is out of range (the store has {})", document, num_documents());
  }
  return static_cast<int64_t>(offsets_[document + 1] - offsets_[document]);
}

void TokenStore::read_tokens(int64_t begin, int64_t count, int32_t* out) const {
  if (begin < 0 || count < 0 || begin + count > num_tokens()) {
    invalid(path_, "token range [{}, {}) is outside the {} stored tokens", begin, begin + count, num_tokens());
  }
  if (count == 0) return;
  auto guard = h5::lock();
  auto start = static_cast<hsize_t>(begin), length = static_cast<hsize_t>(count);
  h5::Handle file_space = h5::checked_space(H5Dget_space(tokens_.get()), path_, "get the dataspace of 'tokens'");
  h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, &start, nullptr, &length, nullptr), path_,
            "select a range of 'tokens'");
  h5::Handle memory_space = h5::checked_space(H5Screate_simple(1, &length, nullptr), path_, "create a memory dataspace");
  h5::check(H5Dread(tokens_.get(), H5T_NATIVE_INT32, memory_space.get(), file_space.get(), H5P_DEFAULT, out), path_,
            "read dataset 'tokens'");
}

std::vector<int32_t> TokenStore::document(int64_t document) const {
  std::vector<int32_t> tokens(static_cast<size_t>(document_length(document)));
  read_tokens(static_cast<int64_t>(offsets_[document]), static_cast<int64_t>(tokens.size()), tokens.data());
  return tokens;
}

}  // namespace ember::data
