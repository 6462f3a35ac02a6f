# Helpers for the multi-rank e2e scripts (mpi_*.sh, label mpi): a tiny pretraining setup, mpirun
# with the options a 2-core CI machine needs, and comparisons of runs made at different layouts.
#   usage: source mpi_lib.sh MPIEXEC   (after the test's own lib.sh preamble)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MPIEXEC="${1:?usage: $0 MPIEXEC}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cd "$TMP"

# ember_mpi NP ARGS...: `ember ARGS...` on NP ranks (oversubscribed, one thread each).
ember_mpi() {
  local np="$1"; shift
  "$MPIEXEC" --oversubscribe --bind-to none -np "$np" "$EMBER_BIN" "$@"
}

# prepare_tiny_run: corpus, tokenizer, token store and tiny.yaml (20 steps, checkpoints every 10)
# in the current directory. The model's heads, kv heads, FFN width and vocabulary divide by 2.
prepare_tiny_run() {
  "$EMBER_BIN" data generate --task all --count 1500 --seed 7 --split train --out corpus.jsonl >/dev/null
  "$EMBER_BIN" tokenizer train --input corpus.jsonl --field text --vocab-size 384 --out tokenizer.json 2>/dev/null
  "$EMBER_BIN" data prepare --input corpus.jsonl --field text --tokenizer tokenizer.json --out corpus.h5 >/dev/null
  cat > tiny.yaml <<YAML
model: {vocab_size: 384, d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 160, max_seq_len: 128, qk_norm: true}
train: {steps: 20, batch_size: 8, micro_batch_size: 2, seq_len: 64, log_interval: 1, eval_interval: 10, threads: 1}
optim: {lr: 3.0e-3, warmup_steps: 5, schedule: cosine, schedule_steps: 20}
checkpoint: {interval: 10, keep: 3}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.05, val_tokens: 512, prefetch: 2}
YAML
}

# compare_runs REFERENCE RUN...: every run logged the reference's training losses, step by step,
# within 2e-4 relative, and its newest checkpoint holds the reference's parameters (and AdamW
# moments) within 1e-5.
compare_runs() {
  "$EMBER_PYTHON" - "$@" <<'PY'
import json, os, sys
import numpy as np
from ember_checkpoint import load_tensors

def losses(run):
    return {r["step"]: r["loss"] for r in map(json.loads, open(f"{run}/metrics.jsonl"))}

def newest(run):
    return os.path.join(run, "checkpoints", open(f"{run}/checkpoints/latest").read().strip())

reference, runs = sys.argv[1], sys.argv[2:]
ref_losses = losses(reference)
ref_dir = newest(reference)
for run in runs:
    got = losses(run)
    assert sorted(got) == sorted(ref_losses), f"{run}: steps {sorted(got)} != {sorted(ref_losses)}"
    worst = max(abs(got[s] - ref_losses[s]) / abs(ref_losses[s]) for s in ref_losses)
    assert worst < 2e-4, f"{run}: losses differ from {reference} by {worst:.2e} relative"
    run_dir = newest(run)
    assert os.path.basename(run_dir) == os.path.basename(ref_dir), (run_dir, ref_dir)
    for name in ("model", "optimizer"):
        a, b = load_tensors(ref_dir, name), load_tensors(run_dir, name)
        keys = [k for k in a if not k.startswith("rng.")]
        assert sorted(keys) == sorted(k for k in b if not k.startswith("rng.")), f"{run}: {name} holds other tensors"
        for k in keys:
            assert a[k].shape == b[k].shape, f"{run}: {name} {k} shape {b[k].shape} != {a[k].shape}"
            diff = float(np.max(np.abs(a[k] - b[k])))
            assert diff < 1e-5, f"{run}: {name} {k} differs by {diff:.2e}"
    print(f"{run}: losses within {worst:.1e} of {reference}; checkpoint {os.path.basename(run_dir)} matches")
PY
}
