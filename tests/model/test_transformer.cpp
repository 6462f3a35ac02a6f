// Golden test: the Transformer against an independent PyTorch implementation (golden_reference.py,
// itself checked against Hugging Face's Llama / Qwen2 / Qwen3): same weights and inputs through
// safetensors give the same logits (fp32, 1e-5), loss, every gradient, and 10 AdamW-step losses.
// Cases: GQA untied, MHA tied, Qwen3 QK-norm, Qwen2 q/k/v bias, packed documents.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>

#include "core/error.h"
#include "core/files.h"
#include "core/safetensors.h"
#include "core/sha256.h"
#include "model/flops.h"
#include "model/loss.h"
#include "model/transformer.h"

namespace fs = std::filesystem;
using namespace ember;
using namespace ember::model;

namespace {

/// Runs golden_reference.py once per version of the script (cached by its hash under the build dir).
fs::path golden_dir() {
  static const fs::path dir = [] {
    fs::path script = fs::path(EMBER_SOURCE_DIR) / "tests/model/golden_reference.py";
    fs::path out = fs::path(EMBER_BINARY_DIR) / "test-scratch/golden_model" / sha256_hex(read_file(script)).substr(0, 16);
    if (!fs::exists(out)) {
      make_directories(out.parent_path());
      std::string command = std::string(EMBER_PYTHON) + " " + script.string() + " " + out.string();
      if (std::system(command.c_str()) != 0) fail("golden reference script failed: {}", command);
    }
    return out;
  }();
  return dir;
}

at::Tensor to_tensor(const TensorView& view) {
  auto dtype = view.dtype == "F32" ? at::kFloat : view.dtype == "I64" ? at::kLong : throw Error("dtype " + view.dtype);
  auto tensor = at::empty(view.shape, at::TensorOptions().dtype(dtype));
  std::memcpy(tensor.data_ptr(), view.data, view.nbytes);
  return tensor;
}

ModelConfig config_from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text);
  ModelConfig c;
  c.vocab_size = j["vocab_size"];
  c.d_model = j["d_model"];
  c.n_layers = j["n_layers"];
  c.n_heads = j["n_heads"];
  c.n_kv_heads = j["n_kv_heads"];
  c.head_dim = j["head_dim"];
  c.ffn_hidden = j["ffn_hidden"];
  c.max_seq_len = j["max_seq_len"];
  c.rope_theta = j["rope_theta"];
  c.norm_eps = j["norm_eps"];
  c.qk_norm = j["qk_norm"];
  c.attn_bias = j["attn_bias"];
  c.tie_embeddings = j["tie_embeddings"];
  c.init_std = j["init_std"];
  return c;
}

void expect_close(const at::Tensor& actual, const at::Tensor& expected, double atol, double rtol, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  double error = (actual - expected).abs().max().item<double>();
  double allowed = atol + rtol * expected.abs().max().item<double>();
  EXPECT_LE(error, allowed) << what;
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, LogitsLossGradientsAndAdamWStepsMatchPyTorch) {
  auto file = SafetensorsFile::open(golden_dir() / (GetParam() + ".safetensors"));
  ModelConfig config = config_from_json(file.metadata().at("config"));
  torch::manual_seed(0);
  Transformer model(config);

  // Canonical names: exactly the reference's parameter set, loaded by name.
  std::set<std::string> reference_names, model_names;
  for (const auto& name : file.names()) {
    if (name.rfind("param.", 0) == 0) reference_names.insert(name.substr(6));
  }
  {
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      model_names.insert(item.key());
      item.value().copy_(to_tensor(file.get("param." + item.key())));
    }
  }
  EXPECT_EQ(model_names, reference_names);
  EXPECT_EQ(count_parameters(config), [&] {
    int64_t n = 0;
    for (const auto& p : model->parameters()) n += p.numel();
    return n;
  }());

  auto input_ids = to_tensor(file.get("input_ids"));
  auto targets = to_tensor(file.get("targets"));
  auto doc_ids = file.contains("doc_ids") ? to_tensor(file.get("doc_ids")) : at::Tensor();

  auto logits = model->forward(input_ids, doc_ids);
  expect_close(logits, to_tensor(file.get("logits")), 1e-5, 0, "logits");
  auto loss = cross_entropy_mean(logits, targets);
  expect_close(loss, to_tensor(file.get("loss")), 1e-6, 1e-6, "loss");
  loss.backward();
  for (auto& item : model->named_parameters()) {
    expect_close(item.value().grad(), to_tensor(file.get("grad." + item.key())), 1e-6, 1e-5, "grad " + item.key());
  }

  torch::NoGradGuard no_grad_reset;
  for (auto& item : model->named_parameters()) item.value().copy_(to_tensor(file.get("param." + item.key())));
  torch::AutoGradMode grad_mode(true);
  double lr = std::stod(file.metadata().at("lr")), weight_decay = std::stod(file.metadata().at("weight_decay"));
  torch::optim::AdamW optimizer(model->parameters(), torch::optim::AdamWOptions(lr).weight_decay(weight_decay));
  auto expected_losses = to_tensor(file.get("losses"));
  for (int64_t step = 0; step < expected_losses.size(0); ++step) {
    optimizer.zero_grad();
    auto step_loss = cross_entropy_mean(model->forward(input_ids, doc_ids), targets);
    step_loss.backward();
    optimizer.step();
    EXPECT_NEAR(step_loss.item<double>(), expected_losses[step].item<double>(), 2e-5) << "AdamW step " << step;
  }
  EXPECT_LT(expected_losses[-1].item<double>(), expected_losses[0].item<double>());
}

