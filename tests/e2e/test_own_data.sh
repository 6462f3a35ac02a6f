#!/usr/bin/env bash
# A user's own folder end to end: `data prepare` on a directory of code, Markdown, compressed
# JSONL and Parquet (one document per file for code and prose, records for JSONL / Parquet; hidden
# folders, --exclude and binary files skipped and counted; a summary line), an input without
# documents refused, pretraining with a separate validation store, `eval --data` (JSON loss,
# perplexity, tokens; --max-tokens), `generate --prompt-file` / stdin / JSONL prompts and the
# context check (`--truncate left`), and `tokenizer encode --document file`.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

mkdir -p project/src/pkg project/docs project/.git project/data
for i in $(seq 1 40); do
  printf 'def add_%d(a, b):\n    """Adds two numbers."""\n\n    return a + b + %d\n\n\nclass Point%d:\n    x = %d\n' \
    "$i" "$i" "$i" "$i" > "project/src/pkg/mod_$i.py"
  printf '# Chapter %d\n\nThe fox counts %d birds.\n\nThe dog sleeps.\n' "$i" "$i" > "project/docs/ch_$i.md"
done
printf '[core]\n\tbare = false\n' > project/.git/config
printf 'debug output\n' > project/build.log
printf 'PNG\0\1\2\3' > project/docs/figure.png
for i in 1 2 3; do echo "{\"text\": \"record $i: the cat sat\"}"; done | gzip > project/data/records.jsonl.gz
printf 'zstd text file\n\nwith two paragraphs\n' | zstd -q > project/docs/notes.txt.zst
"$EMBER_PYTHON" -c "
import pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({'text': ['parquet row one', None, 'parquet row two'], 'id': [1, 2, 3]}), 'project/data/rows.parquet')"

"$EMBER_BIN" tokenizer train --input project --exclude '*.log' --vocab-size 320 --out tokenizer.json 2>/dev/null
"$EMBER_BIN" data prepare --input project --exclude '*.log' --tokenizer tokenizer.json --out train.h5 | tee prepare.out
# 40 .py + 40 .md + notes.txt.zst + records.jsonl.gz + rows.parquet read; figure.png skipped.
grep -qE '^read 83 files \([0-9.]+ kB\): 86 documents, [0-9]+ tokens; skipped 1 files \(1 binary\)' prepare.out \
  || die "unexpected summary: $(cat prepare.out)"
"$EMBER_PYTHON" - <<'PY'
import h5py
with h5py.File("train.h5") as f:
    offsets = f["doc_offsets"][:]
    assert len(offsets) - 1 == 86, len(offsets)
PY
# Blank lines inside a Python file stay inside its document: one document per file.
"$EMBER_BIN" data inspect train.h5 --tokenizer tokenizer.json --show 86 --max-chars 2000 > inspect.out
grep -q 'return a + b' inspect.out || die "inspect does not show a whole file: $(head -20 inspect.out)"

# A blank-line unit splits the same Markdown into paragraphs.
"$EMBER_BIN" data prepare --input 'project/docs/*.md' --document blank-line --tokenizer tokenizer.json --out para.h5 \
  | grep -qE '^read 40 files .*: 120 documents' || die "blank-line unit did not split the chapters into paragraphs"

# Nothing to read is an error, and nothing is written.
mkdir empty && printf '\n\n' > empty/blank.txt
expect_fail 2 "yield no documents" "$EMBER_BIN" data prepare --input empty --tokenizer tokenizer.json --out none.h5
[ ! -e none.h5 ] || die "an empty input wrote a store"
expect_fail 2 "is not a file or a directory, and no path matches it" \
  "$EMBER_BIN" data prepare --input 'nowhere/*.md' --tokenizer tokenizer.json --out none.h5

mkdir -p heldout && printf '# Appendix\n\nThe fox counts 7 birds and the dog sleeps all day long.\n' > heldout/app.md
for i in $(seq 1 6); do cat heldout/app.md; done > heldout/long.md
"$EMBER_BIN" data prepare --input heldout --tokenizer tokenizer.json --out val.h5 >/dev/null

