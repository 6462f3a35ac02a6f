#!/usr/bin/env bash
# Installs what is missing, builds Ember, and runs the whole CTest suite (unit, mpi, e2e, interop),
# printing CTest's summary. Exits non-zero on any failure. Idempotent and incremental.
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh cpu-release
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd build
ctest --output-on-failure --timeout 900 -j "${EMBER_TEST_JOBS:-2}" "$@"
