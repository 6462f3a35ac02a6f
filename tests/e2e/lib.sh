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
