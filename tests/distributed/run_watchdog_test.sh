#!/usr/bin/env bash
# Runs watchdog_stall under mpirun and checks that the job ends with a non-zero status, the
# watchdog's message, and within the timeout plus a margin.
#   run_watchdog_test.sh MPIEXEC PROGRAM NP TIMEOUT_S LIMIT_S [MODE]    MODE: blocking (default) or async
set -u
mpiexec=$1 program=$2 np=$3 timeout_s=$4 limit_s=$5 mode=${6:-blocking}
start=$(date +%s)
output=$("$mpiexec" --oversubscribe --bind-to none -np "$np" "$program" "$timeout_s" "$mode" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output"
echo "exit status $status after ${elapsed}s (limit ${limit_s}s)"
if [ "$status" -eq 0 ]; then echo "FAIL: the job exited with status 0"; exit 1; fi
if ! grep -q "watchdog: all_reduce on group 'world' (rank 0 of $np) \[mpi\] did not finish within" <<<"$output"; then
  echo "FAIL: the watchdog's message is missing"; exit 1
fi
if [ "$elapsed" -gt "$limit_s" ]; then echo "FAIL: the job took longer than ${limit_s}s"; exit 1; fi
echo PASS
