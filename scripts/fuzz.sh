#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`, clang) and runs each one for a set time, one after
# the other, starting from its seed corpus in tests/fuzz/corpus/<name>/ (target fuzz_<name>).
# New corpus entries, logs and crash reproducers stay in build-fuzz/fuzz-runs/<name>/ (not in git).
# Exits non-zero when any target finds a crash, a sanitizer report, a leak, a timeout or an
# out-of-memory input, printing the reproducer's path.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [name...]     default: 60 s, every target
#   e.g. scripts/fuzz.sh 300 safetensors config
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(safetensors tokenizer_json config hf_config)
fi
flock /tmp/ember-build.lock scripts/build.sh fuzz "${names[@]/#/fuzz_}"

failed=0
for name in "${names[@]}"; do
  run_dir="build-fuzz/fuzz-runs/$name"
  mkdir -p "$run_dir/corpus" "$run_dir/artifacts"
  echo "[fuzz] fuzz_$name for ${seconds}s (log: $run_dir/fuzz.log)"
  # The grown corpus comes first: libFuzzer writes new inputs to the first directory only.
  if build-fuzz/fuzz/"fuzz_$name" "$run_dir/corpus" "tests/fuzz/corpus/$name" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$run_dir/artifacts/" >"$run_dir/fuzz.log" 2>&1; then
    grep -E '^#[0-9]+.*DONE|stat::number_of_executed_units|cov:' "$run_dir/fuzz.log" | tail -2
  else
    failed=1
    grep -E 'ERROR: |SUMMARY: ' "$run_dir/fuzz.log" | head -4 || true
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$run_dir/fuzz.log" | tail -1)
    echo "[fuzz] FAILED: fuzz_$name, reproducer: ${reproducer:-none written, see $run_dir/fuzz.log}"
  fi
done
[ "$failed" = 0 ] && echo "[fuzz] no crashes in ${names[*]}"
exit "$failed"
