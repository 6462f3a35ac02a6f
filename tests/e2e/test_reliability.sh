#!/usr/bin/env bash
# Issue 24, as a careless user would meet it: no command writes over a user's file or its own
# inputs (an existing output is replaced only when it is this command's kind of file); Ctrl-C
# stops a run with a checkpoint and a second one at once; SIGINT / SIGTERM leave no temporaries of
# a file-writing command; absurd threads / --samples, duplicate YAML keys and unreadable paths get
# clear errors. docs/reliability.md lists the guarantees this proves.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 600 5 300
sum() { sha256sum "$@" | cut -d' ' -f1; }
tokenizer_sum=$(sum tokenizer.json); corpus_sum=$(sum corpus.jsonl); store_sum=$(sum corpus.h5)
intact() {  # every input is still byte for byte what it was
  [ "$(sum tokenizer.json)" = "$tokenizer_sum" ] || die "tokenizer.json was overwritten"
  [ "$(sum corpus.jsonl)" = "$corpus_sum" ] || die "corpus.jsonl was overwritten"
  [ "$(sum corpus.h5)" = "$store_sum" ] || die "corpus.h5 was overwritten"
}
printf 'my notes\n' > notes.txt
mkdir -p adir

# --- never overwrite a user's files --------------------------------------------------------------
prep() { "$EMBER_BIN" data prepare --input corpus.jsonl --field text --tokenizer tokenizer.json "$@"; }
expect_fail 2 "--out 'tokenizer.json' is the file given as --tokenizer 'tokenizer.json'" prep --out tokenizer.json
expect_fail 2 "--out 'corpus.jsonl' is the file given as --input 'corpus.jsonl'" prep --out corpus.jsonl
ln -s corpus.jsonl link.jsonl
expect_fail 2 "is the file given as --input" prep --out link.jsonl
expect_fail 2 "'notes.txt' already exists and is not a token store.*remove it or choose another --out" \
  prep --out notes.txt
expect_fail 2 "--out 'adir' is a directory" prep --out adir
cp corpus.h5 previous.h5
prep --out previous.h5 >/dev/null || die "data prepare did not replace its own previous output"
printf 'not a shard\n' > sharded-00000.h5
expect_fail 2 "'sharded-00000.h5' already exists and is not a token store" prep --out sharded.h5 --shard-tokens 1000

tok() { "$EMBER_BIN" tokenizer train --input corpus.jsonl --field text --vocab-size 280 "$@"; }
expect_fail 2 "--out 'corpus.jsonl' is the file given as --input" tok --out corpus.jsonl
expect_fail 2 "'corpus.h5' already exists and is not a tokenizer.json" tok --out corpus.h5
cp tokenizer.json previous.json
tok --out previous.json 2>/dev/null || die "tokenizer train did not replace a tokenizer.json"
[ "$(sum previous.json)" != "$tokenizer_sum" ] || die "tokenizer train did not write its output"

gen() { "$EMBER_BIN" data generate --task arithmetic --count 20 --seed 1 "$@"; }
expect_fail 2 "'tokenizer.json' already exists and is not a JSONL file of generated examples" gen --out tokenizer.json
expect_fail 2 "'notes.txt' already exists" gen --out notes.txt
gen --out examples.jsonl >/dev/null && gen --out examples.jsonl >/dev/null || die "data generate did not replace its output"

expect_fail 2 "--out 'corpus.h5' is the file given as --data 'corpus.h5'" \
  "$EMBER_BIN" distill dump-teacher --teacher no-such-teacher --data corpus.h5 --sequences 4 --out corpus.h5
expect_fail 2 "'notes.txt' already exists and is not a teacher-logits file" \
  "$EMBER_BIN" distill dump-teacher --teacher no-such-teacher --data corpus.h5 --sequences 4 --out notes.txt
intact
[ "$(cat notes.txt)" = "my notes" ] || die "notes.txt was overwritten"

# --- SIGINT / SIGTERM of a file-writing command: no temporaries, no partial output ----------------
"$EMBER_BIN" data generate --task all --count 40000 --seed 9 --out big.jsonl >/dev/null
"$EMBER_BIN" data prepare --input big.jsonl --field text --tokenizer tokenizer.json --threads 1 --out big.h5 \
  >/dev/null 2> prep_stop.log &
pid=$!
for _ in $(seq 1 500); do compgen -G ".tmp.big.h5.*" >/dev/null && break; sleep 0.01; done
compgen -G ".tmp.big.h5.*" >/dev/null || die "data prepare finished before it could be stopped"
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 143 ] || die "data prepare exited $rc on SIGTERM: $(cat prep_stop.log)"
grep -q "stopped on SIGTERM; removed 1 temporary file(s), no partial output is left" prep_stop.log \
  || die "no stop message: $(cat prep_stop.log)"
