// Model config and tokenizer of a checkpoint (see run_files.h).
#include "checkpoint/run_files.h"

#include "checkpoint/manifest.h"
#include "checkpoint/verify.h"
#include "core/config/loader.h"
#include "core/error.h"
#include "model/model_schema.h"

namespace fs = std::filesystem;

namespace ember::checkpoint {

model::ModelConfig read_model_config(const fs::path& dir) {
  const Manifest manifest = Manifest::read(dir);
  if (manifest.config_yaml.empty()) {
    fail("checkpoint manifest '{}' records no run config, so the model architecture is unknown",
         (dir / kManifestName).string());
  }
  const auto raw = config::load_text(manifest.config_yaml, "config in '" + (dir / kManifestName).string() + "'");
  config::RawConfig model_keys;
  for (const auto& key : raw.keys()) {
    if (key.rfind("model.", 0) == 0) model_keys.set(key, raw.at(key));
  }
  model::ModelConfig model;
  config::Schema schema;
  model::describe_model(schema, model);
  schema.apply(model_keys);
  return model;
}

fs::path checkpoint_tokenizer(const fs::path& dir) {
  const Manifest manifest = Manifest::read(dir);
  auto it = manifest.files.find("tokenizer.json");
  if (it == manifest.files.end()) fail("checkpoint '{}' has no tokenizer.json in its manifest", dir.string());
  verify_file(dir, "tokenizer.json", it->second);
  return dir / "tokenizer.json";
}

}  // namespace ember::checkpoint
