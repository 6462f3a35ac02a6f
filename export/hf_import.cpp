// Hugging Face directory import (see hf_import.h).
#include "export/hf_import.h"

#include <cstring>
#include <map>
#include <set>

#include <ATen/ops/empty.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/files.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "data/tokenizer/tokenizer.h"
#include "export/hf_config.h"
#include "export/host_dtypes.h"
#include "export/parameter_layout.h"
#include "export/special_tokens.h"
#include "export/staged_output.h"
#include "checkpoint/writer.h"

namespace fs = std::filesystem;

namespace ember::exporting {
namespace {

using nlohmann::json;

json read_json(const fs::path& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    fail("'{}' is not valid JSON: {}", path.string(), e.what());
  }
}

/// The weight files of the directory: the shards of the index, or model.safetensors.
std::vector<fs::path> weight_files(const fs::path& hf_dir) {
  std::error_code ec;
  const fs::path index_path = hf_dir / "model.safetensors.index.json";
  if (fs::is_regular_file(index_path, ec)) {
    const json index = read_json(index_path);
    if (!index.contains("weight_map") || !index["weight_map"].is_object()) {
      fail("'{}' has no weight_map object", index_path.string());
    }
    std::set<std::string> names;
    for (const auto& [tensor, file] : index["weight_map"].items()) {
      if (!file.is_string()) fail("'{}': weight_map entry {} is not a file name", index_path.string(), tensor);
      names.insert(file.get<std::string>());
    }
    std::vector<fs::path> files;
    for (const std::string& name : names) {
      if (name.find('/') != std::string::npos) fail("'{}': shard name '{}' is not a plain file name", index_path.string(), name);
      files.push_back(hf_dir / name);
    }
    return files;
  }
  if (fs::is_regular_file(hf_dir / "model.safetensors", ec)) return {hf_dir / "model.safetensors"};
  fail("'{}' has neither model.safetensors nor model.safetensors.index.json", hf_dir.string());
}

bool skippable(const std::string& name, const model::ModelConfig& config) {
  return name.ends_with("rotary_emb.inv_freq") || (config.tie_embeddings && name == "lm_head.weight");
}

/// Reads and checks every tensor against the layout; returns fp32 CPU tensors by canonical name.
std::map<std::string, at::Tensor> read_weights(const std::vector<fs::path>& files, const model::ModelConfig& config) {
  std::map<std::string, const ParameterSpec*> expected;
  const auto layout = parameter_layout(config);
  for (const ParameterSpec& parameter : layout) expected[parameter.name] = &parameter;

  std::map<std::string, at::Tensor> tensors;
  for (const fs::path& path : files) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) fail("weight file '{}' is missing", path.string());
    SafetensorsFile file = SafetensorsFile::open(path);
    for (const std::string& name : file.names()) {
      if (skippable(name, config)) continue;
      auto found = expected.find(name);
      if (found == expected.end()) {
        fail("'{}' has a tensor {} that a {} model with this config.json does not have", path.string(), name,
             hf_class_name(hf_architecture_of(config)));
      }
      const TensorView& view = file.get(name);
      if (view.shape != found->second->shape) {
        fail("'{}': {} has shape {} but config.json implies {}", path.string(), name, shape_text(view.shape),
             shape_text(found->second->shape));
      }
      if (tensors.count(name)) fail("'{}': tensor {} appears in more than one weight file", path.string(), name);
      const std::vector<float> values = to_float32({view.data, view.nbytes}, view.dtype);
      at::Tensor tensor = at::empty(view.shape, at::kFloat);
      std::memcpy(tensor.data_ptr<float>(), values.data(), values.size() * sizeof(float));
      tensors[name] = std::move(tensor);
    }
  }
  for (const ParameterSpec& parameter : layout) {
    if (!tensors.count(parameter.name)) {
      fail("the weights in '{}' have no {} that config.json requires", files.front().parent_path().string(),
           parameter.name);
    }
  }
  return tensors;
}

/// Reads the chat template: chat_template.jinja wins over tokenizer_config.json's field.
std::string chat_template_of(const fs::path& hf_dir) {
  std::error_code ec;
  if (fs::is_regular_file(hf_dir / "chat_template.jinja", ec)) return read_file(hf_dir / "chat_template.jinja");
  const fs::path config_path = hf_dir / "tokenizer_config.json";
  if (!fs::is_regular_file(config_path, ec)) return "";
  const json config = read_json(config_path);
  if (config.contains("chat_template") && config["chat_template"].is_string()) {
    return config["chat_template"].get<std::string>();
  }
  return "";
}

