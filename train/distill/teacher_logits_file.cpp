// Reading and writing offline teacher logits in HDF5 (see teacher_logits_file.h).
#include "train/distill/teacher_logits_file.h"

#include <array>

#include <ATen/ops/from_blob.h>
#include <fmt/format.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/files.h"

namespace ember::train::distill {
namespace {

namespace h5 = data::h5;

constexpr const char* kFormat = "ember-teacher-logits";
constexpr int64_t kVersion = 1;

/// IEEE 754 binary16 as an HDF5 type (HDF5 1.10 has no predefined one): 1 sign, 5 exponent and
/// 10 mantissa bits, exponent bias 15. HDF5 converts to and from native float on write and read.
h5::Handle float16_type(const std::string& file) {
  auto type = h5::checked_type(H5Tcopy(H5T_IEEE_F32LE), file, "copy the float32 type");
  h5::check(H5Tset_fields(type.get(), 15, 10, 5, 0, 10), file, "define the float16 fields");
  h5::check(H5Tset_ebias(type.get(), 15), file, "set the float16 exponent bias");
  h5::check(H5Tset_size(type.get(), 2), file, "set the float16 size");
  return type;
}

h5::Handle create_dataset(hid_t file, const char* name, hid_t type, const std::vector<hsize_t>& dims,
                          const std::string& path) {
  auto space = h5::checked_space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), path, "create a dataspace");
  auto properties = h5::checked_plist(H5Pcreate(H5P_DATASET_CREATE), path, "create dataset properties");
  std::vector<hsize_t> chunk = dims;
  chunk[0] = 1;  // one stored sequence per chunk: training reads single rows
  h5::check(H5Pset_chunk(properties.get(), int(chunk.size()), chunk.data()), path, fmt::format("chunk '{}'", name));
  return h5::checked_dataset(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, properties.get(), H5P_DEFAULT),
                             path, fmt::format("create dataset '{}'", name));
}

/// Selects row `row` of a [S, ...] dataset; returns the file and memory dataspaces.
std::pair<h5::Handle, h5::Handle> select_row(hid_t dataset, int64_t row, const std::vector<hsize_t>& row_dims,
                                             const std::string& path) {
  auto file_space = h5::checked_space(H5Dget_space(dataset), path, "get a dataspace");
  std::vector<hsize_t> start(row_dims.size() + 1, 0), count(row_dims.size() + 1, 1);
  start[0] = hsize_t(row);
  for (size_t i = 0; i < row_dims.size(); ++i) count[i + 1] = row_dims[i];
  h5::check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), path,
            "select a stored sequence");
  auto memory_space =
      h5::checked_space(H5Screate_simple(int(count.size()), count.data(), nullptr), path, "create a memory dataspace");
  return {std::move(file_space), std::move(memory_space)};
}

std::vector<int64_t> read_int64_column(hid_t file, const char* name, int64_t rows, const std::string& path) {
  auto dataset = h5::checked_dataset(H5Dopen2(file, name, H5P_DEFAULT), path, fmt::format("open dataset '{}'", name));
  std::vector<int64_t> values(static_cast<size_t>(rows));
  h5::check(H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path,
            fmt::format("read dataset '{}'", name));
  return values;
}

}  // namespace

int64_t TeacherLogitsHeader::bytes_per_token() const {
  return top_k * ((vocab_size <= 65536 ? 2 : 4) + (half_precision ? 2 : 4));
}

uint32_t inputs_crc32c(const int32_t* inputs, int64_t count) {
  return crc32c(std::string_view(reinterpret_cast<const char*>(inputs), size_t(count) * sizeof(int32_t)));
}

