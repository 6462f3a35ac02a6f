#!/usr/bin/env bash
# A checkpoint is only loaded into the model it was trained as, and only through its manifest:
# resuming with fewer layers refuses the tensors the model does not have (naming them), with more
# layers the missing ones; a weights file the manifest does not list, or a manifest whose step is
# not its directory's, stops the run (checkpoint.on_corrupt=stop) naming the cause. Nothing is
# written over the checkpoints.
source "$(dirname "$0")/lib.sh"
cd "$TMP"

prepare_tiny_data 600 3 320
cat > tiny.yaml <<YAML
model: {vocab_size: 320, d_model: 32, n_layers: 2, n_heads: 2, n_kv_heads: 1, ffn_hidden: 64, max_seq_len: 64}
train: {steps: 4, batch_size: 4, seq_len: 32, log_interval: 1, threads: 1}
optim: {lr: 1.0e-3, warmup_steps: 1, schedule: constant}
checkpoint: {interval: 2, keep: 3}
metrics: {peak_flops: 1.0e10}
data: {tokenizer: tokenizer.json, train: [corpus.h5], val_fraction: 0.0, prefetch: 1}
YAML
"$EMBER_BIN" pretrain --config tiny.yaml run.dir=run 2>/dev/null
before=$(cat run/checkpoints/step_000004/manifest.json | sha256sum)

expect_fail 1 "does not have: .*layers\.1\." \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=run model.n_layers=1 train.steps=6
expect_fail 1 "has no tensor .*layers\.2\." \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=run model.n_layers=3 train.steps=6

cp -r run stray
cp stray/checkpoints/step_000004/rank_00000.safetensors stray/checkpoints/step_000004/model.safetensors
expect_fail 1 "model.safetensors', which its manifest does not list" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=stray train.steps=6 checkpoint.on_corrupt=stop

cp -r run renamed
mv renamed/checkpoints/step_000004 renamed/checkpoints/step_000009
expect_fail 1 "records step 4 but its directory is 'step_000009'" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=renamed train.steps=10 checkpoint.on_corrupt=stop

[ "$(cat run/checkpoints/step_000004/manifest.json | sha256sum)" = "$before" ] || die "the checkpoint changed"
echo "e2e checkpoint refusals: ok"
