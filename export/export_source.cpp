// Opening and validating an Ember checkpoint for export (see export_source.h).
#include "export/export_source.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/config/loader.h"
#include "core/error.h"
#include "core/files.h"
#include "train/checkpoint.h"

namespace fs = std::filesystem;

namespace ember::exporting {

std::span<const float> ExportSource::values(const ParameterSpec& parameter) const {
  const TensorView& view = weights.get(parameter.name);
  return {reinterpret_cast<const float*>(view.data), size_t(view.numel())};
}

namespace {

/// --tokenizer, else the checkpoint's own tokenizer.json, else the run config's data.tokenizer
/// (checkpoints written before they carried their tokenizer).
fs::path find_tokenizer(const fs::path& dir, const std::string& config_yaml,
                        const std::optional<fs::path>& tokenizer_override) {
  if (tokenizer_override) return *tokenizer_override;
  std::error_code ec;
  if (fs::is_regular_file(dir / "tokenizer.json", ec)) return train::checkpoint_tokenizer(dir);
  const auto raw = config::load_text(config_yaml, "config in '" + (dir / "manifest.json").string() + "'");
  if (raw.contains("data.tokenizer") && raw.at("data.tokenizer").node.IsScalar()) {
    return raw.at("data.tokenizer").node.as<std::string>();
  }
  fail("checkpoint '{}' has no tokenizer.json and its config no data.tokenizer; pass --tokenizer FILE", dir.string());
}

void check_weights(const SafetensorsFile& weights, const std::vector<ParameterSpec>& layout) {
  const std::string file = weights.path().string();
  std::set<std::string> expected;
  for (const ParameterSpec& parameter : layout) {
    expected.insert(parameter.name);
    if (!weights.contains(parameter.name)) {
      fail("'{}' has no tensor {} that the model config requires", file, parameter.name);
    }
    const TensorView& view = weights.get(parameter.name);
    if (view.dtype != "F32") fail("'{}': {} is {}, expected F32", file, parameter.name, view.dtype);
    if (view.shape != parameter.shape) {
      fail("'{}': {} has shape {} but the model config implies {}", file, parameter.name, shape_text(view.shape),
           shape_text(parameter.shape));
    }
  }
  for (const std::string& name : weights.names()) {
    if (!expected.count(name)) fail("'{}' has a tensor {} that the model config does not have", file, name);
  }
}

}  // namespace

ExportSource open_export_source(const fs::path& checkpoint, const std::optional<fs::path>& tokenizer_override) {
  const fs::path dir = train::resolve_checkpoint(checkpoint);
  train::verify_checkpoint(dir);
  const fs::path manifest_path = dir / "manifest.json";
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(read_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    fail("'{}' is not valid JSON: {}", manifest_path.string(), e.what());
  }
  if (!manifest.contains("config") || !manifest["config"].is_string()) {
    fail("'{}' records no run config, so the model architecture is unknown", manifest_path.string());
  }
  const model::ModelConfig model = train::read_model_config(dir);
  const fs::path tokenizer_path = find_tokenizer(dir, manifest["config"].get<std::string>(), tokenizer_override);
  std::error_code ec;
  if (!fs::is_regular_file(tokenizer_path, ec)) {
    fail("tokenizer '{}' for checkpoint '{}' does not exist; pass --tokenizer FILE", tokenizer_path.string(),
         dir.string());
  }
  data::Tokenizer tokenizer = data::Tokenizer::load(tokenizer_path.string());
  if (tokenizer.vocab_size() > model.vocab_size) {
    fail("tokenizer '{}' has {} ids but the model in '{}' has only {} embedding rows (model.vocab_size)",
         tokenizer_path.string(), tokenizer.vocab_size(), dir.string(), model.vocab_size);
  }

  const auto state = manifest.value("state", nlohmann::json::object());
  SpecialTokens special = state.contains("import")
                              ? special_tokens_from_json(state["import"], manifest_path.string())
                              : ember_special_tokens(tokenizer, tokenizer_path.string());
  check_special_tokens(special, model.vocab_size, manifest_path.string());

  SafetensorsFile weights = SafetensorsFile::open(dir / "model.safetensors");
  auto layout = parameter_layout(model);
  check_weights(weights, layout);
  return ExportSource{dir,       manifest.value("step", int64_t(0)), model, tokenizer_path, std::move(tokenizer),
                      special,   std::move(weights),                  std::move(layout)};
}

}  // namespace ember::exporting
