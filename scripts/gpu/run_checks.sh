#!/usr/bin/env bash
# Ember's checks on a GPU machine (H100 / H200), run from the repository root with the archive
# made by scripts/gpu/pack.sh carried along. Uses the machine's own torch 2.11 wheel for LibTorch.
#   1. ember --version (CUDA and NCCL available at run time)
#   2. test_cuda: forward/backward vs CPU fp32, a bf16 training run, GPU vs CPU greedy generation,
#      a size-1 NCCL communicator
#   3. ember bench train: the 1B preset at bf16, sequence 2048 (tokens/s, MFU vs 989 TFLOP/s), with
#      the fused RMSNorm / RoPE / SwiGLU kernels and again with the composite ATen ops
#      (train.fused_kernels=false); then short runs (2 warm-up + 5 timed steps) of the preset, of
#      micro-batches of 8 sequences (one of them: batch 8; four: batch 32) and of the preset with
#      the logits + cross-entropy loss instead of the fused LM head + loss (train.fused_lm_loss=false)
#   4. scripts/gpu/mfu_levers.sh: the attention backends, fused projections and expandable
#      allocator segments, each alone and together (short runs), and an nsys kernel summary
# `run_checks.sh tests` runs 1 and 2 only, `run_checks.sh levers` 1, 2 and 4 (short device slots);
# NSYS_UNTIL (epoch seconds)
# bounds the optional nsys profile.
# Results go to $OUT (or ./gpu-results) as gpu_checks.log and bench JSON lines.
set -uo pipefail
OUT="${OUT:-$PWD/gpu-results}"
mkdir -p "$OUT"
log="$OUT/gpu_checks.log"
exec > >(tee "$log") 2>&1
work=$(mktemp -d)
tar -C "$work" -xJf build/gpu-pack.tar.xz || { echo "missing build/gpu-pack.tar.xz (run scripts/gpu/pack.sh and carry it)"; exit 1; }
# torch/lib plus the nvidia-* wheels' lib folders (CUDA runtime, cuBLAS, NCCL, ...).
wheel_libs=$(python3 - <<'PY'
import glob, os, torch
site = os.path.dirname(os.path.dirname(torch.__file__))
print(":".join([os.path.join(os.path.dirname(torch.__file__), "lib")] + sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))))
PY
)
export LD_LIBRARY_PATH="$work/gpu-pack/lib:$wheel_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
ember="$work/gpu-pack/bin/ember"
echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
status=0
echo "=== ember --version"; "$ember" --version || status=1
echo "=== test_cuda"; "$work/gpu-pack/bin/test_cuda" || status=1
if [ "${1:-}" = tests ]; then
  echo "=== done (status $status)"
  exit $status
fi
if [ "${1:-}" = levers ]; then
  scripts/gpu/mfu_levers.sh "$ember" "$OUT" || status=1
  echo "=== done (status $status)"
  exit $status
fi
echo "=== bench: 1B bf16 seq 2048"
"$ember" bench train --config configs/bench/train-1b-gpu.yaml | tail -1 | tee "$OUT/bench_1b.json" || status=1
echo "=== bench: 1B bf16 seq 2048, composite elementwise ops (train.fused_kernels=false)"
"$ember" bench train --config configs/bench/train-1b-gpu.yaml train.fused_kernels=false | tail -1 \
  | tee "$OUT/bench_1b_composite.json" || status=1
short="bench.warmup_steps=2 bench.steps=5"
bench_1b() {  # name, overrides...
  local name=$1; shift
  echo "=== bench: 1B $name ($*)"
  "$ember" bench train --config configs/bench/train-1b-gpu.yaml $short "$@" | tail -1 | tee "$OUT/bench_1b_$name.json" \
    || status=1
}
bench_1b short_preset
bench_1b mb8_b8 train.micro_batch_size=8 train.batch_size=8
bench_1b mb8_b32 train.micro_batch_size=8 train.batch_size=32
bench_1b unfused_lm_loss train.fused_lm_loss=false
scripts/gpu/mfu_levers.sh "$ember" "$OUT" || status=1
echo "=== bench: 25m bf16 seq 256 (GPU)"
"$ember" bench train --config configs/bench/train-25m.yaml train.device=cuda train.dtype=bf16 \
  train.threads=0 metrics.peak_flops=9.89e14 | tail -1 | tee "$OUT/bench_25m_gpu.json" || status=1
echo "=== done (status $status)"
exit $status
