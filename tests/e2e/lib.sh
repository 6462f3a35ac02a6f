# Helpers for e2e scripts: a fresh scratch directory and assertions with clear messages.
set -euo pipefail
: "${EMBER_BIN:?run through ctest}"
TMP="${EMBER_TEST_TMP}"
rm -rf "$TMP" && mkdir -p "$TMP"

die() { echo "FAIL: $*" >&2; exit 1; }

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
