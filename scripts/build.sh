#!/usr/bin/env bash
# Configures (once) and builds Ember with a CMake preset; incremental and ccache-backed.
#   scripts/build.sh [preset] [ninja targets...]     default preset: cpu-release -> build/bin/ember
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-cpu-release}"
shift || true
binary_dir=$(python3 - "$preset" <<'PY'
import json, sys
presets = {p["name"]: p for p in json.load(open("CMakePresets.json"))["configurePresets"]}
p = presets.get(sys.argv[1])
if p is None:
    sys.exit(f"unknown preset {sys.argv[1]} (have: {', '.join(presets)})")
while "binaryDir" not in p:
    p = presets[p["inherits"]]
print(p["binaryDir"].replace("${sourceDir}/", ""))
PY
)
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
if [ ! -f "$binary_dir/build.ninja" ]; then
  echo "[build] configuring preset $preset in $binary_dir"
  cmake --preset "$preset" >"${TMPDIR:-/tmp}/ember-configure-$preset.log" 2>&1 || {
    cat "${TMPDIR:-/tmp}/ember-configure-$preset.log"; echo "[build] FAILED: cmake configure ($preset)" >&2; exit 1; }
fi
jobs="${EMBER_BUILD_JOBS:-$(nproc)}"
echo "[build] building $binary_dir ${*:-(all)} with $jobs jobs"
cmake --build "$binary_dir" -j "$jobs" ${*:+--target "$@"}
