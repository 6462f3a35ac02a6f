#!/usr/bin/env bash
# Pretraining end to end on a tiny model: data generation, tokenizer, HDF5 store, training that
# lowers the loss, every metric logged, TensorBoard events readable, bit-exact resume (20 steps +
# resume to 40 equals 40 straight), generation from the result, and the NaN guard.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 3000 7 384

cat > tiny.yaml <<YAML
model: {vocab_size: 384, d_model: 64, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 160, max_seq_len: 128}
train: {steps: 40, batch_size: 8, micro_batch_size: 4, seq_len: 64, log_interval: 1, eval_interval: 20, threads: 1}
optim: {lr: 3.0e-3, warmup_steps: 5, schedule: cosine, schedule_steps: 40}
checkpoint: {interval: 20, keep: 3}
metrics: {peak_flops: 1.0e10}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.05, val_tokens: 512, prefetch: 2}
YAML

"$EMBER_BIN" pretrain --config tiny.yaml run.dir=full
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=split train.steps=20
[ -d split/checkpoints/step_000020 ] || die "no checkpoint at step 20"
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=split train.steps=40 2>&1 | tee resume.log
grep -q "resumed from" resume.log || die "the second run did not resume"

"$EMBER_PYTHON" - <<'PY'
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

def rows(run):
    return [json.loads(l) for l in open(f"{run}/metrics.jsonl")]

full, split = rows("full"), rows("split")
need = {"step", "loss", "lr", "grad_norm", "tokens_per_s", "mfu", "flops_total"}
for r in full:
    missing = need - set(r)
    assert not missing, f"metrics line lacks {missing}: {r}"
assert [r["step"] for r in full] == list(range(1, 41)), [r["step"] for r in full]
assert [r["step"] for r in split] == list(range(1, 41)), [r["step"] for r in split]
assert any("val_loss" in r for r in full), "no val_loss logged"
for a, b in zip(full, split):
    assert a["loss"] == b["loss"], f"step {a['step']}: {a['loss']} != {b['loss']} (resume is not bit-exact)"
first = sum(r["loss"] for r in full[:5]) / 5
last = sum(r["loss"] for r in full[-5:]) / 5
assert last < first - 0.5, f"loss did not fall enough: {first:.3f} -> {last:.3f}"

acc = EventAccumulator("full")
acc.Reload()
assert "loss" in acc.Tags()["scalars"], acc.Tags()
events = acc.Scalars("loss")
assert [e.step for e in events] == list(range(1, 41))
assert abs(events[-1].value - full[-1]["loss"]) < 1e-5 * max(1.0, abs(full[-1]["loss"]))
print(f"pretrain e2e: loss {first:.3f} -> {last:.3f}, resume bit-exact, TensorBoard ok")
PY

# The final checkpoints of both runs hold identical parameters.
same_parameters full split 40

# Generation from the run directory (its newest checkpoint).
"$EMBER_BIN" generate --checkpoint full --prompt "What is 12 + 34?" --max-new-tokens 8 --output json > gen.json
"$EMBER_PYTHON" -c "
import json
line = json.loads(open('gen.json').read())
assert set(line) >= {'prompt', 'prompt_ids', 'completion_ids', 'text'}, line
assert 1 <= len(line['completion_ids']) <= 8, line
"

# An absurd learning rate: non-finite steps are skipped, the run stops with a clear message,
# and the checkpoints it resumed from stay intact.
cp -r full nan_run
expect_fail 1 "non-finite" "$EMBER_BIN" pretrain --config tiny.yaml run.dir=nan_run train.steps=60 optim.lr=1e30 \
  train.max_bad_steps=2 checkpoint.interval=1 checkpoint.allow_schedule_change=true
same_parameters full nan_run 40
echo "e2e pretrain: ok"
