// Checked access to the HDF5 C API. Every call Ember makes into HDF5 goes through `check` /
// `check_id`, which turn a failure into ember::Error naming the file, the action (dataset or
// attribute included) and HDF5's own innermost message; HDF5's automatic stderr printing is off.
// Handles are RAII (`Handle`), and every HDF5 call happens under one process-wide lock
// (`lock()`), so readers on the loader's prefetch thread and the main thread never race inside
// the library, whatever its thread-safety build option.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ember::data::h5 {

/// Holds the process-wide HDF5 lock (recursive: helpers may nest). Also switches off HDF5's
/// automatic error printing the first time each thread takes it.
std::unique_lock<std::recursive_mutex> lock();

/// Throws ember::Error "HDF5 could not <action> in '<file>': <hdf5 message>" when `status` < 0.
void check(herr_t status, const std::string& file, std::string_view action);

/// Returns `id`, or throws like `check` when it is negative (an invalid handle).
hid_t check_id(hid_t id, const std::string& file, std::string_view action);

/// An owned HDF5 identifier, closed (under the lock) with its matching H5?close function.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  ~Handle();

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now and reports a failed close (which for files can mean unflushed data).
  void close(const std::string& file, std::string_view action);

 private:
  void release() noexcept;
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

/// Checked constructors of owned handles; `action` names the object for error messages.
Handle checked_file(hid_t id, const std::string& file, std::string_view action);
Handle checked_dataset(hid_t id, const std::string& file, std::string_view action);
Handle checked_space(hid_t id, const std::string& file, std::string_view action);
Handle checked_type(hid_t id, const std::string& file, std::string_view action);
Handle checked_plist(hid_t id, const std::string& file, std::string_view action);
Handle checked_attribute(hid_t id, const std::string& file, std::string_view action);

/// Scalar and string attributes on an object (the root group of a file for token stores).
void write_int_attribute(hid_t object, const std::string& name, int64_t value, const std::string& file);
void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const std::string& file);
void write_string_list_attribute(hid_t object, const std::string& name,
                                 const std::vector<std::string>& values, const std::string& file);

/// Readers return nullopt when the attribute is absent and throw ember::Error when it has the
/// wrong class or shape (e.g. a float where an integer belongs).
std::optional<int64_t> read_int_attribute(hid_t object, const std::string& name, const std::string& file);
std::optional<std::string> read_string_attribute(hid_t object, const std::string& name,
                                                 const std::string& file);
std::optional<std::vector<std::string>> read_string_list_attribute(hid_t object, const std::string& name,
                                                                   const std::string& file);

/// "uint16", "int32", "float64", ... for messages about a dataset's stored type.
std::string describe_type(hid_t type);

}  // namespace ember::data::h5
