#!/usr/bin/env bash
# Distillation end to end on tiny models: a teacher pretrained for a few steps, then every mode for
# a few steps (online dense and top-k, offline from a dump-teacher file, on-policy, sequence-level),
# the metrics each logs, resume, a checkpoint that `ember eval` reads, and the tokenizer-mismatch
# error.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

"$EMBER_BIN" data generate --task all --count 2000 --seed 7 --split train --out corpus.jsonl
"$EMBER_BIN" tokenizer train --input corpus.jsonl --field text --vocab-size 320 --out tokenizer.json
"$EMBER_BIN" data prepare --input corpus.jsonl --field text --tokenizer tokenizer.json --out corpus.h5

cat > teacher.yaml <<YAML
model: {vocab_size: 320, d_model: 48, n_layers: 2, n_heads: 4, n_kv_heads: 2, ffn_hidden: 128, max_seq_len: 128}
train: {steps: 10, batch_size: 4, seq_len: 48, log_interval: 5, threads: 1}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.05}
YAML
"$EMBER_BIN" pretrain --config teacher.yaml run.dir=teacher

# The student pads its vocabulary (336 rows > 320 tokens): logits are sliced to the tokenizer's.
cat > distill.yaml <<YAML
model: {vocab_size: 336, d_model: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 128}
train: {steps: 4, batch_size: 4, micro_batch_size: 2, seq_len: 48, log_interval: 1, threads: 1}
checkpoint: {interval: 2}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.05}
distill: {teacher: teacher, task: arithmetic, max_new_tokens: 8, eval_samples: 4}
YAML

"$EMBER_BIN" distill --config distill.yaml run.dir=online 2>&1 | tee online.log
grep -qE "step 4/4 \| loss .* \| [0-9.k]+ tok/s \| MFU [0-9.]+% \| ETA" online.log || die "no tok/s and MFU on the progress line"
"$EMBER_BIN" distill --config distill.yaml run.dir=online-topk distill.top_k=8 distill.tail=bucket \
  distill.divergence=jsd distill.beta=0.3 distill.temperature=2 distill.t2_scaling=true
"$EMBER_BIN" distill dump-teacher --teacher teacher --data corpus.h5 --seq-len 48 --seed 1234 --val-fraction 0.05 \
  --sequences 16 --top-k 8 --out teacher-top8.h5 2>&1 | tee dump.log
grep -q "bytes per token" dump.log || die "dump-teacher did not report bytes per token"
"$EMBER_BIN" distill --config distill.yaml run.dir=offline distill.mode=offline distill.teacher_logits=teacher-top8.h5
expect_fail 1 "do not hold" "$EMBER_BIN" distill --config distill.yaml run.dir=offline-short distill.mode=offline \
  distill.teacher_logits=teacher-top8.h5 train.steps=6
expect_fail 1 "other data" "$EMBER_BIN" distill --config distill.yaml run.dir=offline-seed distill.mode=offline \
  distill.teacher_logits=teacher-top8.h5 train.seed=5
"$EMBER_BIN" distill --config distill.yaml run.dir=onpolicy distill.mode=onpolicy distill.onpolicy_ratio=0.5 \
  distill.divergence=reverse_kl distill.student_init=online
"$EMBER_BIN" distill --config distill.yaml run.dir=seqkd distill.mode=seqkd distill.seqkd_correct_only=false
# Raising train.steps re-stretches the cosine schedule: refused until allowed.
expect_fail 2 "changes the learning-rate schedule" "$EMBER_BIN" distill --config distill.yaml run.dir=online train.steps=6
"$EMBER_BIN" distill --config distill.yaml run.dir=online train.steps=6 checkpoint.allow_schedule_change=true 2>&1 \
  | tee resume.log
grep -q "resumed from" resume.log || die "the online run did not resume"
"$EMBER_BIN" eval --checkpoint online --task arithmetic --samples 4 --max-new-tokens 8 | tail -1 > eval.json

# A student whose tokenizer differs from the teacher's is refused.
"$EMBER_BIN" tokenizer train --input corpus.jsonl --field text --vocab-size 300 --out other.json
expect_fail 1 "tokenizers differ" "$EMBER_BIN" distill --config distill.yaml run.dir=mismatch data.tokenizer=other.json

"$EMBER_PYTHON" - <<'PY'
import json
def rows(run):
    return [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
need = {"kd_loss", "ce_loss", "agreement", "tokens_per_s", "mfu", "tokens", "flops_teacher", "flops_student",
        "flops_total"}
for run in ["online", "online-topk", "offline", "onpolicy", "seqkd"]:
    r = rows(run)
    assert r and [x["step"] for x in r][:4] == [1, 2, 3, 4], (run, [x["step"] for x in r])
    missing = need - set(r[-1])
    assert not missing, f"{run}: metrics lack {missing}"
    assert "eval_accuracy" in r[3], f"{run}: no held-out accuracy at the last step"
for run in ["online", "online-topk", "onpolicy"]:
    assert rows(run)[-1]["flops_teacher"] > 0, f"{run}: no teacher FLOPs"
    last = rows(run)[-1]
    assert last["flops_total"] == last["flops_teacher"] + last["flops_student"], last
    assert last["mfu"] > 0 and last["tokens_per_s"] > 0, last
assert rows("offline")[-1]["flops_teacher"] == 0, "offline runs no teacher"
assert rows("offline")[-1]["kd_loss"] > 0
assert rows("seqkd")[-1]["flops_teacher"] > 0 and rows("seqkd")[-1]["kd_loss"] == 0
assert [x["step"] for x in rows("online")] == list(range(1, 7))
e = json.load(open("eval.json"))
assert 0 <= e["accuracy"] <= 1 and e["samples"] == 4, e
print("distill e2e: online, online top-k (JSD, bucket, T^2), offline, on-policy, seqkd, resume, eval, mismatch ok")
PY
