#!/usr/bin/env bash
# One sharded checkpoint, three layouts: a run saved at dp=2 x tp=2 with ZeRO-1 (step 10; every rank
# wrote its own slices, the parameters only from dp rank 0) resumes at dp=4 x tp=1 (ZeRO-1) and at
# dp=1 x tp=4; both continue the uninterrupted single-process loss curve to step 20 and end with its
# parameters and moments. The saved checkpoint's shard files hold each rank's share only, and its
# Hugging Face export has exactly the tensors an independent Python reader assembles from them.
#   mpi_checkpoint_layouts.sh MPIEXEC
source "$(dirname "$0")/mpi_lib.sh"
prepare_tiny_run
kv4="model.n_kv_heads=4"  # tp=4 splits the kv heads too

"$EMBER_BIN" pretrain --config tiny.yaml run.dir=single $kv4 2>/dev/null
ember_mpi 4 pretrain --config tiny.yaml run.dir=saved $kv4 parallel.tp=2 parallel.zero=1 train.steps=10 2>/dev/null
cp -r saved to_dp4
cp -r saved to_tp4
ember_mpi 4 pretrain --config tiny.yaml run.dir=to_dp4 $kv4 parallel.tp=1 parallel.zero=1 2>&1 | tee to_dp4.log >/dev/null
grep -q "resumed from .* at step 10 (saved at dp 2 x tp 2, ZeRO-1)" to_dp4.log || die "dp=4 did not resume"
ember_mpi 4 pretrain --config tiny.yaml run.dir=to_tp4 $kv4 parallel.tp=4 2>&1 | tee to_tp4.log >/dev/null
grep -q "resumed from .* at step 10 (saved at dp 2 x tp 2, ZeRO-1)" to_tp4.log || die "tp=4 did not resume"

compare_runs single to_dp4 to_tp4

"$EMBER_BIN" export --checkpoint saved/checkpoints/step_000010 --format hf --out saved_hf 2>/dev/null
"$EMBER_PYTHON" - <<'PY'
import json, os
import numpy as np
from safetensors.numpy import load_file
from ember_checkpoint import load_tensors, verify_files

ckpt = "saved/checkpoints/step_000010"
manifest = json.load(open(f"{ckpt}/manifest.json"))
assert manifest["version"] == 2 and manifest["layout"] == {"dp": 2, "tp": 2, "zero": 1, "world": 4}, manifest["layout"]
files = sorted(f for f in os.listdir(ckpt) if f.endswith(".safetensors"))
assert files == [f"rank_{r:05d}.safetensors" for r in range(4)], files
verify_files(ckpt)
# dp rank 1 (world ranks 2, 3) owns no parameters, only its ZeRO-1 half of the moments.
for rank in (2, 3):
    names = load_file(f"{ckpt}/rank_{rank:05d}.safetensors")
    assert names and all(n.endswith((".exp_avg", ".exp_avg_sq")) for n in names), sorted(names)[:3]
sizes = [os.path.getsize(f"{ckpt}/{f}") for f in files]
total = sum(sizes)
assert max(sizes) < 0.5 * total, f"one rank wrote {max(sizes)} of {total} bytes"
params = load_tensors(ckpt)
exported = load_file("saved_hf/model.safetensors")
assert sorted(exported) == sorted(params), (sorted(exported)[:3], sorted(params)[:3])
for name, value in params.items():
    assert np.array_equal(exported[name], value), f"export of {name} differs from the checkpoint"
print(f"sharded checkpoint: 4 files, largest {max(sizes)} of {total} bytes; export identical to the shards")
PY
echo "e2e mpi checkpoint layouts: ok"
