// LibTorch tensors <-> safetensors (see tensor_io.h).
#include "train/tensor_io.h"

#include <cstring>
#include <vector>

#include <ATen/ops/empty.h>

#include "core/error.h"

namespace ember::train {
namespace {

struct DtypeName {
  at::ScalarType type;
  const char* name;
};

constexpr DtypeName kDtypes[] = {
    {at::kFloat, "F32"}, {at::kHalf, "F16"}, {at::kBFloat16, "BF16"}, {at::kDouble, "F64"},
    {at::kLong, "I64"},  {at::kInt, "I32"},  {at::kShort, "I16"},     {at::kChar, "I8"},
    {at::kByte, "U8"},   {at::kBool, "BOOL"},
};

}  // namespace

std::string safetensors_dtype_of(const at::Tensor& tensor) {
  for (const auto& d : kDtypes) {
    if (d.type == tensor.scalar_type()) return d.name;
  }
  fail("cannot store tensors of type {} in safetensors", c10::toString(tensor.scalar_type()));
}

at::Tensor tensor_from_view(const TensorView& view) {
  for (const auto& d : kDtypes) {
    if (view.dtype == d.name) {
      auto tensor = at::empty(view.shape, at::TensorOptions().dtype(d.type));
      if (view.nbytes != size_t(tensor.nbytes())) fail("tensor byte count does not match its shape");
      if (view.nbytes > 0) std::memcpy(tensor.data_ptr(), view.data, view.nbytes);
      return tensor;
    }
  }
  fail("safetensors dtype {} has no LibTorch equivalent here", view.dtype);
}

void save_tensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<at::Tensor> host;  // keeps the bytes alive until write() returns
  host.reserve(tensors.size());
  SafetensorsWriter writer;
  for (const auto& [name, tensor] : tensors) {
    host.push_back(tensor.detach().to(at::kCPU).contiguous());
    const auto& t = host.back();
    writer.add(name, safetensors_dtype_of(t), t.sizes().vec(),
               std::span(static_cast<const std::byte*>(t.data_ptr()), size_t(t.nbytes())));
  }
  writer.set_metadata(metadata);
  writer.write(path);
}

std::map<std::string, at::Tensor> load_tensors(const std::filesystem::path& path) {
  auto file = SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> tensors;
  for (const auto& name : file.names()) tensors[name] = tensor_from_view(file.get(name));
  return tensors;
}

}  // namespace ember::train