TeacherLogitsWriter::TeacherLogitsWriter(std::filesystem::path path, TeacherLogitsHeader header)
    : path_(std::move(path)), header_(std::move(header)), written_(size_t(header_.sequences), false) {
  if (header_.sequences < 1 || header_.seq_len < 1 || header_.top_k < 1 || header_.top_k > header_.vocab_size) {
    fail_usage("teacher logits '{}': need sequences, seq_len >= 1 and 1 <= top_k <= vocab ({}), got {}, {}, {}",
               path_.string(), header_.vocab_size, header_.sequences, header_.seq_len, header_.top_k);
  }
  if (path_.has_parent_path()) make_directories(path_.parent_path());
  temporary_ = path_;
  temporary_ += ".tmp";
  const std::string name = temporary_.string();
  auto lock = h5::lock();
  file_ = h5::checked_file(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), name, "create the file");
  const hid_t root = file_.get();
  h5::write_string_attribute(root, "format", kFormat, name);
  h5::write_int_attribute(root, "version", kVersion, name);
  h5::write_int_attribute(root, "top_k", header_.top_k, name);
  h5::write_int_attribute(root, "seq_len", header_.seq_len, name);
  h5::write_int_attribute(root, "vocab_size", header_.vocab_size, name);
  h5::write_string_attribute(root, "tokenizer_sha256", header_.tokenizer_sha256, name);
  h5::write_string_attribute(root, "teacher", header_.teacher, name);
  h5::write_string_attribute(root, "data", header_.data.dump(), name);
  h5::write_string_attribute(root, "logprob_dtype", header_.half_precision ? "float16" : "float32", name);
  const std::vector<hsize_t> cube = {hsize_t(header_.sequences), hsize_t(header_.seq_len), hsize_t(header_.top_k)};
  const std::vector<hsize_t> column = {hsize_t(header_.sequences)};
  ids_ = create_dataset(root, "ids", header_.vocab_size <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE, cube, name);
  auto half = float16_type(name);
  logprobs_ = create_dataset(root, "logprobs", header_.half_precision ? half.get() : H5T_IEEE_F32LE, cube, name);
  epochs_ = create_dataset(root, "epochs", H5T_STD_I64LE, column, name);
  sequences_ = create_dataset(root, "sequences", H5T_STD_I64LE, column, name);
  crcs_ = create_dataset(root, "inputs_crc32c", H5T_STD_U32LE, column, name);
}

void TeacherLogitsWriter::write(int64_t row, int64_t epoch, int64_t sequence, uint32_t crc, const at::Tensor& ids,
                                const at::Tensor& logprobs) {
  if (row < 0 || row >= header_.sequences) fail("teacher logits: row {} is outside 0..{}", row, header_.sequences - 1);
  const std::vector<hsize_t> dims = {hsize_t(header_.seq_len), hsize_t(header_.top_k)};
  if (ids.numel() != header_.seq_len * header_.top_k || logprobs.numel() != ids.numel()) {
    fail("teacher logits: a row needs {} x {} ids and log-probs, got {} and {}", header_.seq_len, header_.top_k,
         ids.numel(), logprobs.numel());
  }
  auto host_ids = ids.to(at::kCPU, at::kInt).contiguous();
  auto host_logprobs = logprobs.to(at::kCPU, at::kFloat).contiguous();
  const std::string name = temporary_.string();
  auto lock = h5::lock();
  {
    auto [file_space, memory_space] = select_row(ids_.get(), row, dims, name);
    h5::check(H5Dwrite(ids_.get(), H5T_NATIVE_INT32, memory_space.get(), file_space.get(), H5P_DEFAULT,
                       host_ids.data_ptr<int32_t>()), name, "write 'ids'");
  }
  {
    auto [file_space, memory_space] = select_row(logprobs_.get(), row, dims, name);
    h5::check(H5Dwrite(logprobs_.get(), H5T_NATIVE_FLOAT, memory_space.get(), file_space.get(), H5P_DEFAULT,
                       host_logprobs.data_ptr<float>()), name, "write 'logprobs'");
  }
  const std::array<std::pair<const h5::Handle*, int64_t>, 2> columns = {{{&epochs_, epoch}, {&sequences_, sequence}}};
  for (const auto& [dataset, value] : columns) {
    auto [file_space, memory_space] = select_row(dataset->get(), row, {}, name);
    h5::check(H5Dwrite(dataset->get(), H5T_NATIVE_INT64, memory_space.get(), file_space.get(), H5P_DEFAULT, &value),
              name, "write a row index");
  }
  auto [file_space, memory_space] = select_row(crcs_.get(), row, {}, name);
  h5::check(H5Dwrite(crcs_.get(), H5T_NATIVE_UINT32, memory_space.get(), file_space.get(), H5P_DEFAULT, &crc), name,
            "write 'inputs_crc32c'");
  written_[size_t(row)] = true;
}

