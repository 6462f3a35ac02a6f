#!/usr/bin/env bash
# Installs what is missing, builds Ember, and runs the whole test suite, printing CTest's summary:
#   1. the torch-free libraries' unit tests (core, data) under ASan + UBSan (preset `sanitize`);
#      skip with EMBER_TEST_SANITIZE=0 for a quicker local run;
#   2. everything else on the release build: unit, mpi (under mpirun), e2e (the CLI) and interop
#      (Python readers) tests.
# Exits non-zero on any failure. Idempotent and incremental (ccache, ninja).
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
if [ "${EMBER_TEST_SANITIZE:-1}" != 0 ] && [ $# -eq 0 ]; then
  scripts/build.sh sanitize
  echo "[test] torch-free unit tests under ASan + UBSan"
  (cd build-sanitize && ctest --output-on-failure --timeout 600 -j "${EMBER_TEST_JOBS:-2}")
fi
scripts/build.sh cpu-release
cd build
ctest --output-on-failure --timeout 900 -j "${EMBER_TEST_JOBS:-2}" "$@"
