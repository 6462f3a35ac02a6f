// Hugging Face directory export (see hf_export.h).
#include "export/hf_export.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "export/hf_config.h"
#include "export/hf_tokenizer_files.h"
#include "export/host_dtypes.h"
#include "export/staged_output.h"

namespace fs = std::filesystem;

namespace ember::exporting {
namespace {

struct DtypeInfo {
  const char* safetensors;
  const char* torch;
  int64_t bytes;
};

DtypeInfo info_of(HfDtype dtype) {
  switch (dtype) {
    case HfDtype::kBF16: return {"BF16", "bfloat16", 2};
    case HfDtype::kF16: return {"F16", "float16", 2};
    case HfDtype::kF32: break;
  }
  return {"F32", "float32", 4};
}

/// Groups the layout into shards of at most max_bytes each (a tensor larger than that gets a
/// shard of its own), keeping canonical order.
std::vector<std::vector<const ParameterSpec*>> plan_shards(const std::vector<ParameterSpec>& layout, int64_t element_bytes,
                                                           int64_t max_bytes) {
  std::vector<std::vector<const ParameterSpec*>> shards(1);
  int64_t filled = 0;
  for (const ParameterSpec& parameter : layout) {
    const int64_t bytes = parameter.numel() * element_bytes;
    if (!shards.back().empty() && filled + bytes > max_bytes) {
      shards.emplace_back();
      filled = 0;
    }
    shards.back().push_back(&parameter);
    filled += bytes;
  }
  return shards;
}

/// Streams one safetensors shard: the header first (every size follows from the layout), then each
/// tensor read from the checkpoint, converted and written in turn, so memory holds one tensor.
void write_shard(const ExportSource& source, const std::vector<const ParameterSpec*>& shard, HfDtype dtype,
                 const fs::path& path) {
  const DtypeInfo info = info_of(dtype);
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  int64_t offset = 0;
  for (const ParameterSpec* parameter : shard) {
    const int64_t bytes = parameter->numel() * info.bytes;
    header[parameter->name] = {{"dtype", info.safetensors}, {"shape", parameter->shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_size = text.size();  // u64 little-endian, as the hosts Ember builds for
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(&header_size), sizeof header_size);
  out.write(text.data(), std::streamsize(text.size()));
  for (const ParameterSpec* parameter : shard) {
    const std::vector<float> values = source.values(*parameter);
    if (dtype == HfDtype::kF32) {
      out.write(reinterpret_cast<const char*>(values.data()), std::streamsize(values.size() * sizeof(float)));
    } else {
      const auto converted = dtype == HfDtype::kBF16 ? to_bf16_bytes(values) : to_f16_bytes(values);
      out.write(reinterpret_cast<const char*>(converted.data()), std::streamsize(converted.size()));
    }
    if (!out) break;
  }
  out.close();
  if (!out) fail("cannot write '{}': {}", path.string(), std::strerror(errno));
  fsync_path(path);
}

std::string pretty(const nlohmann::json& value) { return value.dump(2) + "\n"; }

}  // namespace

HfDtype parse_hf_dtype(const std::string& text) {
  if (text == "f32") return HfDtype::kF32;
  if (text == "bf16") return HfDtype::kBF16;
  if (text == "f16") return HfDtype::kF16;
  fail_usage("--dtype '{}' is not supported for --format hf (choose f32, bf16 or f16)", text);
}

bool is_previous_hf_export(const fs::path& path) {
  std::error_code ec;
  if (is_absent_or_empty_directory(path)) return true;
  return fs::is_directory(path, ec) && fs::is_regular_file(path / "config.json", ec) &&
         (fs::is_regular_file(path / "model.safetensors", ec) ||
          fs::is_regular_file(path / "model.safetensors.index.json", ec));
}

void export_hf(const ExportSource& source, const fs::path& out, const HfExportOptions& options) {
  if (options.max_shard_bytes < 1) fail_usage("--max-shard-size must be positive");
  const DtypeInfo info = info_of(options.dtype);
  const nlohmann::json config = hf_config_json(source.model, source.special, info.torch);
  const nlohmann::json tokenizer_config =
      tokenizer_config_json(source.tokenizer, source.special, source.model.max_seq_len);

  StagedOutput staged(out, StagedOutput::Kind::kDirectory, is_previous_hf_export);
  const fs::path dir = staged.path();
  const auto shards = plan_shards(source.layout, info.bytes, options.max_shard_bytes);
  if (shards.size() == 1) {
    write_shard(source, shards.front(), options.dtype, dir / "model.safetensors");
  } else {
    nlohmann::json weight_map = nlohmann::json::object();
    int64_t total_bytes = 0;
    for (size_t i = 0; i < shards.size(); ++i) {
      const std::string file = fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size());
      write_shard(source, shards[i], options.dtype, dir / file);
      for (const ParameterSpec* parameter : shards[i]) {
        weight_map[parameter->name] = file;
        total_bytes += parameter->numel() * info.bytes;
      }
    }
    const nlohmann::json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
    write_file_atomic(dir / "model.safetensors.index.json", pretty(index));
  }
  write_file_atomic(dir / "config.json", pretty(config));
  write_file_atomic(dir / "generation_config.json", pretty(generation_config_json(source.special)));
  write_file_atomic(dir / "tokenizer.json", source.tokenizer.to_json());
  write_file_atomic(dir / "tokenizer_config.json", pretty(tokenizer_config));
  write_file_atomic(dir / "chat_template.jinja", source.special.chat_template);
  staged.commit();
  log::info("exported {} ({} step {}) to {} as {} in {} shard(s)", hf_class_name(hf_architecture_of(source.model)),
            source.checkpoint_dir.string(), source.step, out.string(), info.torch, shards.size());
}

}  // namespace ember::exporting
