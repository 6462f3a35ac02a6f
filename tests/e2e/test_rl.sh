#!/usr/bin/env bash
# Reasoning RL end to end on a tiny pretrained model: the grpo, dapo and dr_grpo presets each run a
# couple of steps with every metric logged; a run resumes from its own checkpoint; RL checkpoints
# load in `ember eval` (whose last line is JSON); the external reward protocol works, and a
# misbehaving reward command stops the run with a clear error.
source "$(dirname "$0")/lib.sh"
PRESETS="$(cd "$(dirname "$0")/../../configs/nano" && pwd)"
cd "$TMP"

"$EMBER_BIN" data generate --task arithmetic --count 2000 --seed 3 --split train --out corpus.jsonl
"$EMBER_BIN" tokenizer train --input corpus.jsonl --field text --vocab-size 320 --out tokenizer.json
"$EMBER_BIN" data prepare --input corpus.jsonl --field text --tokenizer tokenizer.json --out corpus.h5
cat > tiny.yaml <<YAML
model: {vocab_size: 320, d_model: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 96}
train: {steps: 30, batch_size: 8, seq_len: 64, log_interval: 10, threads: 1}
optim: {lr: 3.0e-3, warmup_steps: 3}
metrics: {peak_flops: 1.0e10}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.05, prefetch: 2}
YAML
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=pre >/dev/null 2>&1

SMALL=(rl.init=pre rl.prompts=4 rl.group_size=4 rl.minibatch_size=8 rl.max_new_tokens=24 rl.eval_samples=8 train.threads=1
       train.log_interval=1 rl.overlong_buffer=8 metrics.peak_flops=1.0e10)
for preset in grpo dapo dr_grpo; do
  "$EMBER_BIN" rl --config "$PRESETS/$preset.yaml" run.dir="$preset" train.steps=2 "${SMALL[@]}" 2>&1 | tee "$preset.log"
  grep -qE "step 2/2 \| reward .* \| [0-9.k]+ tok/s \| MFU [0-9.]+% \| ETA" "$preset.log" \
    || die "$preset: no tok/s and MFU on the progress line"
  [ -s "$preset/checkpoints/latest" ] || die "$preset wrote no checkpoint"
done

# Resume: 2 steps, then continue to 3 from the checkpoint; the same as 3 steps straight.
"$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" run.dir=grpo train.steps=3 "${SMALL[@]}" 2>&1 | tee resume.log
grep -q "resumed from" resume.log || die "the grpo run did not resume"
[ -d grpo/checkpoints/step_000003 ] || die "RL checkpoints are not named by RL step"
"$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" run.dir=grpo_straight train.steps=3 "${SMALL[@]}"

"$EMBER_PYTHON" - <<'PY'
import json
need = {"reward_mean", "reward_std", "accuracy", "frac_zero_std_groups", "response_length_mean",
        "response_length_max", "response_clip_ratio", "policy_loss", "clip_frac_low", "clip_frac_high", "kl",
        "entropy", "grad_norm", "logprob_gap", "rollout_tokens_per_s", "train_tokens_per_s", "time_rollout_s",
        "time_update_s", "tokens_per_s", "mfu", "tokens", "flops_rollout", "flops_update", "flops_total"}
for preset, steps in (("grpo", 3), ("dapo", 2), ("dr_grpo", 2)):
    rows = [json.loads(l) for l in open(f"{preset}/metrics.jsonl")]
    assert [r["step"] for r in rows] == list(range(0, steps + 1)), (preset, [r["step"] for r in rows])
    assert "eval_accuracy" in rows[0] and "eval_accuracy" in rows[-1], preset
    for r in rows[1:]:
        missing = need - set(r)
        assert not missing, f"{preset} step {r['step']} lacks {missing}"
        assert r["logprob_gap"] < 1e-3, f"{preset}: rollout/trainer log-prob gap {r['logprob_gap']}"
        assert r["flops_rollout"] > 0 and r["flops_update"] > 0 and r["mfu"] > 0, r
        assert abs(r["flops_total"] - r["flops_rollout"] - r["flops_update"]) <= 1e-9 * r["flops_total"], r
def training_curve(run):
    rows = [json.loads(l) for l in open(f"{run}/metrics.jsonl")]
    return [(r["step"], r["reward_mean"], r["policy_loss"], r["grad_norm"]) for r in rows if "reward_mean" in r]
assert training_curve("grpo") == training_curve("grpo_straight"), (training_curve("grpo"), training_curve("grpo_straight"))
print("rl e2e: presets ran, metrics complete, resume exact")
PY

# RL checkpoints are complete checkpoints: ember eval reads their model config and tokenizer.
"$EMBER_BIN" eval --checkpoint grpo --task arithmetic --samples 8 --max-new-tokens 24 --threads 1 > eval.out
tail -n 1 eval.out | "$EMBER_PYTHON" -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["task"] == "arithmetic" and r["samples"] == 8 and 0 <= r["accuracy"] <= 1 and r["params"] > 0, r'
"$EMBER_BIN" eval --checkpoint pre --task arithmetic --samples 4 --pass-k 3 --temperature 1 --max-new-tokens 24 \
  --threads 1 | tail -n 1 | grep -q '"pass_k":3' || die "pass@k eval"
expect_fail 2 "temperature" "$EMBER_BIN" eval --checkpoint pre --task arithmetic --pass-k 2

# External rewards: a command that pays 1 for short completions; then misbehaving commands.
cat > reward.py <<'PY'
import json, sys
for line in sys.stdin:
    request = json.loads(line)
    assert set(request) == {"prompt", "completion", "metadata"}, request
    print(json.dumps({"reward": 1.0 if len(request["completion"]) < 40 else 0.0}))
PY
"$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" run.dir=external train.steps=1 "${SMALL[@]}" rl.eval_samples=0 \
  "rl.reward_command=$EMBER_PYTHON reward.py"
[ -s external/metrics.jsonl ] || die "the external-reward run logged nothing"
expect_fail 1 "reward command 'sleep 5' did not answer within 0.5 s" \
  "$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" run.dir=bad1 train.steps=1 "${SMALL[@]}" rl.eval_samples=0 \
  "rl.reward_command=sleep 5" rl.reward_timeout_s=0.5
expect_fail 1 "reward command 'echo oops' returned|expected a number" \
  "$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" run.dir=bad2 train.steps=1 "${SMALL[@]}" rl.eval_samples=0 \
  "rl.reward_command=echo oops"
expect_fail 1 "was killed by signal" \
  "$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" run.dir=bad3 train.steps=1 "${SMALL[@]}" rl.eval_samples=0 \
  'rl.reward_command=kill -KILL $$'
expect_fail 2 "rl.init" "$EMBER_BIN" rl --config "$PRESETS/grpo.yaml" rl.init=
echo "rl e2e: ok"
