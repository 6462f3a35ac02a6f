#!/usr/bin/env bash
# Distillation under data and tensor parallelism reproduces the single-process run of the same
# config: the teacher and the student sharded over tp (full-vocabulary logits), dataset rows split
# over dp, KD and CE normalised by global token counts. Online (dense forward KL plus CE) at dp=2
# and tp=2 logs the single-process losses, KD / CE losses and agreement within 1e-5 relative over 4
# steps and ends with the same student; offline top-k (rows looked up by (epoch, sequence)),
# on-policy (student samples split over dp by prompt index, generation on the tp-sharded student)
# and sequence-level KD (teacher generations split the same way) do the same at dp=2 and tp=2.
#   mpi_distill.sh MPIEXEC
source "$(dirname "$0")/mpi_lib.sh"
prepare_tiny_run
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=teacher train.steps=10 checkpoint.interval=10 2>/dev/null

# The student: smaller than the teacher, the same tokenizer, heads and vocabulary divisible by 2.
cat > distill.yaml <<YAML
base: tiny.yaml
model: {d_model: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, qk_norm: false}
train: {steps: 4, batch_size: 4, micro_batch_size: 2, seq_len: 48, log_interval: 1, eval_interval: 0}
checkpoint: {interval: 4}
distill: {teacher: teacher, task: arithmetic, max_new_tokens: 8, eval_samples: 4, ce_weight: 0.3}
YAML
run_layouts() {  # NAME ARGS...: single, dp=2 and tp=2 runs of one mode
  local name="$1"; shift
  "$EMBER_BIN" distill --config distill.yaml run.dir="${name}_single" "$@" 2>/dev/null
  ember_mpi 2 distill --config distill.yaml run.dir="${name}_dp2" "$@" 2>/dev/null
  ember_mpi 2 distill --config distill.yaml run.dir="${name}_tp2" parallel.tp=2 "$@" 2>/dev/null
}
run_layouts online
"$EMBER_BIN" distill dump-teacher --teacher teacher --data corpus.h5 --seq-len 48 --seed 1234 --val-fraction 0.05 \
  --sequences 16 --top-k 8 --out teacher-top8.h5 >/dev/null 2>&1
run_layouts offline distill.mode=offline distill.teacher_logits=teacher-top8.h5 distill.tail=bucket
run_layouts onpolicy distill.mode=onpolicy distill.onpolicy_ratio=0.5 distill.divergence=reverse_kl \
  distill.student_init=online_single
run_layouts seqkd distill.mode=seqkd distill.seqkd_correct_only=false distill.student_init=online_single

"$EMBER_PYTHON" - <<'PY'
import json
import numpy as np
from ember_checkpoint import load_tensors

def rows(run):
    return {r["step"]: r for r in map(json.loads, open(f"{run}/metrics.jsonl"))}

for mode in ("online", "offline", "onpolicy", "seqkd"):
    ref = rows(f"{mode}_single")
    assert sorted(ref) == [1, 2, 3, 4], (mode, sorted(ref))
    for layout in ("dp2", "tp2"):
        run = f"{mode}_{layout}"
        got = rows(run)
        assert sorted(got) == sorted(ref), (run, sorted(got))
        for step, r in ref.items():
            for key in ("loss", "kd_loss", "ce_loss", "grad_norm"):
                assert abs(got[step][key] - r[key]) <= 1e-5 * max(abs(r[key]), 1e-3), (run, step, key, got[step][key], r[key])
            for key in ("agreement", "tokens", "eval_accuracy", "sample_accuracy"):
                if key in r:
                    assert abs(got[step][key] - r[key]) <= 1e-9, (run, step, key, got[step][key], r[key])
        a = load_tensors(f"{mode}_single/checkpoints/step_000004")
        b = load_tensors(f"{run}/checkpoints/step_000004")
        worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
        assert worst < 1e-5, (run, worst)
        print(f"{run}: losses within 1e-5 of one process, student within {worst:.1e}")
PY
echo "e2e mpi distill: ok"