INSTANTIATE_TEST_SUITE_P(Model, Golden,
                         ::testing::Values("llama_gqa_untied", "llama_mha_tied", "qwen3_qk_norm", "qwen2_attn_bias",
                                           "packed_documents"));

TEST(Transformer, CanonicalParameterNames) {
  ModelConfig config{.n_layers = 1, .qk_norm = true, .attn_bias = true, .tie_embeddings = false};
  Transformer model(config);
  std::set<std::string> names;
  for (const auto& item : model->named_parameters()) names.insert(item.key());
  std::set<std::string> expected = {
      "model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
      "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
      "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
      "model.layers.0.self_attn.q_proj.bias", "model.layers.0.self_attn.k_proj.bias",
      "model.layers.0.self_attn.v_proj.bias", "model.layers.0.self_attn.q_norm.weight",
      "model.layers.0.self_attn.k_norm.weight", "model.layers.0.mlp.gate_proj.weight",
      "model.layers.0.mlp.up_proj.weight", "model.layers.0.mlp.down_proj.weight",
      "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight"};
  EXPECT_EQ(names, expected);
}

TEST(Transformer, InitFollowsTheStatedStds) {
  ModelConfig config{.d_model = 256, .n_layers = 8, .ffn_hidden = 768};
  torch::manual_seed(1);
  Transformer model(config);
  auto params = model->named_parameters();
  EXPECT_NEAR(params["model.embed_tokens.weight"].std().item<double>(), 0.02, 1e-3);
  EXPECT_NEAR(params["model.layers.0.mlp.up_proj.weight"].std().item<double>(), 0.02, 1e-3);
  EXPECT_NEAR(params["model.layers.3.mlp.down_proj.weight"].std().item<double>(), 0.02 / 4.0, 2e-4);
  EXPECT_NEAR(params["model.layers.3.self_attn.o_proj.weight"].std().item<double>(), 0.02 / 4.0, 2e-4);
  EXPECT_TRUE(params["model.norm.weight"].eq(1).all().item<bool>());
}

TEST(Transformer, PackedRowsWithOneDocumentEqualPlainCausal) {
  ModelConfig config;
  config.vocab_size = 97;
  torch::manual_seed(2);
  Transformer model(config);
  auto ids = at::randint(0, config.vocab_size, {3, 12}, at::kLong);
  auto plain = model->forward(ids);
  auto single = model->forward(ids, at::full({3, 12}, 7, at::kInt));
  EXPECT_TRUE(at::allclose(plain, single, 0, 0));
  // A second document sees nothing of the first: its logits equal a fresh forward of it alone.
  auto docs = at::cat({at::zeros({3, 5}, at::kLong), at::ones({3, 7}, at::kLong)}, 1);
  auto packed = model->forward(ids, docs);
  auto alone = model->forward(ids.narrow(1, 5, 7));
  EXPECT_LE((packed.narrow(1, 5, 7) - alone).abs().max().item<double>(), 1e-5);
}

TEST(Flops, CountsMatchTheFormulas) {
  // 25m bench reference
  ModelConfig c{.vocab_size = 8192, .d_model = 512, .n_layers = 6, .n_heads = 8, .n_kv_heads = 8, .ffn_hidden = 1408,
                .tie_embeddings = false};
  const int64_t per_layer = 4 * 512 * 512 + 3 * 512 * 1408;
  EXPECT_EQ(count_matmul_parameters(c), 6 * per_layer + 8192 * 512);
  EXPECT_EQ(count_parameters(c), 6 * (per_layer + 2 * 512) + 512 + 2 * 8192 * 512);
  EXPECT_DOUBLE_EQ(training_flops_per_token(c, 1024), 6.0 * count_matmul_parameters(c) + 12.0 * 6 * 1024 * 8 * 64);
  EXPECT_DOUBLE_EQ(forward_flops_per_token(c, 1024) * 3, training_flops_per_token(c, 1024));
  c.tie_embeddings = true;
  EXPECT_EQ(count_parameters(c), 6 * (per_layer + 2 * 512) + 512 + 8192 * 512);
}

}  // namespace
