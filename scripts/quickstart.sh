#!/usr/bin/env bash
# The nano pipeline on CPU, end to end, in minutes: installs what is missing, builds, generates the
# reasoning corpus, trains a tokenizer, packs the corpus into HDF5, pretrains the nano model, and
# prints a results table. Every stage that exists runs; outputs go to runs/quickstart/.
#   scripts/quickstart.sh [pretrain overrides key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh cpu-release ember
EMBER=build/bin/ember
OUT=runs/quickstart
DATA=$OUT/data
mkdir -p "$DATA"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

stage() { echo; echo "=== $* ==="; }

stage "1/4 generate the reasoning corpus (train split only)"
if [ ! -s "$DATA/corpus.jsonl" ]; then
  $EMBER data generate --task all --count 60000 --seed 1 --split train --out "$DATA/corpus.jsonl"
fi
wc -l < "$DATA/corpus.jsonl" | xargs echo "documents:"

stage "2/4 train the byte-level BPE tokenizer"
if [ ! -s "$DATA/tokenizer.json" ]; then
  $EMBER tokenizer train --input "$DATA/corpus.jsonl" --field text --vocab-size 1024 --out "$DATA/tokenizer.json"
fi

stage "3/4 pack the corpus into an HDF5 token store"
if [ ! -s "$DATA/corpus.h5" ]; then
  $EMBER data prepare --input "$DATA/corpus.jsonl" --field text --tokenizer "$DATA/tokenizer.json" --out "$DATA/corpus.h5"
fi

stage "4/4 pretrain the nano model"
$EMBER pretrain --config configs/nano/pretrain.yaml "$@"

stage "results"
"${EMBER_PYTHON:-${XDG_DATA_HOME:-$HOME/.local/share}/ember/venv/bin/python}" scripts/summarize_run.py "$OUT/pretrain"
