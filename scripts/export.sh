#!/usr/bin/env bash
# Exports the newest complete checkpoint of a run to both serving formats:
#   RUN_DIR/export/hf/                  Hugging Face directory (vLLM, SGLang, TensorRT-LLM, transformers)
#   RUN_DIR/export/model-<dtype>.gguf   GGUF file (llama.cpp)
#
#   scripts/export.sh RUN_DIR [HF_DTYPE] [GGUF_DTYPE]     defaults: bf16, q8_0
#
# HF_DTYPE is f32, bf16 or f16; GGUF_DTYPE is f32, f16, bf16 or q8_0. The binary is $EMBER, or
# build/bin/ember of this checkout. Each output is written completely or not at all; re-running
# replaces the previous export.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
run_dir="$1"
hf_dtype="${2:-bf16}"
gguf_dtype="${3:-q8_0}"
ember="${EMBER:-$(cd "$(dirname "$0")/.." && pwd)/build/bin/ember}"
if [ ! -x "$ember" ]; then
  echo "export.sh: no ember binary at '$ember' (build it, or set EMBER)" >&2
  exit 2
fi
if [ ! -d "$run_dir/checkpoints" ]; then
  echo "export.sh: '$run_dir' is not a run directory (no checkpoints/)" >&2
  exit 2
fi
mkdir -p "$run_dir/export"
"$ember" export --checkpoint "$run_dir" --format hf --out "$run_dir/export/hf" --dtype "$hf_dtype"
"$ember" export --checkpoint "$run_dir" --format gguf --out "$run_dir/export/model-$gguf_dtype.gguf" --dtype "$gguf_dtype"
echo "exported $run_dir -> $run_dir/export/hf and $run_dir/export/model-$gguf_dtype.gguf"
