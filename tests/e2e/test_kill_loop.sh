#!/usr/bin/env bash
# Crash safety: a run killed with SIGKILL at random moments (during steps and during checkpoint
# writes, which happen every step here) and restarted each time with checkpoint.resume=auto never
# leaves a checkpoint that resume picks but cannot load, and ends on exactly the loss curve of a
# run that was never interrupted.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 1500 5 320
cat > tiny.yaml <<YAML
model: {vocab_size: 320, d_model: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 64}
train: {steps: 400, batch_size: 4, seq_len: 32, log_interval: 1, threads: 1}
optim: {lr: 1.0e-3, schedule: cosine, warmup_steps: 5}
checkpoint: {interval: 1, keep: 2}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.0, prefetch: 1}
YAML

"$EMBER_BIN" pretrain --config tiny.yaml run.dir=straight 2>/dev/null

# Each attempt is killed once it has logged a random 1-30 more steps, plus 0-9 ms (so the kill
# lands anywhere in a step or a checkpoint write): by progress, not wall time, so 12 attempts stay
# inside the 400 steps however fast the machine is.
logged() { [ -f killed/metrics.jsonl ] && wc -l < killed/metrics.jsonl || echo 0; }
RANDOM=12345  # reproducible kill points
kills=0
for attempt in $(seq 1 12); do
  target=$(( $(logged) + RANDOM % 30 + 1 ))
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=killed 2>> killed.log &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$(logged)" -lt "$target" ]; do sleep 0.005; done
  sleep "0.00$(( RANDOM % 10 ))"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
done
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=killed 2>> killed.log || die "the final restart failed: $(tail -3 killed.log)"
mid_run=$(grep -oE "resumed from .* at step [0-9]+" killed.log | awk '$NF < 400' | wc -l)
[ "$mid_run" -ge 6 ] || die "only $mid_run restarts resumed mid-run; the kills came too late to test anything"
if grep -q "corrupt\|cannot load\|error" killed.log; then die "a restart hit a bad checkpoint: $(grep -m3 'corrupt\|error' killed.log)"; fi

"$EMBER_PYTHON" - "$kills" <<'PY'
import json, sys
a = [json.loads(l) for l in open("killed/metrics.jsonl")]
b = [json.loads(l) for l in open("straight/metrics.jsonl")]
assert [r["step"] for r in a] == list(range(1, 401)), "steps missing or repeated after the kills"
diff = [r["step"] for r, s in zip(a, b) if r["loss"] != s["loss"]]
assert not diff, f"losses differ from the uninterrupted run at steps {diff[:5]}"
print(f"kill loop: {sys.argv[1]} SIGKILLs, final curve identical to the uninterrupted run")
PY
same_parameters killed straight 400
echo "e2e kill loop: ok"
