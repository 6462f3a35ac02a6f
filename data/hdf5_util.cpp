// Checked HDF5 calls, RAII handles and attribute helpers (see hdf5_util.h).
#include "data/hdf5_util.h"

#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "core/error.h"

namespace ember::data::h5 {
namespace {

std::recursive_mutex& library_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

// Keeps the innermost (most specific) description on HDF5's error stack.
herr_t keep_innermost(unsigned position, const H5E_error2_t* entry, void* client) {
  auto* message = static_cast<std::string*>(client);
  if (position == 0 && entry->desc != nullptr) *message = entry->desc;
  return 0;
}

std::string take_hdf5_message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &message);
  H5Eclear2(H5E_DEFAULT);
  return message.empty() ? "no detail from HDF5" : message;
}

Handle checked(hid_t id, Handle::Closer closer, const std::string& file, std::string_view action) {
  return Handle(check_id(id, file, action), closer);
}

Handle open_attribute(hid_t object, const std::string& name, const std::string& file) {
  return checked_attribute(H5Aopen(object, name.c_str(), H5P_DEFAULT), file,
                           fmt::format("open attribute '{}'", name));
}

bool has_attribute(hid_t object, const std::string& name, const std::string& file) {
  htri_t exists = H5Aexists(object, name.c_str());
  check(exists, file, fmt::format("look up attribute '{}'", name));
  return exists > 0;
}

hssize_t attribute_elements(hid_t attribute, const std::string& name, const std::string& file) {
  Handle space = checked_space(H5Aget_space(attribute), file, fmt::format("get the shape of attribute '{}'", name));
  hssize_t count = H5Sget_simple_extent_npoints(space.get());
  check(static_cast<herr_t>(count < 0 ? -1 : 0), file, fmt::format("count the elements of attribute '{}'", name));
  return count;
}

Handle utf8_string_type(const std::string& file) {
  Handle type = checked_type(H5Tcopy(H5T_C_S1), file, "create a string type");
  check(H5Tset_size(type.get(), H5T_VARIABLE), file, "size a string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), file, "set a string type to UTF-8");
  return type;
}

void write_attribute(hid_t object, const std::string& name, hid_t type, hid_t space, const void* data,
                     const std::string& file) {
  if (has_attribute(object, name, file)) {
    check(H5Adelete(object, name.c_str()), file, fmt::format("replace attribute '{}'", name));
  }
  Handle attribute = checked_attribute(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                                       file, fmt::format("create attribute '{}'", name));
  check(H5Awrite(attribute.get(), type, data), file, fmt::format("write attribute '{}'", name));
}

std::vector<std::string> read_strings(hid_t attribute, const std::string& name, size_t count,
                                      const std::string& file) {
  Handle stored = checked_type(H5Aget_type(attribute), file, fmt::format("get the type of attribute '{}'", name));
  if (H5Tget_class(stored.get()) != H5T_STRING) {
    fail("'{}': attribute '{}' has type {}; expected a string", file, name, describe_type(stored.get()));
  }
  std::vector<std::string> values;
  htri_t variable = H5Tis_variable_str(stored.get());
  check(variable, file, fmt::format("inspect the string type of attribute '{}'", name));
  if (variable > 0) {
    Handle memory = utf8_string_type(file);
    std::vector<char*> pointers(count, nullptr);
    check(H5Aread(attribute, memory.get(), pointers.data()), file, fmt::format("read attribute '{}'", name));
    for (char* pointer : pointers) {
      values.emplace_back(pointer == nullptr ? "" : pointer);
      H5free_memory(pointer);
    }
    return values;
  }
  size_t width = H5Tget_size(stored.get());
  std::vector<char> buffer(width * count + 1, '\0');
  check(H5Aread(attribute, stored.get(), buffer.data()), file, fmt::format("read attribute '{}'", name));
  for (size_t i = 0; i < count; ++i) {
    const char* start = buffer.data() + i * width;
    values.emplace_back(start, strnlen(start, width));
  }
  return values;
}

}  // namespace

std::unique_lock<std::recursive_mutex> lock() {
  std::unique_lock<std::recursive_mutex> guard(library_mutex());
  // Thread-safe HDF5 builds keep the error stack (and its printing switch) per thread.
  static thread_local const bool quiet = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)quiet;
  return guard;
}

void check(herr_t status, const std::string& file, std::string_view action) {
  if (status >= 0) return;
  fail("HDF5 could not {} in '{}': {}", action, file, take_hdf5_message());
}

hid_t check_id(hid_t id, const std::string& file, std::string_view action) {
  check(id < 0 ? -1 : 0, file, action);
  return id;
}

