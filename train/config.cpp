// Schemas of the experiment config sections (see config.h). Each key's doc line here is what
// docs/configs.md and `--print-config` users read; keep it precise.
#include "train/config.h"

#include <fmt/format.h>

namespace ember::train {

using config::Schema;

void describe_run(Schema& s, RunConfig& c) {
  s.section("run", "Where a run writes: resolved `config.yaml`, `metrics.jsonl`, TensorBoard events, `checkpoints/`.");
  s.add("run.dir", c.dir, "Run directory (created if missing).");
}

void describe_train(Schema& s, TrainConfig& c) {
  s.section("train", "The optimisation loop shared by every recipe.");
  s.add("train.steps", c.steps, "Optimizer steps to run in total (a resumed run continues up to this step).").min(1);
  s.add("train.seed", c.seed, "Seed for initialisation, data order and sampling.").min(0);
  s.add("train.batch_size", c.batch_size,
        "Global batch: sequences per optimizer step across all data-parallel ranks and accumulation steps.").min(1);
  s.add("train.micro_batch_size", c.micro_batch_size,
        "Sequences per rank per forward pass; 0 means batch_size / dp (no accumulation).").min(0);
  s.add("train.seq_len", c.seq_len, "Tokens per training sequence.").min(1);
  s.add("train.grad_clip", c.grad_clip, "Clip the global gradient norm to this value; 0 disables clipping.").min(0);
  s.add("train.log_interval", c.log_interval,
        "Log metrics every N steps (and at the first and last step and at evaluations); a line's per-step "
        "metrics cover the steps since the previous line: loss and grad_norm are their means, lr the last "
        "step's.").min(1);
  s.add("train.eval_interval", c.eval_interval,
        "Validation loss every N steps (on data.val, else the held-out data.val_fraction); 0 evaluates only at "
        "the end.").min(0);
  s.add("train.device", c.device, "Where to train: auto picks cuda when available.").choices({"auto", "cpu", "cuda"});
  s.add("train.dtype", c.dtype, "Compute precision: auto is bf16 autocast on CUDA and fp32 on CPU.")
      .choices({"auto", "fp32", "bf16"});
  s.add("train.threads", c.threads,
        "CPU threads per rank; 0 means cores / local ranks. At most 4 x the hardware threads: more only slow "
        "every step down (thousands never reach step 1), so a larger value is refused.")
      .min(0);
  s.add("train.max_bad_steps", c.max_bad_steps,
        "Stop after this many consecutive steps with a non-finite loss or gradient (each is skipped).").min(1);
  s.add("train.spike_zscore", c.spike_zscore,
        "Skip (and count as bad) a step whose loss is more than this many standard deviations above the "
        "last train.spike_window losses; 0 disables the guard.").min(0);
  s.add("train.spike_window", c.spike_window, "Accepted steps the loss-spike guard compares against.").min(2);
  s.add("train.fused_kernels", c.fused_kernels,
        "Fused RMSNorm, RoPE and SwiGLU kernels (CPU fp32; CUDA fp32, bf16, fp16) and, on CPU fp32, Ember's "
        "causal attention (blocked BLAS products, recomputed probabilities) and decode projections (a few rows "
        "at inference, AVX-512) instead of composite ATen ops, LibTorch's attention and at::linear: same maths, "
        "fewer memory passes. Process-wide; false lets a benchmark measure the composite path.");
  s.add("train.fused_lm_loss", c.fused_lm_loss,
        "Training loss through the chunked fused LM head + cross-entropy (gradients computed in the forward "
        "pass; no full-vocabulary logits in memory) instead of logits then cross-entropy: same loss. Without "
        "tensor parallelism; the vocab-parallel loss under parallel.tp > 1 and validation keep the logits.");
  s.add("train.fused_projections", c.fused_projections,
        "On CUDA with train.fused_kernels, the q/k/v projections run as one GEMM and gate/up as another "
        "(weights concatenated per forward, same parameters and checkpoints): the input is read and cast once "
        "per group. Not for tensor-parallel projections. false runs them separately.");
  s.add("train.attention_backend", c.attention_backend,
        "Scaled-dot-product attention kernel on CUDA: auto is LibTorch's choice (cuDNN first on H100 / H200 with "
        "cuDNN > 9.15, then flash); flash, cudnn or efficient allow only that fused kernel (plus math for inputs "
        "it cannot take, such as a mask for flash); math is the unfused reference. Process-wide.")
      .choices({"auto", "flash", "cudnn", "efficient", "math"});
}

void describe_optim(Schema& s, OptimConfig& c) {
  s.section("optim", "AdamW and the learning-rate schedule.");
  s.add("optim.lr", c.lr, "Peak learning rate.").min(0);
  s.add("optim.min_lr_ratio", c.min_lr_ratio, "Final learning rate as a fraction of the peak (cosine, wsd).")
      .min(0).max(1);
  s.add("optim.weight_decay", c.weight_decay, "Decoupled weight decay on matrices (not norms or biases).").min(0);
  s.add("optim.beta1", c.beta1, "AdamW beta1.").min(0).max(0.999999);
  s.add("optim.beta2", c.beta2, "AdamW beta2.").min(0).max(0.999999999);
  s.add("optim.eps", c.eps, "AdamW epsilon.").min(0);
  s.add("optim.schedule", c.schedule, "Learning-rate schedule after warmup.").choices({"constant", "cosine", "wsd"});
  s.add("optim.warmup_steps", c.warmup_steps, "Linear warmup steps from 0 to the peak.").min(0);
  s.add("optim.schedule_steps", c.schedule_steps,
        "Steps the schedule spans; 0 means train.steps. Set it when a run will be stopped early and extended.")
      .min(0);
  s.add("optim.decay_fraction", c.decay_fraction, "wsd: fraction of the steps spent in the final decay.")
      .min(0).max(1);
  s.add("optim.decay_embeddings", c.decay_embeddings, "Apply weight decay to embeddings too.");
  s.add("optim.fused", c.fused, "Use the fused AdamW kernel (same maths, fewer passes).");
}

void describe_checkpoint(Schema& s, CheckpointConfig& c) {
  s.section("checkpoint", "Crash-safe checkpoints under `run.dir/checkpoints/`.");
  s.add("checkpoint.interval", c.interval, "Save every N steps; 0 saves only at the end.").min(0);
  s.add("checkpoint.keep", c.keep, "Keep the newest N checkpoints.").min(1);
  s.add("checkpoint.resume", c.resume,
        "`auto`: newest complete checkpoint in run.dir (if any); `none`: start fresh; or a checkpoint / run directory.");
  s.add("checkpoint.on_corrupt", c.on_corrupt,
        "When the newest checkpoint fails its checksums under resume=auto: use the previous one, or stop.")
      .choices({"fallback", "stop"});
  s.add("checkpoint.allow_schedule_change", c.allow_schedule_change,
        "Accept a resume whose learning-rate schedule differs from the checkpoint's (optim.lr, optim.schedule, "
        "optim.warmup_steps, optim.min_lr_ratio, optim.decay_fraction, or the schedule length from "
        "optim.schedule_steps / train.steps); false refuses it, naming each change.");
  s.add("checkpoint.rewind", c.rewind,
        "Allow a run to start before the newest checkpoint in run.dir (checkpoint.resume=none or an older "
        "checkpoint): the newer checkpoints and a copy of metrics.jsonl move to run.dir/rewound/<UTC time>/; false "
        "refuses the run.");
}

void describe_parallel(Schema& s, ParallelConfig& c) {
  s.section("parallel", "Process layout: world = dp x tp ranks (under mpirun or srun).");
  s.add("parallel.dp", c.dp, "Data-parallel ranks; 0 derives world_size / tp.").min(0);
  s.add("parallel.tp", c.tp, "Tensor-parallel ranks (contiguous, same node).").min(1);
  s.add("parallel.zero", c.zero, "ZeRO stage: 0 replicates optimizer state, 1 shards it over dp.").min(0).max(1);
  s.add("parallel.timeout_s", c.timeout_s, "A collective that takes longer ends the job with an error.").min(1);
  s.add("parallel.bucket_mb", c.bucket_mb, "Gradient all-reduce bucket size in MiB.").min(0.001);
  s.add("parallel.overlap_grad_reduce", c.overlap_grad_reduce,
        "Launch each gradient bucket's all-reduce during the last micro-batch's backward as soon as its gradients "
        "are final (MPI: a communication thread; NCCL: a side stream); false: all buckets after backward. Same "
        "sums either way; ZeRO-1 always reduce-scatters after backward.");
}

void describe_metrics(Schema& s, MetricsConfig& c) {
  s.section("metrics", "What every logged step reports.");
  s.add("metrics.peak_flops", c.peak_flops,
        "Peak FLOP/s per rank for MFU; 0 measures it at start with a large GEMM on the same device.").min(0);
  s.add("metrics.tensorboard", c.tensorboard, "Also write TensorBoard event files in run.dir.");
}

void describe_data(Schema& s, DataConfig& c) {
  s.section("data", "Training data: HDF5 token stores written by `ember data prepare`.");
  s.add("data.tokenizer", c.tokenizer, "tokenizer.json the stores were made with (checked by hash).");
  s.add("data.train", c.train, "HDF5 token stores to train on (a weighted mixture).");
  s.add("data.weights", c.weights, "Mixture weight per store in data.train; empty means proportional to size.");
  s.add("data.val_fraction", c.val_fraction,
        "Fraction of the data.train documents held out (never trained on) when data.val is empty: a document is "
        "held out when the hash of its token ids (FNV-1a, splitmix64 finaliser) / 2^64 < val_fraction, so the "
        "split does not depend on the seed, weights or layout. 0 with no data.val: no validation.")
      .min(0).max(0.5);
  s.add("data.val", c.val,
        "HDF5 token stores to validate on, each packed like the training data; when given, data.val_fraction "
        "holds nothing out.");
  s.add("data.val_weights", c.val_weights,
        "Weight per store in data.val: the validation loss is sum(w L_store) / sum(w) and the data.val_tokens "
        "budget is split in these proportions; empty means the mean over all evaluated tokens.");
  s.add("data.val_tokens", c.val_tokens,
        "Target tokens per evaluation, split over the validation stores (each store's first rows, the same at "
        "every evaluation); 0 evaluates them whole.").min(0);
  s.add("data.mask_documents", c.mask_documents, "Mask attention across document boundaries in packed sequences.");
  s.add("data.prefetch", c.prefetch, "Batches prepared ahead by the background loader thread.").min(1);
  s.add_check([&c]() -> std::optional<std::string> {
    if (!c.weights.empty() && c.weights.size() != c.train.size()) {
      return fmt::format("data.weights has {} entries but data.train has {}", c.weights.size(), c.train.size());
    }
    for (double w : c.weights) {
      if (!(w >= 0)) return std::string("data.weights must be non-negative");
    }
    if (!c.val_weights.empty() && c.val_weights.size() != c.val.size()) {
      return fmt::format("data.val_weights has {} entries but data.val has {}", c.val_weights.size(), c.val.size());
    }
    double val_weight_sum = 0;
    for (double w : c.val_weights) {
      if (!(w >= 0)) return std::string("data.val_weights must be non-negative");
      val_weight_sum += w;
    }
    if (!c.val_weights.empty() && val_weight_sum <= 0) return std::string("data.val_weights sum to zero");
    return std::nullopt;
  });
}

void describe_common(Schema& s, RecipeCommon& c) {
  describe_run(s, c.run);
  describe_train(s, c.train);
  describe_optim(s, c.optim);
  describe_checkpoint(s, c.checkpoint);
  describe_parallel(s, c.parallel);
  describe_metrics(s, c.metrics);
}

void describe_pretrain(Schema& s, PretrainConfig& c) {
  describe_common(s, c);
  describe_model(s, c.model);
  describe_data(s, c.data);
  s.add_check([&c]() -> std::optional<std::string> {
    if (c.train.seq_len > c.model.max_seq_len) {
      return fmt::format("train.seq_len ({}) exceeds model.max_seq_len ({})", c.train.seq_len, c.model.max_seq_len);
    }
    return std::nullopt;
  });
}

}  // namespace ember::train