[ ! -e big.h5 ] && ! compgen -G ".tmp.*" >/dev/null || die "a stopped data prepare left files: $(ls -A)"

# --- training: threads bound, Ctrl-C with a checkpoint, a second Ctrl-C at once -------------------
cat > tiny.yaml <<YAML
model: {vocab_size: 300, d_model: 32, n_layers: 1, n_heads: 2, n_kv_heads: 2, ffn_hidden: 64, max_seq_len: 64}
train: {steps: 100000, batch_size: 4, seq_len: 32, log_interval: 1, threads: 1}
optim: {lr: 1.0e-3, schedule: constant}
checkpoint: {interval: 0, keep: 2}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.0, prefetch: 1}
YAML
expect_fail 2 "train.threads=100000 is more than 4 x the [0-9]+ hardware threads" \
  timeout 60 "$EMBER_BIN" pretrain --config tiny.yaml run.dir=threads train.threads=100000
[ ! -e threads/checkpoints ] || die "a refused thread count wrote a checkpoint"

set -m  # background jobs in their own process group, so that SIGINT reaches them as Ctrl-C would
start_run() {  # run_dir [overrides]: a long run; returns once it has logged a few steps
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir="$1" "${@:2}" 2> "$1.log" &
  pid=$!
  for _ in $(seq 1 300); do
    [ -s "$1/metrics.jsonl" ] && [ "$(wc -l < "$1/metrics.jsonl")" -ge 3 ] && return
    sleep 0.1
  done
  die "run $1 logged no steps: $(tail -3 "$1.log")"
}

start_run ctrl_c
kill -INT "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || die "pretrain exited $rc after Ctrl-C, expected 130: $(tail -3 ctrl_c.log)"
grep -q "interrupt: finishing the current step and saving a checkpoint" ctrl_c.log || die "no Ctrl-C message"
grep -q "stopping at step .* on SIGINT: checkpoint saved" ctrl_c.log || die "no stop message: $(tail -3 ctrl_c.log)"
stopped=$(sed -n 's/.*stopping at step \([0-9]*\) on.*/\1/p' ctrl_c.log)
[ -f "ctrl_c/checkpoints/$(printf 'step_%06d' "$stopped")/manifest.json" ] || die "no checkpoint at step $stopped"

# Steps of a few hundred ms, so that the second Ctrl-C lands during the step the first one lets finish.
start_run twice model.d_model=256 model.n_heads=4 model.n_kv_heads=4 model.n_layers=4 model.ffn_hidden=1024 \
  model.max_seq_len=64 train.seq_len=64 train.batch_size=32
kill -INT "$pid"
for _ in $(seq 1 200); do grep -q "interrupt: finishing" twice.log && break; sleep 0.01; done
kill -INT "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 130 ] || die "pretrain exited $rc after two Ctrl-C, expected 130"
grep -q "second interrupt: stopping at once, without a checkpoint" twice.log || die "no second-interrupt message: $(tail -3 twice.log)"

start_run term_then_int
kill -TERM "$pid"; kill -INT "$pid"; rc=0; wait "$pid" || rc=$?
[ "$rc" -eq 0 ] || die "pretrain exited $rc after SIGTERM then Ctrl-C, expected the graceful 0"
grep -q "already stopping after the current step" term_then_int.log || die "no already-stopping message"
grep -q "stopping at step .* on SIGTERM: checkpoint saved" term_then_int.log || die "a Ctrl-C cancelled the graceful save"
set +m

# --- smaller ones ---------------------------------------------------------------------------------
expect_fail 2 "--samples: must be between 1 and 1000000, got 10000000000" \
  "$EMBER_BIN" eval --checkpoint ctrl_c --task arithmetic --samples 10000000000
err=$("$EMBER_BIN" generate --checkpoint ctrl_c --prompt hi --max-new-tokens 0 2>&1 >/dev/null) || true
grep -q "must be >= 1, got 0" <<<"$err" || die "unclear range message: $err"
[ "${#err}" -lt 200 ] || die "range message too long: $err"
printf 'train:\n  steps: 5\noptim:\n  lr: 0.1\ntrain:\n  batch_size: 2\n' > dup.yaml
expect_fail 2 "dup.yaml.*key 'train' is given twice in one mapping \\(lines 1 and 5\\)" \
  "$EMBER_BIN" pretrain --config dup.yaml --print-config
expect_fail 1 "out of memory while running \`ember data generate\`; give it smaller sizes" \
  bash -c 'ulimit -v 3000000 && exec "$0" data generate --task all --count 100000000 --seed 1 --out huge.jsonl' "$EMBER_BIN"
"$EMBER_BIN" config docs > configs.md
grep -q '| `optim.weight_decay` | float | `0.1` |' configs.md || die "config docs print float noise"
expect_fail 2 "config file 'adir' is a directory" "$EMBER_BIN" pretrain --config adir --print-config
echo "e2e reliability: ok"
