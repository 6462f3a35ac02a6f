// Model-to-file mappings: parameter layout, config.json round trip and rejection of unsupported
// Hugging Face fields, and the llama.cpp RoPE row permutation.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "export/gguf_export.h"
#include "export/hf_config.h"
#include "export/parameter_layout.h"

namespace ember::exporting {
namespace {

model::ModelConfig small_config() {
  model::ModelConfig config{.vocab_size = 100, .d_model = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2,
                            .head_dim = 16, .ffn_hidden = 48, .max_seq_len = 64, .tie_embeddings = false};
  return config;
}

TEST(ParameterLayout, ListsCanonicalNamesAndShapes) {
  auto config = small_config();
  config.qk_norm = true;
  auto layout = parameter_layout(config);
  ASSERT_EQ(layout.size(), 1 + 2 * 11 + 2u);
  EXPECT_EQ(layout.front().name, "model.embed_tokens.weight");
  EXPECT_EQ(layout[2].name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(layout[2].shape, (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(layout[3].shape, (std::vector<int64_t>{32, 32}));  // k: 2 kv heads x 16
  EXPECT_EQ(layout.back().name, "lm_head.weight");
  config.tie_embeddings = true;
  config.qk_norm = false;
  config.attn_bias = true;
  layout = parameter_layout(config);
  EXPECT_EQ(layout.back().name, "model.norm.weight");
  EXPECT_EQ(layout[3].name, "model.layers.0.self_attn.q_proj.bias");
}

TEST(HfConfig, RoundTripsEveryFamily) {
  SpecialTokens special;
  special.bos = 0;
  special.eos = {1, 2};
  for (int family = 0; family < 3; ++family) {
    auto config = small_config();
    config.qk_norm = family == 1;
    config.attn_bias = family == 2;
    auto json = hf_config_json(config, special, "bfloat16");
    EXPECT_EQ(json["head_dim"], 16);
    EXPECT_EQ(json["eos_token_id"], nlohmann::json({1, 2}));
    auto imported = parse_hf_config(json, "config.json");
    EXPECT_EQ(imported.model.head_dim, 16);
    EXPECT_EQ(imported.model.n_kv_heads, 2);
    EXPECT_EQ(imported.model.qk_norm, config.qk_norm);
    EXPECT_EQ(imported.model.attn_bias, config.attn_bias);
    EXPECT_EQ(imported.model.tie_embeddings, false);
    EXPECT_EQ(imported.eos_token_id, (std::vector<int64_t>{1, 2}));
  }
  auto both = small_config();
  both.qk_norm = both.attn_bias = true;
  EXPECT_THROW(hf_architecture_of(both), UsageError);
}

void expect_rejected(nlohmann::json config, const std::string& named) {
  try {
    parse_hf_config(config, "dir/config.json");
    FAIL() << "accepted " << config.dump();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(named), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("dir/config.json"), std::string::npos) << e.what();
  }
}

TEST(HfConfig, RejectsUnsupportedArchitecturesAndFields) {
  const auto base = hf_config_json(small_config(), SpecialTokens{std::nullopt, {1}, std::nullopt, ""}, "float32");
  auto with = [&](const std::string& key, nlohmann::json value) {
    auto config = base;
    config[key] = std::move(value);
    return config;
  };
  expect_rejected(with("architectures", {"MixtralForCausalLM"}), "MixtralForCausalLM");
  expect_rejected(with("rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}}), "rope_scaling");
  expect_rejected(with("num_local_experts", 8), "num_local_experts");
  expect_rejected(with("hidden_act", "gelu"), "hidden_act");
  expect_rejected(with("attention_bias", true), "attention_bias");
  expect_rejected(with("use_sliding_window", true), "use_sliding_window");
  expect_rejected(with("rope_parameters", {{"rope_type", "yarn"}, {"factor", 4.0}}), "rope_type");
  auto missing = base;
  missing.erase("hidden_size");
  expect_rejected(missing, "hidden_size");
}

// Found by fuzz_hf_config: a non-string model_type or hidden_act escaped as nlohmann's type_error.
TEST(HfConfig, MistypedStringFieldsAreUsageErrors) {
  auto config = hf_config_json(small_config(), SpecialTokens{std::nullopt, {1}, std::nullopt, ""}, "float32");
  for (const char* key : {"model_type", "hidden_act"}) {
    auto mistyped = config;
    mistyped[key] = 2;
    expect_rejected(mistyped, std::string(key) + " must be a string, got 2");
  }
}

TEST(RopePermutation, MatchesLlamaCppConvertFormula) {
  // 2 heads of dim 4, 1 column: GGUF row h*d + 2i + j = HF row h*d + j*d/2 + i.
  std::vector<float> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(permute_rope_rows(rows, 8, 1, 2), (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  std::vector<float> wide = {0, 10, 1, 11, 2, 12, 3, 13};  // 4 rows x 2 columns, one head
  EXPECT_EQ(permute_rope_rows(wide, 4, 2, 1), (std::vector<float>{0, 10, 2, 12, 1, 11, 3, 13}));
}

}  // namespace
}  // namespace ember::exporting
