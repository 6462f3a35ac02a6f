#!/usr/bin/env bash
# Checkpoints load into any layout: a run saved at dp=2 x tp=2 (step 10) resumes on one process,
# and a single-process checkpoint resumes at dp=2 x tp=2 with ZeRO-1 (optimizer state scattered
# over the dp ranks); both follow the uninterrupted single-process loss curve to step 20 and end
# with its parameters.
#   mpi_reshard.sh MPIEXEC
source "$(dirname "$0")/mpi_lib.sh"
prepare_tiny_run

"$EMBER_BIN" pretrain --config tiny.yaml run.dir=single 2>/dev/null

ember_mpi 4 pretrain --config tiny.yaml run.dir=from_mesh parallel.tp=2 train.steps=10 2>/dev/null
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=from_mesh 2>&1 | tee to_single.log >/dev/null
grep -q "resumed from .* at step 10 (saved at dp 2 x tp 2, ZeRO-0)" to_single.log || die "no resume from the mesh run"

"$EMBER_BIN" pretrain --config tiny.yaml run.dir=from_single train.steps=10 2>/dev/null
ember_mpi 4 pretrain --config tiny.yaml run.dir=from_single parallel.tp=2 parallel.zero=1 2>&1 \
  | tee to_mesh.log >/dev/null
grep -q "resumed from .* at step 10 (saved at dp 1 x tp 1, ZeRO-0)" to_mesh.log || die "no resume on the mesh"

compare_runs single from_mesh from_single

# A checkpoint written on the dp 2 x tp 2 mesh exports directly (it holds logical tensors), and
# transformers gives the same logits as the export of the single-process run's checkpoint.
ember_mpi 4 pretrain --config tiny.yaml run.dir=mesh_only parallel.tp=2 2>/dev/null
"$EMBER_BIN" export --checkpoint mesh_only --format hf --out mesh_hf 2>/dev/null
"$EMBER_BIN" export --checkpoint single --format hf --out single_hf 2>/dev/null
"$EMBER_PYTHON" - <<'PY'
import torch
from transformers import AutoModelForCausalLM
ids = torch.tensor([[5, 17, 42, 99, 3, 250]])
mesh = AutoModelForCausalLM.from_pretrained("mesh_hf", torch_dtype=torch.float32)(ids).logits
single = AutoModelForCausalLM.from_pretrained("single_hf", torch_dtype=torch.float32)(ids).logits
err = ((mesh - single).abs().max() / single.abs().max()).item()
assert err < 1e-4, f"mesh-trained export differs from the single-process one: {err}"
print(f"tp-trained export loads in transformers (relative logit difference {err:.2e})")
PY
echo "e2e mpi reshard: ok"
