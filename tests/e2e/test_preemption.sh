#!/usr/bin/env bash
# Preemption: SIGTERM (and SIGUSR1) mid-run saves a checkpoint at the next step boundary and exits
# cleanly; running the same command again continues on exactly the loss curve of a run that was
# never interrupted. `ember rl` stops the same way.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 1500 3 320
cat > tiny.yaml <<YAML
model: {vocab_size: 320, d_model: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 64}
train: {steps: 100000, batch_size: 4, seq_len: 32, log_interval: 1, threads: 1}
optim: {lr: 1.0e-3, schedule: constant}
checkpoint: {interval: 0, keep: 2}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.0, prefetch: 1}
YAML

preempt() {  # run_dir signal: start a long run, signal it after a few steps, expect a clean exit
  local run="$1" signal="$2"
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir="$run" 2> "$run.log" &
  local pid=$!
  for _ in $(seq 1 300); do
    [ -s "$run/metrics.jsonl" ] && [ "$(wc -l < "$run/metrics.jsonl")" -ge 5 ] && break
    sleep 0.1
  done
  kill "-$signal" "$pid"
  local rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die "pretrain exited $rc after SIG$signal: $(tail -3 "$run.log")"
  grep -q "stopping at step .* on SIG$signal: checkpoint saved" "$run.log" || die "no preemption message: $(tail -3 "$run.log")"
}

preempt interrupted TERM
stopped=$(sed -n 's/.*stopping at step \([0-9]*\) on.*/\1/p' interrupted.log)
[ -d "interrupted/checkpoints/$(printf 'step_%06d' "$stopped")" ] || die "no checkpoint at step $stopped"
final=$((stopped + 5))
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=interrupted train.steps=$final 2> resumed.log
grep -q "resumed from" resumed.log || die "the second run did not resume"
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=straight train.steps=$final 2> /dev/null
"$EMBER_PYTHON" - "$final" <<'PY'
import json, sys
final = int(sys.argv[1])
a = [json.loads(l) for l in open("interrupted/metrics.jsonl")]
b = [json.loads(l) for l in open("straight/metrics.jsonl")]
assert [r["step"] for r in a] == list(range(1, final + 1)), [r["step"] for r in a]
assert [r["loss"] for r in a] == [r["loss"] for r in b], "preempted + resumed run differs from the straight run"
print(f"preemption e2e: stopped at step {final - 5}, resumed to {final}, losses identical")
PY

preempt usr1 USR1

# `ember rl` takes the same path: SIGTERM mid-run saves a checkpoint and exits 0.
"$EMBER_BIN" rl --config "$EMBER_SOURCE_DIR/configs/nano/grpo.yaml" run.dir=rl_run rl.init=straight \
  train.steps=100000 train.log_interval=1 train.threads=1 checkpoint.interval=0 rl.prompts=2 rl.group_size=2 \
  rl.minibatch_size=4 rl.max_new_tokens=8 rl.task=arithmetic rl.eval_samples=0 rl.eval_interval=0 2> rl.log &
pid=$!
for _ in $(seq 1 300); do
  [ -s rl_run/metrics.jsonl ] && [ "$(wc -l < rl_run/metrics.jsonl)" -ge 2 ] && break
  sleep 0.1
done
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || die "ember rl exited $rc after SIGTERM: $(tail -3 rl.log)"
grep -q "stopping at step .* on SIGTERM: checkpoint saved" rl.log || die "ember rl did not stop cleanly: $(tail -3 rl.log)"
ls rl_run/checkpoints | grep -q "^step_" || die "ember rl saved no checkpoint"
echo "e2e preemption: ok"
