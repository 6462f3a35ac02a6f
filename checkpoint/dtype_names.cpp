// LibTorch scalar types <-> safetensors dtype names (see dtype_names.h).
#include "checkpoint/dtype_names.h"

#include "core/error.h"

namespace ember::checkpoint {
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

at::ScalarType scalar_type_of(const std::string& dtype) {
  for (const auto& d : kDtypes) {
    if (dtype == d.name) return d.type;
  }
  fail("safetensors dtype {} has no LibTorch equivalent here", dtype);
}

}  // namespace ember::checkpoint