void TeacherLogitsWriter::finish() {
  for (size_t i = 0; i < written_.size(); ++i) {
    if (!written_[i]) fail("teacher logits '{}': row {} was never written", path_.string(), i);
  }
  const std::string name = temporary_.string();
  {
    auto lock = h5::lock();
    ids_ = {};
    logprobs_ = {};
    epochs_ = {};
    sequences_ = {};
    crcs_ = {};
    h5::check(H5Fflush(file_.get(), H5F_SCOPE_GLOBAL), name, "flush the file");
    file_.close(name, "close the file");
  }
  std::filesystem::rename(temporary_, path_);
}

TeacherLogitsReader::TeacherLogitsReader(std::filesystem::path path) : path_(std::move(path)) {
  const std::string name = path_.string();
  if (!std::filesystem::exists(path_)) fail("teacher logits '{}' not found (write it with `ember distill dump-teacher`)",
                                            name);
  auto lock = h5::lock();
  file_ = h5::checked_file(H5Fopen(name.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), name, "open the file");
  const hid_t root = file_.get();
  auto format = h5::read_string_attribute(root, "format", name);
  auto version = h5::read_int_attribute(root, "version", name);
  if (format != std::string(kFormat) || version != kVersion) {
    fail("'{}' is not an Ember teacher-logits file (format {} version {}; expected {} version {})", name,
         format.value_or("none"), version ? std::to_string(*version) : "none", kFormat, kVersion);
  }
  auto required_int = [&](const char* key) {
    auto value = h5::read_int_attribute(root, key, name);
    if (!value) fail("teacher logits '{}' lacks the attribute '{}'", name, key);
    return *value;
  };
  header_.top_k = required_int("top_k");
  header_.seq_len = required_int("seq_len");
  header_.vocab_size = required_int("vocab_size");
  header_.tokenizer_sha256 = h5::read_string_attribute(root, "tokenizer_sha256", name).value_or("");
  header_.teacher = h5::read_string_attribute(root, "teacher", name).value_or("");
  header_.data = nlohmann::json::parse(h5::read_string_attribute(root, "data", name).value_or("null"));
  header_.half_precision = h5::read_string_attribute(root, "logprob_dtype", name).value_or("") == "float16";
  ids_ = h5::checked_dataset(H5Dopen2(root, "ids", H5P_DEFAULT), name, "open dataset 'ids'");
  logprobs_ = h5::checked_dataset(H5Dopen2(root, "logprobs", H5P_DEFAULT), name, "open dataset 'logprobs'");
  for (const auto* dataset : {&ids_, &logprobs_}) {
    auto space = h5::checked_space(H5Dget_space(dataset->get()), name, "get a dataspace");
    std::array<hsize_t, 3> dims{};
    if (H5Sget_simple_extent_ndims(space.get()) != 3) fail("teacher logits '{}': ids and logprobs must be 3-D", name);
    h5::check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), name, "read dataset dimensions");
    if (dataset == &ids_) header_.sequences = int64_t(dims[0]);
    if (int64_t(dims[0]) != header_.sequences || int64_t(dims[1]) != header_.seq_len ||
        int64_t(dims[2]) != header_.top_k) {
      fail("teacher logits '{}': datasets are {} x {} x {}, the attributes say {} x {} x {}", name, dims[0], dims[1],
           dims[2], header_.sequences, header_.seq_len, header_.top_k);
    }
  }
  auto epochs = read_int64_column(root, "epochs", header_.sequences, name);
  auto sequences = read_int64_column(root, "sequences", header_.sequences, name);
  crcs_.resize(size_t(header_.sequences));
  auto crcs = h5::checked_dataset(H5Dopen2(root, "inputs_crc32c", H5P_DEFAULT), name, "open 'inputs_crc32c'");
  h5::check(H5Dread(crcs.get(), H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, crcs_.data()), name,
            "read 'inputs_crc32c'");
  for (int64_t i = 0; i < header_.sequences; ++i) {
    if (!rows_.emplace(std::make_pair(epochs[size_t(i)], sequences[size_t(i)]), i).second) {
      fail("teacher logits '{}': (epoch {}, sequence {}) is stored twice", name, epochs[size_t(i)],
           sequences[size_t(i)]);
    }
  }
}

