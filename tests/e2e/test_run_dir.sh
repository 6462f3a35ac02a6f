#!/usr/bin/env bash
# The run directory's rules (docs/reliability.md, "Run directories"): one writer (a second run on
# the same run.dir is refused naming the holder and damages nothing; the lock of a run killed with
# SIGKILL is taken over), a resume into another model is refused naming each differing key, a
# schedule change is refused until checkpoint.allow_schedule_change=true, starting before the
# newest checkpoint is refused until checkpoint.rewind=true (which moves the newer ones aside), a
# refused run writes nothing, and the logged loss is the mean over the log interval.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 1500 11 320
cat > tiny.yaml <<YAML
model: {vocab_size: 320, d_model: 32, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 64}
train: {steps: 4, batch_size: 4, seq_len: 32, log_interval: 1, threads: 1}
optim: {lr: 1.0e-3, schedule: cosine, warmup_steps: 1}
checkpoint: {interval: 2, keep: 3}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.0, prefetch: 1}
YAML

# One writer: a second run on a busy run.dir is refused, naming the holder, and changes nothing.
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=busy train.steps=100000 checkpoint.interval=0 2> busy.log &
holder=$!
for _ in $(seq 1 300); do
  [ -s busy/metrics.jsonl ] && [ "$(wc -l < busy/metrics.jsonl)" -ge 3 ] && break
  sleep 0.1
done
[ -s busy/config.yaml ] || die "the first run did not start: $(tail -3 busy.log)"
cp busy/config.yaml busy-config.before
expect_fail 1 "run.dir 'busy' is in use by another run \(pid $holder on host" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=busy train.steps=3 optim.lr=5e-3
kill -0 "$holder" || die "the first run died when a second one started: $(tail -3 busy.log)"
cmp busy/config.yaml busy-config.before || die "the refused run rewrote config.yaml"
lines=$(wc -l < busy/metrics.jsonl)
sleep 0.5
[ "$(wc -l < busy/metrics.jsonl)" -gt "$lines" ] || die "the first run stopped logging"
"$EMBER_PYTHON" -c "
import json
steps = [json.loads(l)['step'] for l in open('busy/metrics.jsonl')]
assert steps == list(range(1, len(steps) + 1)), steps[:20]
" || die "metrics.jsonl of the busy run has foreign lines"

# A lock left by a run killed with SIGKILL is stale: the next run takes it over and says so.
kill -9 "$holder"
wait "$holder" 2>/dev/null || true
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=busy train.steps=2 2> takeover.log \
  || die "the stale lock was not taken over: $(tail -3 takeover.log)"
grep -q "taking over the lock left by pid $holder on host" takeover.log || die "no stale-lock warning: $(cat takeover.log)"

# A resume into another model is refused naming each key; nothing is written.
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=base 2> /dev/null
cp base/config.yaml base-config.before
cp base/metrics.jsonl base-metrics.before
expect_fail 2 "model.n_layers: checkpoint 2, this run 3; model.n_heads: checkpoint 4, this run 8" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=base train.steps=6 model.n_layers=3 model.n_heads=8
cmp base/config.yaml base-config.before || die "a refused resume rewrote config.yaml"
cmp base/metrics.jsonl base-metrics.before || die "a refused resume changed metrics.jsonl"
# ... and a new run.dir that a refused run would have created is not left behind.
expect_fail 2 "model.n_layers: checkpoint 2, this run 3" "$EMBER_BIN" pretrain --config tiny.yaml run.dir=fresh \
  checkpoint.resume=base model.n_layers=3
[ ! -e fresh ] || die "a refused run left run.dir 'fresh' behind: $(ls -A fresh)"

# Raising train.steps re-stretches the cosine schedule: refused, naming the change, until allowed.
expect_fail 2 "changes the learning-rate schedule: schedule length .* 4 -> 6.*checkpoint.allow_schedule_change=true" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=base train.steps=6
cmp base/config.yaml base-config.before || die "a refused schedule change rewrote config.yaml"
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=base train.steps=6 checkpoint.allow_schedule_change=true \
  2> allowed.log || die "an allowed schedule change failed: $(tail -3 allowed.log)"
grep -q "resumed from base/checkpoints/step_000004" allowed.log || die "the allowed run did not resume"
grep -q "changes the learning-rate schedule" allowed.log || die "the allowed change was not reported"

# Starting before the newest checkpoint: refused, then with checkpoint.rewind=true the newer
# checkpoints (4, 6) and a copy of metrics.jsonl move to base/rewound/<time>/.
expect_fail 2 "holds 2 checkpoint\(s\) after step 2.*checkpoint.rewind=true" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=base train.steps=6 checkpoint.allow_schedule_change=true \
  checkpoint.resume=base/checkpoints/step_000002
expect_fail 2 "holds 3 checkpoint\(s\) after step 0" "$EMBER_BIN" pretrain --config tiny.yaml run.dir=base \
  checkpoint.resume=none
[ -d base/checkpoints/step_000006 ] || die "a refused rewind moved checkpoints"
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=base train.steps=4 checkpoint.rewind=true \
  checkpoint.resume=base/checkpoints/step_000002 2> rewind.log || die "the rewind failed: $(tail -3 rewind.log)"
grep -q "checkpoint.rewind: moved 2 newer checkpoint" rewind.log || die "no rewind warning: $(cat rewind.log)"
moved=$(ls -d base/rewound/*/)
[ -d "${moved}step_000004" ] && [ -d "${moved}step_000006" ] && [ -s "${moved}metrics.jsonl" ] \
  || die "the rewound checkpoints are not in $moved: $(ls -A "$moved")"
[ ! -e base/checkpoints/step_000006 ] || die "step 6 is still a checkpoint of the run"

# The logged loss is the interval's mean: log_interval 2 logs the mean of steps (1), (2), (3, 4).
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=interval train.log_interval=2 checkpoint.interval=0 2> /dev/null
"$EMBER_PYTHON" - <<'PY'
import json
every = {r["step"]: r for r in map(json.loads, open("base/metrics.jsonl"))}
interval = {r["step"]: r for r in map(json.loads, open("interval/metrics.jsonl"))}
assert sorted(interval) == [1, 2, 4], sorted(interval)
assert abs(interval[2]["loss"] - every[2]["loss"]) < 1e-12, (interval[2], every[2])  # step 1 has its own line
expected = (every[3]["loss"] + every[4]["loss"]) / 2
assert abs(interval[4]["loss"] - expected) < 1e-9 * abs(expected), (interval[4]["loss"], expected)
assert interval[4]["lr"] == every[4]["lr"], "lr is the last step's"
print("run-dir e2e: lock, stale takeover, model and schedule checks, rewind, interval mean ok")
PY
echo "e2e run_dir: ok"
