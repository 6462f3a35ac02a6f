# Helpers for e2e scripts: a fresh scratch directory and assertions with clear messages.
set -euo pipefail
: "${EMBER_BIN:?run through ctest}"
TMP="${EMBER_TEST_TMP}"
rm -rf "$TMP" && mkdir -p "$TMP"

# tests/interop/ember_checkpoint.py: an independent Python reader of checkpoints (any format).
export PYTHONPATH="${EMBER_SOURCE_DIR}/tests/interop${PYTHONPATH:+:$PYTHONPATH}"

die() { echo "FAIL: $*" >&2; exit 1; }

# same_parameters RUN_A RUN_B STEP: both runs' checkpoints at STEP hold bit-identical parameters.
same_parameters() {
  "$EMBER_PYTHON" - "$@" <<'PY' || die "parameters of $1 and $2 differ at step $3"
import sys
import numpy as np
from ember_checkpoint import load_tensors
a, b, step = sys.argv[1:]
x = load_tensors(f"{a}/checkpoints/step_{int(step):06d}")
y = load_tensors(f"{b}/checkpoints/step_{int(step):06d}")
assert sorted(x) == sorted(y), (sorted(x), sorted(y))
bad = [k for k in x if x[k].shape != y[k].shape or not np.array_equal(x[k], y[k])]
assert not bad, f"differ: {bad[:5]}"
PY
}

# expect_fail CODE PATTERN cmd...: the command exits with CODE and its stderr matches PATTERN.
expect_fail() {
  local code="$1" pattern="$2"; shift 2
  local err rc=0
  err=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -eq "$code" ] || die "'$*' exited $rc, expected $code; stderr: $err"
  grep -qE -- "$pattern" <<<"$err" || die "'$*' stderr lacks /$pattern/: $err"
}

# prepare_tiny_data COUNT SEED VOCAB: generated corpus.jsonl, tokenizer.json and corpus.h5 in the
# current directory, for the tiny runs the e2e tests train.
prepare_tiny_data() {
  "$EMBER_BIN" data generate --task all --count "$1" --seed "$2" --split train --out corpus.jsonl >/dev/null
  "$EMBER_BIN" tokenizer train --input corpus.jsonl --field text --vocab-size "$3" --out tokenizer.json 2>/dev/null
  "$EMBER_BIN" data prepare --input corpus.jsonl --field text --tokenizer tokenizer.json --out corpus.h5 >/dev/null
}
