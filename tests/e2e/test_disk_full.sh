#!/usr/bin/env bash
# Disk full while writing a checkpoint, and a read-only run directory: the run stops with a clear
# error (exit 1) naming the file and the cause, and the earlier complete checkpoint stays intact. The run directory
# lives on a small tmpfs mounted for the test (needs root, as CI and the development machines run).
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 600 9 300
cat > tiny.yaml <<YAML
model: {vocab_size: 300, d_model: 64, n_layers: 2, n_heads: 2, n_kv_heads: 2, ffn_hidden: 128, max_seq_len: 64}
train: {steps: 20, batch_size: 4, seq_len: 32, log_interval: 1, threads: 1}
optim: {lr: 1.0e-3, schedule: constant}
checkpoint: {interval: 5, keep: 3}
metrics: {peak_flops: 1.0e10, tensorboard: false}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.0, prefetch: 1}
YAML

# Size the disk from a real checkpoint: room for one and a half of them.
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=probe train.steps=5 2>/dev/null
bytes=$(du -sb probe/checkpoints/step_000005 | cut -f1)
mkdir -p small
mount -t tmpfs -o size=$((bytes * 3 / 2 + 65536)) tmpfs small || die "cannot mount a tmpfs (run as root)"
trap 'umount "$TMP/small" 2>/dev/null || true' EXIT

expect_fail 1 "No space left on device|cannot write" "$EMBER_BIN" pretrain --config tiny.yaml run.dir=small/run
[ -f small/run/checkpoints/step_000005/manifest.json ] || die "the first checkpoint is gone"
cp -r small/run resumed
umount small
trap - EXIT
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=resumed 2> resumed.log
grep -q "resumed from resumed/checkpoints/step_000005" resumed.log || die "could not resume from the intact checkpoint: $(tail -3 resumed.log)"

# A read-only run directory (root ignores permission bits, so a read-only mount): a clear error
# naming the file (the run lock, the first file a run opens), exit 1, and the checkpoint already
# there stays intact.
mkdir -p readonly
mount -t tmpfs -o size=16m tmpfs readonly || die "cannot mount a tmpfs (run as root)"
trap 'umount "$TMP/readonly" 2>/dev/null || true' EXIT
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=readonly/run train.steps=5 2>/dev/null
mount -o remount,ro readonly
expect_fail 1 "cannot open the run lock 'readonly/run/.lock': Read-only file system" "$EMBER_BIN" pretrain --config tiny.yaml run.dir=readonly/run
[ -f readonly/run/checkpoints/step_000005/manifest.json ] || die "the checkpoint is gone"
umount readonly
trap - EXIT
echo "e2e disk full: ok"
