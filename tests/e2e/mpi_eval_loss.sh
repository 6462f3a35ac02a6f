#!/usr/bin/env bash
# `ember eval --data` under mpirun: dp = 2 and dp = 3 ranks share the packed rows (row k on rank
# k mod dp) and report the single process's loss, per store and combined, and the same token count.
source "$(dirname "$0")/mpi_lib.sh"
prepare_tiny_run
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=run train.steps=10 >/dev/null 2>&1
"$EMBER_BIN" eval --checkpoint run --data corpus.h5 --seq-len 64 --max-tokens 4000 2>/dev/null | tail -1 > one.json
ember_mpi 2 eval --checkpoint run --data corpus.h5 --seq-len 64 --max-tokens 4000 2>/dev/null | tail -1 > two.json
ember_mpi 3 eval --checkpoint run --data corpus.h5 --seq-len 64 --max-tokens 4000 2>/dev/null | tail -1 > three.json
"$EMBER_PYTHON" - <<'PY'
import json
one, two, three = (json.load(open(f)) for f in ("one.json", "two.json", "three.json"))
assert one["tokens"] == 63 * 64, one  # ceil(4000 / 64) rows of 64 targets
for other in (two, three):
    assert other["tokens"] == one["tokens"], (one, other)
    assert abs(other["loss"] - one["loss"]) < 1e-6 * one["loss"], (one["loss"], other["loss"])
print(f"eval --data: loss {one['loss']:.6f} on 1, {two['loss']:.6f} on 2, {three['loss']:.6f} on 3 ranks")
PY
echo "e2e mpi eval loss: ok"
