#!/usr/bin/env bash
# MFU levers of the 1B bench preset (configs/bench/train-1b-gpu.yaml) on a GPU, each alone and all
# together, as short runs (2 warm-up + 5 timed steps) in one process each, bench JSON lines into
# OUT/bench_1b_<variant>.json:
#   baseline        the preset as measured before these levers: train.fused_projections=false,
#                   train.attention_backend=auto (LibTorch's SDPA choice)
#   attn_<backend>  train.attention_backend=flash | cudnn | efficient (fused projections off)
#   fused_proj      train.fused_projections=true: q/k/v and gate/up as one GEMM each
#   expandable      PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (c10's CUDA allocator)
#   all             the fastest attention backend + fused projections (+ expandable segments if
#                   they beat the baseline)
# then, when nsys is installed and NSYS_UNTIL (epoch seconds) leaves a minute, a 3-step profile of
# the "all" settings whose kernel summary goes to OUT/nsys_stats.txt.
# Usage: scripts/gpu/mfu_levers.sh EMBER_BINARY OUT_DIR   (run_checks.sh calls it)
set -uo pipefail
ember=$1 out=$2
config=configs/bench/train-1b-gpu.yaml
short="bench.warmup_steps=2 bench.steps=5"
status=0
bench() {  # name, overrides... (an ENV=value first word goes to the environment)
  local name=$1; shift
  local env=()
  if [[ "${1:-}" == *=*:* && "$1" != train.* ]]; then env=("$1"); shift; fi
  echo "=== bench: 1B $name (${env[*]} $*)"
  env "${env[@]}" "$ember" bench train --config "$config" $short "$@" | tail -1 | tee "$out/bench_1b_$name.json"
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "variant $name failed"; status=1; }
}
tokens_per_s() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tokens_per_s"])' "$1" 2>/dev/null || echo 0; }
better() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$1" "$2"; }

separate="train.fused_projections=false"
bench baseline $separate train.attention_backend=auto
best=auto best_rate=$(tokens_per_s "$out/bench_1b_baseline.json")
for backend in cudnn flash efficient; do
  bench "attn_$backend" $separate "train.attention_backend=$backend"
  rate=$(tokens_per_s "$out/bench_1b_attn_$backend.json")
  if better "$rate" "$best_rate"; then best=$backend best_rate=$rate; fi
done
bench fused_proj train.fused_projections=true train.attention_backend=auto
bench expandable PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True $separate train.attention_backend=auto
all_env=()
if better "$(tokens_per_s "$out/bench_1b_expandable.json")" "$(tokens_per_s "$out/bench_1b_baseline.json")"; then
  all_env=(PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True)
fi
echo "fastest attention backend: $best; all: ${all_env[*]:-default allocator}"
bench all "${all_env[@]}" train.fused_projections=true "train.attention_backend=$best"

nsys=$(command -v nsys || ls /usr/local/cuda/bin/nsys 2>/dev/null || true)
if [ -n "$nsys" ] && [ "$(date +%s)" -lt $(( ${NSYS_UNTIL:-0} - 60 )) ]; then
  echo "=== nsys profile: 1B all settings, 1 warm-up + 3 steps"
  prof=$(mktemp -d)
  timeout $(( NSYS_UNTIL - $(date +%s) )) env "${all_env[@]}" "$nsys" profile -t cuda,nvtx --stats=false \
    -o "$prof/all" "$ember" bench train --config "$config" bench.warmup_steps=1 bench.steps=3 \
    train.fused_projections=true "train.attention_backend=$best" >/dev/null 2>&1 \
    && timeout $(( NSYS_UNTIL - $(date +%s) )) "$nsys" stats -r cuda_gpu_kern_sum,cuda_api_sum -f csv \
      -o "$out/nsys" "$prof/all.nsys-rep" >/dev/null 2>&1
  ls "$out"/nsys* 2>/dev/null || echo "nsys: no summary (out of time or failed)"
else
  echo "nsys: ${nsys:-not installed}; skipped or out of time"
fi
exit $status