void TeacherLogitsReader::check_compatible(const nlohmann::json& data_fingerprint, const std::string& tokenizer_sha256,
                                           int64_t seq_len) const {
  const std::string name = path_.string();
  if (header_.seq_len != seq_len) {
    fail("teacher logits '{}' hold sequences of {} tokens; train.seq_len is {}", name, header_.seq_len, seq_len);
  }
  if (header_.tokenizer_sha256 != tokenizer_sha256) {
    fail("teacher logits '{}' were written with tokenizer {}, the run uses {}", name, header_.tokenizer_sha256,
         tokenizer_sha256);
  }
  if (header_.data != data_fingerprint) {
    fail("teacher logits '{}' were dumped for other data or loader settings (data.train, data.weights, "
         "data.val_fraction, train.seed, train.seq_len must match dump-teacher's): stored {}, run {}",
         name, header_.data.dump(), data_fingerprint.dump());
  }
}

TeacherTopK TeacherLogitsReader::read(int64_t epoch, int64_t sequence, uint32_t crc) const {
  const std::string name = path_.string();
  auto found = rows_.find({epoch, sequence});
  if (found == rows_.end()) {
    fail("teacher logits '{}' do not hold (epoch {}, sequence {}): the run needs more sequences than the {} dumped "
         "(rerun dump-teacher with a larger --sequences)", name, epoch, sequence, header_.sequences);
  }
  const int64_t row = found->second;
  if (crcs_[size_t(row)] != crc) {
    fail("teacher logits '{}': the inputs of (epoch {}, sequence {}) differ from the dumped ones (CRC-32C)", name,
         epoch, sequence);
  }
  const std::vector<hsize_t> dims = {hsize_t(header_.seq_len), hsize_t(header_.top_k)};
  std::vector<int32_t> ids(size_t(header_.seq_len * header_.top_k));
  std::vector<float> logprobs(ids.size());
  {
    auto lock = h5::lock();
    auto [ids_file, ids_memory] = select_row(ids_.get(), row, dims, name);
    h5::check(H5Dread(ids_.get(), H5T_NATIVE_INT32, ids_memory.get(), ids_file.get(), H5P_DEFAULT, ids.data()), name,
              "read 'ids'");
    auto [lp_file, lp_memory] = select_row(logprobs_.get(), row, dims, name);
    h5::check(H5Dread(logprobs_.get(), H5T_NATIVE_FLOAT, lp_memory.get(), lp_file.get(), H5P_DEFAULT,
                      logprobs.data()), name, "read 'logprobs'");
  }
  for (int32_t id : ids) {
    if (id < 0 || id >= header_.vocab_size) fail("teacher logits '{}': id {} outside the vocabulary", name, id);
  }
  const std::vector<int64_t> shape = {header_.seq_len, header_.top_k};
  return {at::from_blob(ids.data(), shape, at::kInt).to(at::kLong),
          at::from_blob(logprobs.data(), shape, at::kFloat).clone()};
}

}  // namespace ember::train::distill
