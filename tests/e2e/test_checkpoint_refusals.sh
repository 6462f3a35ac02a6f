#!/usr/bin/env bash
# A checkpoint is only loaded into the model it was trained as, and only through its manifest:
# resuming with fewer or more layers is refused by the run loop naming model.n_layers, and a
# checkpoint whose saved config disagrees with its tensors has them refused by name on export; a weights file the manifest does not list, or a manifest whose step is
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

# The run loop compares the model configs before loading anything (exit 2, naming the key).
expect_fail 2 "trained as another model \(model.n_layers: checkpoint 2, this run 1\)" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=run model.n_layers=1 train.steps=6
expect_fail 2 "trained as another model \(model.n_layers: checkpoint 2, this run 3\)" \
  "$EMBER_BIN" pretrain --config tiny.yaml run.dir=run model.n_layers=3 train.steps=6
# A checkpoint whose saved config no longer matches its tensors: the reader refuses the tensors the
# model does not have, and the ones it needs but the checkpoint lacks, naming them.
cp -r run edited
edit_layers() {
  python3 - "$1" "$2" <<'PY'
import json, sys
path = "edited/checkpoints/step_000004/manifest.json"
manifest = json.load(open(path))
manifest["config"] = manifest["config"].replace(f"n_layers: {sys.argv[1]}", f"n_layers: {sys.argv[2]}")
json.dump(manifest, open(path, "w"), indent=2)
PY
}
edit_layers 2 1
expect_fail 1 "has a tensor model\.layers\.1\..* that the model config does not have" \
  "$EMBER_BIN" export --checkpoint edited --format hf --out edited_hf
edit_layers 1 3
expect_fail 1 "has no tensor model\.layers\.2\..* that the model config requires" \
  "$EMBER_BIN" export --checkpoint edited --format hf --out edited_hf

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
