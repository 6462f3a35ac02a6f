// Model presets in configs/model/: each loads into a ModelConfig, is a valid architecture, and
// its header comment states its exact parameter count (model/flops.h).
#include <filesystem>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "core/files.h"
#include "model/flops.h"

namespace fs = std::filesystem;
using namespace ember;
using namespace ember::model;

namespace {

ModelConfig load_preset(const fs::path& path) {
  YAML::Node model = YAML::LoadFile(path.string())["model"];
  ModelConfig c;
  c.vocab_size = model["vocab_size"].as<int64_t>();
  c.d_model = model["d_model"].as<int64_t>();
  c.n_layers = model["n_layers"].as<int64_t>();
  c.n_heads = model["n_heads"].as<int64_t>();
  c.n_kv_heads = model["n_kv_heads"].as<int64_t>();
  c.head_dim = model["head_dim"].as<int64_t>();
  c.ffn_hidden = model["ffn_hidden"].as<int64_t>();
  c.max_seq_len = model["max_seq_len"].as<int64_t>();
  c.qk_norm = model["qk_norm"].as<bool>();
  c.attn_bias = model["attn_bias"].as<bool>();
  c.tie_embeddings = model["tie_embeddings"].as<bool>();
  return c;
}

/// The number after "Parameters:" in the header comment, without separators.
int64_t documented_parameters(const fs::path& path) {
  std::smatch match;
  std::string text = read_file(path);
  if (!std::regex_search(text, match, std::regex("Parameters: ([0-9,]+)"))) return -1;
  std::string digits;
  for (char ch : match[1].str()) {
    if (ch != ',') digits += ch;
  }
  return std::stoll(digits);
}

}  // namespace

TEST(Presets, DocumentedParameterCountsAreExact) {
  const fs::path dir = fs::path(EMBER_SOURCE_DIR) / "configs/model";
  for (const char* name : {"nano", "nano-student", "25m", "1b", "8b"}) {
    auto path = dir / (std::string(name) + ".yaml");
    ModelConfig c = load_preset(path);
    EXPECT_EQ(c.n_heads % c.n_kv_heads, 0) << name;
    EXPECT_EQ(c.resolved_head_dim() % 2, 0) << name;
    EXPECT_EQ(count_parameters(c), documented_parameters(path)) << name;
  }
}

TEST(Presets, StudentIsAtMostAThirdOfNano) {
  const fs::path dir = fs::path(EMBER_SOURCE_DIR) / "configs/model";
  ModelConfig nano = load_preset(dir / "nano.yaml"), student = load_preset(dir / "nano-student.yaml");
  EXPECT_EQ(student.vocab_size, nano.vocab_size);
  EXPECT_LE(3 * count_parameters(student), count_parameters(nano));
}

TEST(Presets, LlamaShapesMatchThePublishedSizes) {
  const fs::path dir = fs::path(EMBER_SOURCE_DIR) / "configs/model";
  EXPECT_EQ(count_parameters(load_preset(dir / "1b.yaml")), 1235814400);  // Llama-3.2-1B
  EXPECT_EQ(count_parameters(load_preset(dir / "8b.yaml")), 8030261248);  // Llama-3-8B
}
