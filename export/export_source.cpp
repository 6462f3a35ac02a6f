// Opening and validating an Ember checkpoint for export (see export_source.h).
#include "export/export_source.h"

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "checkpoint/resolve.h"
#include "checkpoint/run_files.h"
#include "checkpoint/verify.h"
#include "core/config/loader.h"
#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/sha256.h"

namespace fs = std::filesystem;

namespace ember::exporting {

std::vector<float> ExportSource::values(const ParameterSpec& parameter) const {
  const at::Tensor tensor = weights.read(parameter.name);
  const float* data = tensor.data_ptr<float>();
  return std::vector<float>(data, data + tensor.numel());
}

namespace {

/// --tokenizer, else the checkpoint's own tokenizer.json, else the run config's data.tokenizer
/// (checkpoints written before they carried their tokenizer).
fs::path find_tokenizer(const fs::path& dir, const std::string& config_yaml,
                        const std::optional<fs::path>& tokenizer_override) {
  if (tokenizer_override) return *tokenizer_override;
  std::error_code ec;
  if (fs::is_regular_file(dir / "tokenizer.json", ec)) return checkpoint::checkpoint_tokenizer(dir);
  const auto raw = config::load_text(config_yaml, "config in '" + (dir / "manifest.json").string() + "'");
  if (raw.contains("data.tokenizer") && raw.at("data.tokenizer").node.IsScalar()) {
    return raw.at("data.tokenizer").node.as<std::string>();
  }
  fail("checkpoint '{}' has no tokenizer.json and its config no data.tokenizer; pass --tokenizer FILE", dir.string());
}

void check_weights(const checkpoint::CheckpointReader& weights, const std::vector<ParameterSpec>& layout) {
  const std::string file = "checkpoint '" + weights.dir().string() + "'";
  std::set<std::string> expected;
  for (const ParameterSpec& parameter : layout) {
    expected.insert(parameter.name);
    if (!weights.contains(parameter.name) || weights.tensor(parameter.name).group != "model") {
      fail("{} has no tensor {} that the model config requires", file, parameter.name);
    }
    const auto& record = weights.tensor(parameter.name);
    if (record.dtype != "F32") fail("{}: {} is {}, expected F32", file, parameter.name, record.dtype);
    if (record.shape != parameter.shape) {
      fail("{}: {} has shape {} but the model config implies {}", file, parameter.name, shape_text(record.shape),
           shape_text(parameter.shape));
    }
  }
  for (const std::string& name : weights.names("model")) {
    if (!expected.count(name)) fail("{} has a tensor {} that the model config does not have", file, name);
  }
}

/// A --tokenizer whose contents differ from the tokenizer.json the checkpoint records: refused
/// unless allowed, then a warning.
void check_tokenizer_override(const fs::path& dir, const fs::path& chosen, bool allow_other) {
  std::error_code ec;
  if (!fs::is_regular_file(dir / "tokenizer.json", ec) || !fs::is_regular_file(chosen, ec)) return;
  const fs::path own = checkpoint::checkpoint_tokenizer(dir);
  if (sha256_file(own.string()) == sha256_file(chosen.string())) return;
  if (!allow_other) {
    fail_usage("tokenizer '{}' differs from the one checkpoint '{}' was trained with ({}): its ids would mean other "
               "strings; omit --tokenizer, or pass --allow-other-tokenizer if the ids are known to agree",
               chosen.string(), dir.string(), own.string());
  }
  log::warn("exporting with tokenizer '{}', which differs from the checkpoint's own '{}' (--allow-other-tokenizer)",
            chosen.string(), own.string());
}

}  // namespace

ExportSource open_export_source(const fs::path& checkpoint, const std::optional<fs::path>& tokenizer_override,
                                bool allow_other_tokenizer) {
  const fs::path dir = checkpoint::resolve_checkpoint(checkpoint);
  const checkpoint::Manifest manifest = checkpoint::verify_checkpoint(dir);
  const fs::path manifest_path = dir / checkpoint::kManifestName;
  const model::ModelConfig model = checkpoint::read_model_config(dir);
  const fs::path tokenizer_path = find_tokenizer(dir, manifest.config_yaml, tokenizer_override);
  std::error_code ec;
  if (!fs::is_regular_file(tokenizer_path, ec)) {
    fail("tokenizer '{}' for checkpoint '{}' does not exist; pass --tokenizer FILE", tokenizer_path.string(),
         dir.string());
  }
  if (tokenizer_override) check_tokenizer_override(dir, tokenizer_path, allow_other_tokenizer);
  data::Tokenizer tokenizer = data::Tokenizer::load(tokenizer_path.string());
  if (tokenizer.vocab_size() > model.vocab_size) {
    fail("tokenizer '{}' has {} ids but the model in '{}' has only {} embedding rows (model.vocab_size)",
         tokenizer_path.string(), tokenizer.vocab_size(), dir.string(), model.vocab_size);
  }

  const auto& state = manifest.state;
  SpecialTokens special = state.contains("import")
                              ? special_tokens_from_json(state["import"], manifest_path.string())
                              : ember_special_tokens(tokenizer, tokenizer_path.string());
  check_special_tokens(special, model.vocab_size, manifest_path.string());

  checkpoint::CheckpointReader weights(dir);
  auto layout = parameter_layout(model);
  check_weights(weights, layout);
  return ExportSource{dir,     manifest.step,      model, tokenizer_path, std::move(tokenizer),
                      special, std::move(weights), std::move(layout)};
}

}  // namespace ember::exporting