Handle::Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    release();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    closer_ = other.closer_;
  }
  return *this;
}

Handle::~Handle() { release(); }

void Handle::release() noexcept {
  if (id_ < 0) return;
  auto guard = lock();
  closer_(id_);
  H5Eclear2(H5E_DEFAULT);
  id_ = H5I_INVALID_HID;
}

void Handle::close(const std::string& file, std::string_view action) {
  if (id_ < 0) return;
  auto guard = lock();
  herr_t status = closer_(std::exchange(id_, H5I_INVALID_HID));
  check(status, file, action);
}

Handle checked_file(hid_t id, const std::string& file, std::string_view action) {
  return checked(id, H5Fclose, file, action);
}
Handle checked_dataset(hid_t id, const std::string& file, std::string_view action) {
  return checked(id, H5Dclose, file, action);
}
Handle checked_space(hid_t id, const std::string& file, std::string_view action) {
  return checked(id, H5Sclose, file, action);
}
Handle checked_type(hid_t id, const std::string& file, std::string_view action) {
  return checked(id, H5Tclose, file, action);
}
Handle checked_plist(hid_t id, const std::string& file, std::string_view action) {
  return checked(id, H5Pclose, file, action);
}
Handle checked_attribute(hid_t id, const std::string& file, std::string_view action) {
  return checked(id, H5Aclose, file, action);
}

void write_int_attribute(hid_t object, const std::string& name, int64_t value, const std::string& file) {
  auto guard = lock();
  Handle space = checked_space(H5Screate(H5S_SCALAR), file, "create a scalar dataspace");
  write_attribute(object, name, H5T_STD_I64LE, space.get(), &value, file);
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file) {
  auto guard = lock();
  Handle type = utf8_string_type(file);
  Handle space = checked_space(H5Screate(H5S_SCALAR), file, "create a scalar dataspace");
  const char* pointer = value.c_str();
  write_attribute(object, name, type.get(), space.get(), &pointer, file);
}

void write_string_list_attribute(hid_t object, const std::string& name,
                                 const std::vector<std::string>& values, const std::string& file) {
  auto guard = lock();
  Handle type = utf8_string_type(file);
  hsize_t count = values.size();
  Handle space = checked_space(H5Screate_simple(1, &count, nullptr), file, "create a 1-D dataspace");
  std::vector<const char*> pointers;
  for (const auto& value : values) pointers.push_back(value.c_str());
  write_attribute(object, name, type.get(), space.get(), pointers.data(), file);
}

std::optional<int64_t> read_int_attribute(hid_t object, const std::string& name, const std::string& file) {
  auto guard = lock();
  if (!has_attribute(object, name, file)) return std::nullopt;
  Handle attribute = open_attribute(object, name, file);
  Handle stored = checked_type(H5Aget_type(attribute.get()), file, fmt::format("get the type of attribute '{}'", name));
  if (H5Tget_class(stored.get()) != H5T_INTEGER || attribute_elements(attribute.get(), name, file) != 1) {
    fail("'{}': attribute '{}' has type {}; expected one integer", file, name, describe_type(stored.get()));
  }
  int64_t value = 0;
  check(H5Aread(attribute.get(), H5T_NATIVE_INT64, &value), file, fmt::format("read attribute '{}'", name));
  return value;
}

std::optional<std::string> read_string_attribute(hid_t object, const std::string& name,
                                                 const std::string& file) {
  auto guard = lock();
  if (!has_attribute(object, name, file)) return std::nullopt;
  Handle attribute = open_attribute(object, name, file);
  if (attribute_elements(attribute.get(), name, file) != 1) {
    fail("'{}': attribute '{}' must hold one string", file, name);
  }
  return read_strings(attribute.get(), name, 1, file).front();
}

std::optional<std::vector<std::string>> read_string_list_attribute(hid_t object, const std::string& name,
                                                                   const std::string& file) {
  auto guard = lock();
  if (!has_attribute(object, name, file)) return std::nullopt;
  Handle attribute = open_attribute(object, name, file);
  auto count = static_cast<size_t>(attribute_elements(attribute.get(), name, file));
  if (count == 0) return std::vector<std::string>{};
  return read_strings(attribute.get(), name, count, file);
}

std::string describe_type(hid_t type) {
  auto guard = lock();
  size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return fmt::format("{}int{}", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
    case H5T_FLOAT:
      return fmt::format("float{}", bits);
    case H5T_STRING:
      return "string";
    default:
      return fmt::format("a non-numeric HDF5 type of {} bits", bits);
  }
}

}  // namespace ember::data::h5
