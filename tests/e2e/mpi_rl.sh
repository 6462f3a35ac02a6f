#!/usr/bin/env bash
# RL under data and tensor parallelism reproduces the single-process run of the same config: dp=2
# (prompts split over ranks, each group on one rank, global loss normalisers) and tp=2 (generation
# on the sharded model with full-vocabulary logits, every tp rank sampling the same tokens) log the
# same rewards (from a reward command), accuracy, lengths and held-out accuracy as one process, and
# the same policy losses, KL, entropy and gradient norms within 1e-5 relative (1e-7 absolute for
# the near-zero policy losses), over 3 steps of 2 minibatches with a KL term in the
# loss (a reference model sharded like the policy) and 2-sequence micro-batches; the final
# checkpoints hold the same logical parameters. Dynamic sampling at dp=2 (0/1 rewards, groups of 3:
# some groups have no spread) refills globally and keeps the single-process groups, rounds and losses.
#   mpi_rl.sh MPIEXEC
source "$(dirname "$0")/mpi_lib.sh"
prepare_tiny_run
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=pre train.steps=10 checkpoint.interval=10 2>/dev/null

# The tiny policy solves nothing yet: a reward command that pays for the completion's characters
# gives every group a spread (non-zero advantages), so the updates are not rounding noise.
cat > reward.py <<'PY'
import json, sys
for line in sys.stdin:
    completion = json.loads(line)["completion"]
    print(json.dumps({"reward": (sum(map(ord, completion)) % 7) / 6.0}), flush=True)
PY
RL=("rl.reward_command=$EMBER_PYTHON reward.py" rl.init=pre rl.task=arithmetic rl.prompts=5 rl.group_size=4 rl.minibatch_size=10 rl.max_new_tokens=12
    rl.eval_samples=5 rl.eval_interval=3 rl.kl_coef=0.05 rl.loss_agg=seq-mean-token-mean train.steps=3
    train.micro_batch_size=2 train.log_interval=1 train.threads=1 checkpoint.interval=3 metrics.tensorboard=false
    optim.lr=1.0e-3 optim.warmup_steps=0)
"$EMBER_BIN" rl "${RL[@]}" run.dir=rl_single 2>/dev/null
ember_mpi 2 rl "${RL[@]}" run.dir=rl_dp2 2>/dev/null
ember_mpi 2 rl "${RL[@]}" run.dir=rl_tp2 parallel.tp=2 2>/dev/null

cat > parity.py <<'PY'
import json, sys
for line in sys.stdin:
    completion = json.loads(line)["completion"]
    print(json.dumps({"reward": float(sum(map(ord, completion)) % 2)}), flush=True)
PY
DS=("rl.reward_command=$EMBER_PYTHON parity.py" rl.init=pre rl.task=arithmetic rl.prompts=5 rl.group_size=3
    rl.minibatch_size=10 rl.max_new_tokens=6 rl.eval_samples=0 rl.dynamic_sampling=true rl.sampling_rounds=3
    train.steps=3 train.micro_batch_size=2 train.threads=1 checkpoint.interval=3 metrics.tensorboard=false)
"$EMBER_BIN" rl "${DS[@]}" run.dir=ds_single 2>/dev/null
ember_mpi 2 rl "${DS[@]}" run.dir=ds_dp2 2>/dev/null

"$EMBER_PYTHON" - <<'PY'
import json
import numpy as np
from ember_checkpoint import load_tensors

def rows(run):
    return {r["step"]: r for r in map(json.loads, open(f"{run}/metrics.jsonl"))}

exact = ["reward_mean", "reward_std", "accuracy", "response_length_mean", "response_length_max", "groups_kept",
         "eval_accuracy", "eval_length_mean"]
close = ["policy_loss", "pg_loss", "grad_norm", "kl", "entropy"]
ref = rows("rl_single")
assert sorted(ref) == [0, 1, 2, 3], sorted(ref)
for run in ("rl_dp2", "rl_tp2"):
    got = rows(run)
    assert sorted(got) == sorted(ref), (run, sorted(got))
    for step, r in ref.items():
        for key in exact:
            if key in r:
                assert abs(got[step][key] - r[key]) <= 1e-9 * max(1.0, abs(r[key])), (run, step, key, got[step][key], r[key])
        for key in close:
            if key in r:
                # Group-centred advantages make the policy loss a near-zero sum of O(0.1) fp32 terms.
                scale = max(abs(r[key]), 1e-2)
                assert abs(got[step][key] - r[key]) <= 1e-5 * scale, (run, step, key, got[step][key], r[key])
    a = load_tensors("rl_single/checkpoints/step_000003")
    b = load_tensors(f"{run}/checkpoints/step_000003")
    assert sorted(a) == sorted(b), run
    worst = max(float(np.max(np.abs(a[k] - b[k]))) for k in a)
    assert worst < 1e-5, (run, worst)
    manifest = json.load(open(f"{run}/checkpoints/step_000003/manifest.json"))
    layout = manifest["state"]["layout"]
    assert (layout["dp"], layout["tp"]) == ((2, 1) if run == "rl_dp2" else (1, 2)), layout
    print(f"{run}: rewards and eval identical, losses within 1e-5, parameters within {worst:.1e}")
ref, got = rows("ds_single"), rows("ds_dp2")
assert sorted(got) == sorted(ref) == [1, 2, 3], (sorted(ref), sorted(got))
assert max(r["sampling_rounds"] for r in ref.values()) > 1, "dynamic sampling never refilled"
for step, r in ref.items():
    for key in ("sampling_rounds", "groups_kept", "frac_zero_std_groups", "reward_mean"):
        assert abs(got[step][key] - r[key]) <= 1e-9, ("ds_dp2", step, key, got[step][key], r[key])
    for key in ("policy_loss", "grad_norm"):
        assert abs(got[step][key] - r[key]) <= 1e-5 * max(abs(r[key]), 1e-2), ("ds_dp2", step, key, got[step][key], r[key])
print("ds_dp2: dynamic sampling refills like one process")
PY
echo "e2e mpi rl: ok"
