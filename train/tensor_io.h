// LibTorch tensors <-> safetensors files: named CPU tensors in, named tensors out, dtypes mapped
// both ways (F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL).
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <ATen/Tensor.h>

#include "core/safetensors.h"

namespace ember::train {

/// The safetensors dtype name of a tensor's scalar type; throws ember::Error for unsupported ones.
std::string safetensors_dtype_of(const at::Tensor& tensor);

/// Copies a view out of an open file into a new CPU tensor.
at::Tensor tensor_from_view(const TensorView& view);

/// Writes named tensors (moved to CPU, made contiguous) atomically to `path`.
void save_tensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a safetensors file into CPU tensors.
std::map<std::string, at::Tensor> load_tensors(const std::filesystem::path& path);

}  // namespace ember::train