SpecialTokens special_tokens_of(const fs::path& hf_dir, const ImportedHfConfig& imported, const data::Tokenizer& tokenizer) {
  SpecialTokens special;
  special.bos = imported.bos_token_id;
  special.eos = imported.eos_token_id;
  special.pad = imported.pad_token_id;
  std::error_code ec;
  const fs::path generation_path = hf_dir / "generation_config.json";
  if (fs::is_regular_file(generation_path, ec)) {  // the file serving backends read for stop ids
    const json generation = read_json(generation_path);
    const std::string source = generation_path.string();
    if (generation.contains("eos_token_id")) {
      auto eos = token_id_list(generation["eos_token_id"], "eos_token_id", source);
      if (!eos.empty()) special.eos = eos;
    }
    for (auto [key, target] : {std::pair{"bos_token_id", &special.bos}, std::pair{"pad_token_id", &special.pad}}) {
      if (!generation.contains(key)) continue;
      const auto ids = token_id_list(generation[key], key, source);
      if (ids.size() > 1) fail_usage("'{}': {} must be a single id", source, key);
      if (!ids.empty()) *target = ids.front();
    }
  }
  if (special.eos.empty()) {
    auto eos = tokenizer.token_to_id("<|eos|>");
    if (!eos) fail("'{}' names no eos_token_id (config.json or generation_config.json)", hf_dir.string());
    special.eos = {*eos};
  }
  special.chat_template = chat_template_of(hf_dir);
  if (special.chat_template.empty()) {
    const auto token = [&](std::optional<int64_t> id) -> std::optional<std::string> {
      return id ? tokenizer.id_to_token(int32_t(*id)) : std::nullopt;
    };
    special.chat_template = ember_chat_template(token(special.bos), token(special.eos.front()).value_or(""));
  }
  return special;
}

}  // namespace

fs::path import_hf(const fs::path& hf_dir, const fs::path& out, const RunConfigRenderer& render_config) {
  std::error_code ec;
  if (!fs::is_directory(hf_dir, ec)) fail_usage("--hf '{}' is not a directory", hf_dir.string());
  const fs::path config_path = hf_dir / "config.json";
  if (!fs::is_regular_file(config_path, ec)) fail("'{}' is missing", config_path.string());
  const ImportedHfConfig imported = parse_hf_config(read_json(config_path), config_path.string());
  const model::ModelConfig& model = imported.model;

  const fs::path tokenizer_path = hf_dir / "tokenizer.json";
  if (!fs::is_regular_file(tokenizer_path, ec)) fail("'{}' is missing", tokenizer_path.string());
  const data::Tokenizer tokenizer = data::Tokenizer::load(tokenizer_path.string());
  if (tokenizer.vocab_size() > model.vocab_size) {
    fail("tokenizer '{}' has {} ids but config.json's vocab_size is {}", tokenizer_path.string(), tokenizer.vocab_size(),
         model.vocab_size);
  }
  SpecialTokens special = special_tokens_of(hf_dir, imported, tokenizer);
  check_special_tokens(special, model.vocab_size, config_path.string());
  auto weights = read_weights(weight_files(hf_dir), model);

  StagedOutput staged(out, StagedOutput::Kind::kDirectory, is_absent_or_empty_directory);
  const fs::path final_dir = fs::absolute(staged.destination()).lexically_normal();
  const fs::path final_tokenizer = final_dir / "tokenizer.json";
  tokenizer.save((staged.path() / "tokenizer.json").string());

  const std::string yaml = render_config(model, final_dir, final_tokenizer);
  write_file_atomic(staged.path() / "config.yaml", yaml);

  checkpoint::Checkpoint imported_checkpoint;
  imported_checkpoint.step = 0;
  imported_checkpoint.model = std::move(weights);
  imported_checkpoint.info.config_yaml = yaml;
  imported_checkpoint.info.tokenizer_json = tokenizer.to_json();
  json record = special_tokens_to_json(special);
  record["source"] = fs::absolute(hf_dir).lexically_normal().string();
  record["architecture"] = hf_class_name(imported.architecture);
  imported_checkpoint.info.state = {{"import", record}};
  const fs::path staged_checkpoint = checkpoint::CheckpointWriter(staged.path(), 1).save(imported_checkpoint);
  const fs::path checkpoint_dir = final_dir / fs::relative(staged_checkpoint, staged.path());
  staged.commit();
  log::info("imported {} ({}) into {}", hf_dir.string(), hf_class_name(imported.architecture), checkpoint_dir.string());
  return checkpoint_dir;
}

}  // namespace ember::exporting
