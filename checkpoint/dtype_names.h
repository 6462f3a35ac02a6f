// LibTorch scalar types <-> safetensors dtype names, both ways (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL).
#pragma once

#include <string>

#include <ATen/Tensor.h>

namespace ember::checkpoint {

/// The safetensors dtype name of a tensor's scalar type; throws ember::Error for unsupported ones.
std::string safetensors_dtype_of(const at::Tensor& tensor);

/// The LibTorch scalar type of a safetensors dtype name; throws ember::Error for unsupported ones.
at::ScalarType scalar_type_of(const std::string& dtype);

}  // namespace ember::checkpoint
