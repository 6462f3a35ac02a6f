// Batched generation with a KV cache (see generate.h).
#include "model/generate.h"

#include <algorithm>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/GradMode.h>

#include "core/error.h"
#include "model/kv_cache.h"

namespace ember::model {

namespace {

/// A uniform double in [0, 1) from the request's own generator (53 random bits).
double draw_uniform(at::Generator& generator) {
  std::lock_guard<std::mutex> lock(generator.mutex());
  return double(generator.get<at::CPUGeneratorImpl>()->random64() >> 11) * 0x1.0p-53;
}

/// Left-padded ids [B, T] from prompts padded on either side (right padding is rotated by length).
at::Tensor left_padded(const PaddedPrompts& prompts) {
  auto ids = prompts.ids.to(at::kLong);
  if (prompts.side == Padding::kLeft) return ids;
  const int64_t tokens = ids.size(1);
  auto index = (at::arange(tokens, ids.options()).unsqueeze(0) + prompts.lengths.to(ids.device(), at::kLong).unsqueeze(1))
                   .remainder(tokens);
  return ids.gather(1, index);
}

}  // namespace

std::vector<Completion> generate(Transformer& model, const PaddedPrompts& prompts, const GenerationOptions& options) {
  const ModelConfig& config = model->config();
  if (prompts.ids.dim() != 2 || prompts.lengths.dim() != 1 || prompts.lengths.size(0) != prompts.ids.size(0)) {
    fail("generate: prompts need ids [B, T] and lengths [B]");
  }
  const int64_t batch = prompts.ids.size(0), tokens = prompts.ids.size(1), max_new = options.max_new_tokens;
  std::vector<Completion> results(size_t(batch), Completion{});
  if (batch == 0 || max_new <= 0) return results;
  if (!options.seeds.empty() && int64_t(options.seeds.size()) != batch) {
    fail("generate: {} seeds for {} prompts", options.seeds.size(), batch);
  }
  auto lengths = prompts.lengths.to(at::kCPU, at::kLong);
  if ((lengths < 1).any().item<bool>() || (lengths > tokens).any().item<bool>()) {
    fail("generate: every prompt needs between 1 and {} tokens", tokens);
  }
  if (tokens + max_new > config.max_seq_len) {
    fail("generate: prompts of {} tokens + {} new tokens exceed the model's max_seq_len {}", tokens, max_new,
         config.max_seq_len);
  }

  c10::NoGradGuard no_grad;
  const auto& embedding = model->model->embed_tokens->weight;
  const auto device = embedding.device();
  auto pad = (tokens - lengths).to(device);  // [B] padding slots before each prompt
  auto slots = at::arange(tokens, at::TensorOptions().dtype(at::kLong).device(device));
  auto real = slots.unsqueeze(0) >= pad.unsqueeze(1);  // [B, T]
  auto ids = left_padded(prompts).to(device);
  auto real_ids = ids.masked_select(real);
  if ((real_ids < 0).any().item<bool>() || (real_ids >= config.vocab_size).any().item<bool>()) {
    fail("generate: prompt token ids must lie in [0, {})", config.vocab_size);
  }
  ids = at::where(real, ids, at::zeros_like(ids));

  // Prefill: a token sees the real tokens up to itself; a padding slot sees only itself, which
  // keeps its (unused) output finite.
  KVCache cache(config, batch, tokens + max_new, embedding.options());
  auto causal = at::ones({tokens, tokens}, real.options()).tril();
  auto self = at::eye(tokens, real.options());
  auto mask = ((causal.unsqueeze(0) & real.unsqueeze(1)) | self.unsqueeze(0)).unsqueeze(1);  // [B, 1, T, T]
  auto positions = (slots.unsqueeze(0) - pad.unsqueeze(1)).clamp_min(0);                   // [B, T]
  auto hidden = model->hidden_states(ids, {positions, mask, {}}, &cache);
  cache.advance(tokens);
  auto logits = model->logits(hidden.select(1, tokens - 1));  // [B, V]

  std::vector<at::Generator> generators;
  for (int64_t i = 0; i < batch; ++i) {
    uint64_t seed = options.seeds.empty() ? options.seed + uint64_t(i) : options.seeds[size_t(i)];
    generators.push_back(at::make_generator<at::CPUGeneratorImpl>(seed));
  }
  const bool greedy = options.sampling.temperature == 0;
  std::vector<int64_t> request_of_row;  // the request each batch row serves
  for (int64_t i = 0; i < batch; ++i) request_of_row.push_back(i);
  std::vector<bool> done(size_t(batch), false);

  for (int64_t step = 0; step < max_new; ++step) {
    const int64_t rows = int64_t(request_of_row.size());
    std::vector<double> uniforms(size_t(rows), 0.0);
    for (int64_t r = 0; r < rows && !greedy; ++r) {
      if (!done[size_t(r)]) uniforms[size_t(r)] = draw_uniform(generators[size_t(request_of_row[size_t(r)])]);
    }
    auto sampled = sample_tokens(logits, at::tensor(uniforms, at::kDouble), options.sampling);
    auto tokens_cpu = sampled.tokens.to(at::kCPU);
    auto logprobs_cpu = sampled.logprobs.to(at::kCPU);
    const int64_t* token_data = tokens_cpu.data_ptr<int64_t>();
    const float* logprob_data = logprobs_cpu.data_ptr<float>();
    int64_t finished = 0;
    for (int64_t r = 0; r < rows; ++r) {
      if (!done[size_t(r)]) {
        Completion& out = results[size_t(request_of_row[size_t(r)])];
        out.token_ids.push_back(token_data[r]);
        out.logprobs.push_back(logprob_data[r]);
        const auto& stops = options.stop_tokens;
        if (std::find(stops.begin(), stops.end(), token_data[r]) != stops.end()) {
          out.finish_reason = FinishReason::kStop;
          done[size_t(r)] = true;
        }
      }
      finished += done[size_t(r)] ? 1 : 0;
    }
    if (step + 1 == max_new || finished == rows) break;

    auto next = sampled.tokens;
    if (4 * finished >= rows) {  // drop finished rows from the batch and the cache
      std::vector<int64_t> keep;
      std::vector<int64_t> kept_requests;
      for (int64_t r = 0; r < rows; ++r) {
        if (!done[size_t(r)]) {
          keep.push_back(r);
          kept_requests.push_back(request_of_row[size_t(r)]);
        }
      }
      auto keep_index = at::tensor(keep, at::kLong).to(device);
      cache.select_rows(keep_index);
      pad = pad.index_select(0, keep_index);
      next = next.index_select(0, keep_index);
      request_of_row = std::move(kept_requests);
      done.assign(request_of_row.size(), false);
    }

    // Decode one token per row: it sits at slot cache.length() and sees every real slot.
    const int64_t slot = cache.length();
    auto decode_positions = (slot - pad).unsqueeze(1);  // [B', 1]
    auto key_slots = at::arange(slot + 1, pad.options());
    auto decode_mask = (key_slots.unsqueeze(0) >= pad.unsqueeze(1)).view({-1, 1, 1, slot + 1});
    auto step_hidden = model->hidden_states(next.unsqueeze(1), {decode_positions, decode_mask, {}}, &cache);
    cache.advance(1);
    logits = model->logits(step_hidden.select(1, 0));
  }
  return results;
}

std::vector<Completion> generate(Transformer& model, const std::vector<std::vector<int64_t>>& prompts,
                                 const GenerationOptions& options) {
  int64_t longest = 0;
  for (const auto& prompt : prompts) longest = std::max(longest, int64_t(prompt.size()));
  std::vector<int64_t> ids(prompts.size() * size_t(longest), 0), lengths;
  for (size_t i = 0; i < prompts.size(); ++i) {
    lengths.push_back(int64_t(prompts[i].size()));
    std::copy(prompts[i].begin(), prompts[i].end(), ids.begin() + int64_t(i + 1) * longest - lengths.back());
  }
  auto ids_tensor = at::tensor(ids, at::kLong).view({int64_t(prompts.size()), longest});
  return generate(model, PaddedPrompts{ids_tensor, at::tensor(lengths, at::kLong), Padding::kLeft}, options);
}

}  // namespace ember::model