cat > own.yaml <<YAML
model: {vocab_size: 320, d_model: 32, n_layers: 2, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 64}
train: {steps: 8, batch_size: 4, seq_len: 32, log_interval: 4, eval_interval: 4, threads: 1}
optim: {lr: 3.0e-3, warmup_steps: 2}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [train.h5], val: [val.h5], prefetch: 1}
YAML
"$EMBER_BIN" pretrain --config own.yaml run.dir=run 2>&1 | tee pretrain.log
grep -q "validation loss" pretrain.log || die "no validation on data.val"

"$EMBER_BIN" eval --checkpoint run --data val.h5 --seq-len 32 > eval.out
"$EMBER_BIN" eval --checkpoint run --data val.h5 train.h5 --seq-len 32 --max-tokens 64 > eval_budget.out
"$EMBER_PYTHON" - <<'PY'
import json, math
full = json.loads(open("eval.out").read().strip().splitlines()[-1])
assert set(full) >= {"loss", "perplexity", "tokens", "stores"}, full
assert full["loss"] > 0 and abs(full["perplexity"] - math.exp(full["loss"])) < 1e-6 * full["perplexity"], full
assert full["tokens"] % 32 == 0 and full["tokens"] > 64, full
budget = json.loads(open("eval_budget.out").read().strip().splitlines()[-1])
# 64 tokens over two stores: one 32-token row from each.
assert budget["tokens"] == 64 and [s["tokens"] for s in budget["stores"]] == [32, 32], budget
PY
expect_fail 2 "needs --task NAME \(accuracy\) or --data" "$EMBER_BIN" eval --checkpoint run
expect_fail 2 "exceeds the model's context of 64" "$EMBER_BIN" eval --checkpoint run --data val.h5 --seq-len 100

# Prompts from a file, from stdin, and from a JSONL field; each prompt is echoed with its completion.
printf 'def add_1(a, b):\n\n# Chapter 3\n' > prompts.txt
"$EMBER_BIN" generate --checkpoint run --prompt-file prompts.txt --max-new-tokens 4 > file.out
[ "$(grep -c '' file.out)" -ge 2 ] && grep -q '^def add_1(a, b):' file.out && grep -q '^# Chapter 3' file.out \
  || die "--prompt-file output: $(cat file.out)"
printf 'The fox\nThe dog\n' | "$EMBER_BIN" generate --checkpoint run --prompt - --max-new-tokens 3 --output json > stdin.out
"$EMBER_PYTHON" -c "
import json
lines = [json.loads(l) for l in open('stdin.out')]
assert [l['prompt'] for l in lines] == ['The fox', 'The dog'], lines"
printf '{"q": "multi\\nline prompt"}\n' > prompts.jsonl
"$EMBER_BIN" generate --checkpoint run --prompt-file prompts.jsonl --prompt-field q --max-new-tokens 2 --output json \
  | grep -q '"prompt":"multi\\nline prompt"' || die "--prompt-field did not read the JSONL field"

# A prompt that leaves no room for the completion: refused with the lengths, or trimmed from the left.
long_prompt="$(for i in $(seq 1 80); do printf 'fox '; done)"
expect_fail 2 "prompt has [0-9]+ tokens; with --max-new-tokens 8 it needs [0-9]+ > the model's context of 64" \
  "$EMBER_BIN" generate --checkpoint run --prompt "$long_prompt" --max-new-tokens 8
"$EMBER_BIN" generate --checkpoint run --prompt "$long_prompt" --max-new-tokens 8 --truncate left --output json > trunc.out
"$EMBER_PYTHON" -c "
import json
line = json.loads(open('trunc.out').read())
assert len(line['prompt_ids']) == 64 - 8, len(line['prompt_ids'])"

# Encoding a whole file as one document keeps its newlines: one line of ids that decodes back.
"$EMBER_BIN" tokenizer encode --tokenizer tokenizer.json --input project/src/pkg/mod_1.py --document file > ids.txt
[ "$(grep -c '' ids.txt)" -eq 1 ] || die "--document file gave $(grep -c '' ids.txt) lines of ids"
"$EMBER_BIN" tokenizer decode --tokenizer tokenizer.json --input ids.txt > decoded.py
cmp <(cat project/src/pkg/mod_1.py; echo) decoded.py || die "whole-file encoding does not round-trip"
echo "PASS"
