#!/usr/bin/env bash
# `ember data generate`: JSONL with the documented fields, deterministic from the seed, train and
# eval files disjoint, the mixed corpus for pretraining, and bad arguments exiting 2 with a message.
source "$(dirname "$0")/lib.sh"
py="${EMBER_PYTHON:-python3}"

"$EMBER_BIN" data --help | grep -q generate || die "ember data --help does not list generate"

for task in arithmetic countdown word_problems; do
  "$EMBER_BIN" data generate --task "$task" --count 50 --seed 3 --out "$TMP/$task.jsonl" >/dev/null
  [ "$(wc -l <"$TMP/$task.jsonl")" -eq 50 ] || die "$task: expected 50 lines"
done
"$py" - "$TMP" <<'PY' || die "JSONL fields check failed"
import json, sys
for task in ["arithmetic", "countdown", "word_problems"]:
    for line in open(f"{sys.argv[1]}/{task}.jsonl"):
        row = json.loads(line)
        assert set(row) == {"task", "prompt", "solution", "answer", "meta", "text"}, row.keys()
        assert row["task"] == task
        assert row["solution"].startswith("<think>") and row["solution"].endswith(f"<answer>{row['answer']}</answer>")
        assert row["text"] == row["prompt"] + row["solution"]
        assert isinstance(row["meta"], dict) and row["meta"]
PY

# Same seed, same bytes; another seed, other problems.
"$EMBER_BIN" data generate --task countdown --count 50 --seed 3 --out "$TMP/again.jsonl" >/dev/null
cmp -s "$TMP/countdown.jsonl" "$TMP/again.jsonl" || die "same seed gave a different file"
"$EMBER_BIN" data generate --task countdown --count 50 --seed 4 --out "$TMP/other.jsonl" >/dev/null
! cmp -s "$TMP/countdown.jsonl" "$TMP/other.jsonl" || die "different seeds gave the same file"

# Eval problems never appear in train files, at any difficulty.
"$EMBER_BIN" data generate --task arithmetic --count 2000 --seed 1 --difficulty 1 --out "$TMP/train.jsonl" >/dev/null
"$EMBER_BIN" data generate --task arithmetic --count 300 --seed 1 --difficulty 1 --split eval --out "$TMP/eval.jsonl" >/dev/null
"$py" - "$TMP" <<'PY' || die "train and eval files share problems"
import json, sys
prompts = lambda name: {json.loads(line)["prompt"] for line in open(f"{sys.argv[1]}/{name}.jsonl")}
shared = prompts("train") & prompts("eval")
assert not shared, sorted(shared)[:5]
PY

# The pretraining corpus mixes every task.
out=$("$EMBER_BIN" data generate --task all --count 30 --seed 2 --out "$TMP/corpus.jsonl")
grep -q "wrote 30 train examples" <<<"$out" || die "unexpected summary: $out"
"$py" - "$TMP/corpus.jsonl" <<'PY' || die "corpus check failed"
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
assert {row["task"] for row in rows} == {"arithmetic", "countdown", "word_problems"}
assert all(row["text"] for row in rows)
PY

# Flawed and bare demonstrations: the same problems, some careless (arithmetic answers wrong), some
# answer-only (empty think block); every solution still well formed.
"$EMBER_BIN" data generate --task all --count 300 --seed 5 --out "$TMP/clean.jsonl" >/dev/null
"$EMBER_BIN" data generate --task all --count 300 --seed 5 --careless-percent 60 --answer-only-percent 20 \
  --out "$TMP/flawed.jsonl" >/dev/null
"$py" - "$TMP" <<'PY' || die "careless / answer-only check failed"
import json, sys
clean = [json.loads(line) for line in open(f"{sys.argv[1]}/clean.jsonl")]
flawed = [json.loads(line) for line in open(f"{sys.argv[1]}/flawed.jsonl")]
assert [r["prompt"] for r in clean] == [r["prompt"] for r in flawed]
bare = [f for f in flawed if f["solution"].startswith("<think>\n</think>")]
assert 30 <= len(bare) <= 90, len(bare)
wrong = [f for c, f in zip(clean, flawed) if f["solution"].split("<answer>")[1] != c["solution"].split("<answer>")[1]]
assert wrong and all(f["task"] == "arithmetic" for f in wrong), len(wrong)
assert all(f["solution"].startswith("<think>") and f["solution"].endswith("</answer>") for f in flawed)
PY

# Usage errors exit 2 and say what is wrong.
expect_fail 2 "unknown task 'countdwn'.*did you mean 'countdown'" \
  "$EMBER_BIN" data generate --task countdwn --count 5 --seed 1 --out "$TMP/x.jsonl"
expect_fail 2 "unknown split 'test'" "$EMBER_BIN" data generate --task countdown --count 5 --seed 1 --split test --out "$TMP/x.jsonl"
expect_fail 2 "difficulty .* between 1 and 5, got 9" \
  "$EMBER_BIN" data generate --task arithmetic --count 5 --seed 1 --difficulty 9 --out "$TMP/x.jsonl"
expect_fail 2 "--count must be at least 1" "$EMBER_BIN" data generate --task arithmetic --count 0 --seed 1 --out "$TMP/x.jsonl"
expect_fail 2 "eval percent" "$EMBER_BIN" data generate --task arithmetic --count 5 --seed 1 --eval-percent 100 --out "$TMP/x.jsonl"
expect_fail 2 "--count must be at least 1, got -3" "$EMBER_BIN" data generate --task arithmetic --count -3 --seed 1 --out "$TMP/x.jsonl"
expect_fail 2 "careless percent must be between 0 and 100, got 120" \
  "$EMBER_BIN" data generate --task arithmetic --count 5 --seed 1 --careless-percent 120 --out "$TMP/x.jsonl"
expect_fail 2 "answer-only percent must be between 0 and 100, got -5" \
  "$EMBER_BIN" data generate --task arithmetic --count 5 --seed 1 --answer-only-percent -5 --out "$TMP/x.jsonl"
expect_fail 2 "--out.*required" "$EMBER_BIN" data generate --task arithmetic --count 5 --seed 1
expect_fail 2 "" "$EMBER_BIN" data
expect_fail 2 "between 1 and 100000000" "$EMBER_BIN" data generate --task arithmetic --count 100000001 --seed 1 --out "$TMP/x.jsonl"
[ ! -e "$TMP/x.jsonl" ] || die "a failed command wrote its output"
expect_fail 1 "x.jsonl" "$EMBER_BIN" data generate --task arithmetic --count 5 --seed 1 --out "$TMP/no/such/dir/x.jsonl"
echo "e2e data generate: ok"
