#!/usr/bin/env bash
# A rank that stops (SIGSTOP) or dies (kill -9) in the middle of training ends the whole job with
# a non-zero status, within parallel.timeout_s plus a margin, and a message that names the rank
# and the collective.
#   mpi_stalled_rank.sh MPIEXEC
source "$(dirname "$0")/mpi_lib.sh"
prepare_tiny_run
TIMEOUT_S=3
MARGIN_S=25

# run_and_break NAME SIGNAL: starts a long 2-rank run, waits for its first steps, sends SIGNAL to
# rank 1, and checks how the job ends.
run_and_break() {
  local name="$1" signal="$2" pattern="$3"
  "$MPIEXEC" --oversubscribe --bind-to none -np 2 "$EMBER_BIN" pretrain --config tiny.yaml run.dir="$name" \
    train.steps=100000 checkpoint.interval=0 parallel.timeout_s=$TIMEOUT_S >"$name.log" 2>&1 &
  local job=$!
  trap "kill -KILL $job 2>/dev/null || true" EXIT
  for _ in $(seq 1 300); do
    [ -s "$name/metrics.jsonl" ] && [ "$(wc -l <"$name/metrics.jsonl")" -ge 3 ] && break
    sleep 0.1
  done
  [ -s "$name/metrics.jsonl" ] || die "$name: training did not start: $(cat "$name.log")"
  local victim=""
  for pid in $(pgrep -P "$job"); do
    if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$pid; fi
  done
  [ -n "$victim" ] || die "$name: rank 1 not found among the children of mpirun ($job)"
  local start=$(date +%s) rc=0
  kill "-$signal" "$victim"
  wait "$job" || rc=$?
  trap - EXIT
  local elapsed=$(( $(date +%s) - start ))
  echo "$name: exit status $rc after ${elapsed}s"
  [ "$rc" -ne 0 ] || die "$name: the job exited with status 0"
  [ "$elapsed" -le $((TIMEOUT_S + MARGIN_S)) ] || die "$name: the job took ${elapsed}s to end"
  grep -qE "$pattern" "$name.log" || die "$name: no message matching /$pattern/ in: $(tail -20 "$name.log")"
}

# Rank 0 waits in a collective for the stopped rank 1 until its watchdog fires.
run_and_break stopped STOP "watchdog: [a-z_]+ on group '[a-z]+' \(rank 0 of 2\).* did not finish within $TIMEOUT_S"
# The launcher sees rank 1 die and stops the job.
run_and_break killed KILL "rank 1 .*(exited on signal 9|Killed)"
echo "e2e mpi stalled rank: ok"
